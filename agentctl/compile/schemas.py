"""JSON Schemas named by a pipeline (output contracts, tool inputs): loading, and field lookups.

The compiler uses an output schema to check expressions such as
`steps.plan.output.total_usd`: the field must be declared by the producer.
"""

from __future__ import annotations

import json
from typing import Any

from agentctl.diagnostics import Diagnostic, SourceSpan, error
from agentctl.compile.project import Project
from agentctl.spec.source_file import read_text

_TYPES = {"object", "array", "string", "number", "integer", "boolean", "null"}


def load_schema(ref: str | dict, project: Project, span: SourceSpan) -> tuple[dict | None, list[Diagnostic]]:
    """An inline schema, or the JSON file it names (loaded once per project)."""
    if isinstance(ref, dict):
        problem = _shape_problem(ref)
        return (None, [error("E312", f"invalid JSON Schema: {problem}", span)]) if problem else (ref, [])
    path, diag = project.resolve(ref, span, "schema")
    if diag is not None:
        return None, [diag]
    if path in project.schemas:
        return project.schemas[path]
    result = _read_schema(path, ref)
    project.schemas[path] = result
    return result


def _read_schema(path: Any, display: str) -> tuple[dict | None, list[Diagnostic]]:
    text, diag = read_text(path, display)
    if diag is not None:
        return None, [diag]
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [error("E312", f"invalid JSON: {exc.msg}", SourceSpan(display, exc.lineno, exc.colno))]
    problem = _shape_problem(schema)
    if problem:
        return None, [error("E312", f"invalid JSON Schema: {problem}", SourceSpan(display, 1, 1))]
    return schema, []


def _shape_problem(schema: Any) -> str | None:
    """A cheap structural check; full validation of data against it happens at run time."""
    if not isinstance(schema, dict):
        return "a schema must be a JSON object"
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if kind is not None else []
    for k in kinds:
        if k not in _TYPES:
            return f"unknown type '{k}'"
    props = schema.get("properties")
    if props is not None:
        if not isinstance(props, dict):
            return "'properties' must be an object"
        for name, sub in props.items():
            if not isinstance(sub, (dict, bool)):
                return f"property '{name}' must be a schema object"
    return _metaschema_problem(schema)


def _metaschema_problem(schema: dict) -> str | None:
    """The schema checked against the JSON Schema 2020-12 metaschema (jsonschema's check_schema):
    `items: schemas/summary.json`, a string where a schema belongs, is caught here."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        return f"{exc.message}" + (f" (at {where})" if where else "")
    return None


def missing_field(schema: dict, parts: tuple) -> tuple[int, str] | None:
    """Where `parts` leaves what `schema` declares: (index of the bad part, message), or None."""
    node: Any = schema
    for index, part in enumerate(parts):
        node = _resolve_ref(schema, node)
        if not isinstance(node, dict):
            return None
        options = _alternatives(schema, node)
        if isinstance(part, int):
            items = [o.get("items") for o in options if isinstance(o.get("items"), dict)]
            if items:
                node = items[0]
                continue
            if any(_is(o, "object") and not _is(o, "array") for o in options):
                return index, f"[{part}] indexes a list, but the schema declares an object here"
            return None
        props: dict = {}
        open_ended = False
        for option in options:
            props.update(option.get("properties") or {})
            extra = option.get("additionalProperties", None)
            if isinstance(extra, dict) or (not option.get("properties") and not _is(option, "array")):
                open_ended = True
        if part in props:
            node = props[part]
            continue
        if _is_scalar(options):
            return index, f"'{part}' is read from a {_type_of(options)}, which has no fields"
        if open_ended:
            return None
        known = ", ".join(sorted(props)) or "none"
        return index, f"field '{part}' is not in the output schema (declared: {known})"
    return None


def optional_part(schema: dict, parts: tuple) -> int | None:
    """The index of the first of `parts` that `schema` declares but does not require, or None."""
    node: Any = schema
    for index, part in enumerate(parts):
        options = object_options(schema, node)
        if options is None:
            return None
        if isinstance(part, int):
            node = next((o["items"] for o in options if isinstance(o.get("items"), dict)), None)
            continue
        declared = [o for o in options if part in (o.get("properties") or {})]
        if not declared:
            return None
        if not any(part in (o.get("required") or ()) for o in options):
            return index
        node = declared[0]["properties"][part]
    return None


def optional_fields(schema: dict, node: Any) -> tuple[frozenset, dict]:
    """At one level of `schema`: (the fields declared but not required, the schema of each field)."""
    options = object_options(schema, node) or []
    props: dict = {}
    required: set = set()
    for option in options:
        props.update(option.get("properties") or {})
        required.update(r for r in option.get("required") or () if isinstance(r, str))
    return frozenset(set(props) - required), props


def object_options(schema: dict, node: Any) -> list[dict] | None:
    node = _resolve_ref(schema, node)
    return _alternatives(schema, node) if isinstance(node, dict) else None


def _resolve_ref(root: dict, node: Any) -> Any:
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 32:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            return None
        target: Any = root
        for piece in ref[2:].split("/"):
            target = target.get(piece) if isinstance(target, dict) else None
        node = target
        seen += 1
    return node


def _alternatives(root: dict, node: dict) -> list[dict]:
    options = [node]
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in node.get(key) or []:
            sub = _resolve_ref(root, sub)
            if isinstance(sub, dict):
                options.append(sub)
    return options


def _is(node: dict, kind: str) -> bool:
    declared = node.get("type")
    return declared == kind or (isinstance(declared, list) and kind in declared)


def _is_scalar(options: list[dict]) -> bool:
    types = [o.get("type") for o in options if o.get("type")]
    return bool(types) and all(t in ("string", "number", "integer", "boolean", "null") for t in types)


def _type_of(options: list[dict]) -> str:
    return next(str(o["type"]) for o in options if o.get("type"))
