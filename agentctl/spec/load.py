"""YAML text to pydantic models, with every validation error mapped back to `file:line:col`."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from agentctl.diagnostics import Diagnostic, did_you_mean, error
from agentctl.spec.yaml_source import SourceMap, YamlPath

_TYPE_NAMES = {
    "string_type": "a string", "int_type": "an integer", "float_type": "a number",
    "bool_type": "true or false", "dict_type": "a mapping", "list_type": "a list",
    "model_type": "a mapping", "int_from_float": "an integer",
}


def yaml_type(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def format_path(path: YamlPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the document"


def validate_model(model: type[BaseModel], data: Any, smap: SourceMap) -> tuple[Any, list[Diagnostic]]:
    """Validate `data`; on failure, one located diagnostic per problem (union alternatives merged)."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, _diagnostics(model, exc.errors(include_url=False), data, smap)
    except RecursionError:
        return None, [error("E104", "the document is nested too deeply to check", smap.value(()))]


def _diagnostics(model: type[BaseModel], errors: list[dict], data: Any, smap: SourceMap) -> list[Diagnostic]:
    grouped: dict[tuple, list[dict]] = {}
    for err in errors:
        path, on_key = _clean_loc(err["loc"], data, err["type"])
        grouped.setdefault((path, on_key), []).append(err)
    unknown = {path for (path, _), errs in grouped.items() if errs[0]["type"] == "extra_forbidden"}
    paths = [path for path, _ in grouped]
    return [_one(model, path, on_key, errs, smap) for (path, on_key), errs in grouped.items()
            if not (errs[0]["type"] == "missing" and _misspelt(path, unknown)) and not _other_branch(path, errs, paths)]


def _other_branch(path: YamlPath, errs: list[dict], paths: list[YamlPath]) -> bool:
    """A wrong-type error of one union alternative ("expected a string") where another alternative
    matched the value's shape and found problems inside it: only those are the user's mistake."""
    return all(e["type"].endswith("_type") for e in errs) and any(
        len(q) > len(path) and q[:len(path)] == path for q in paths)


def _misspelt(missing: YamlPath, unknown: set[YamlPath]) -> bool:
    """A missing key with a close unknown sibling is one mistake: report only the unknown key."""
    siblings = [str(p[-1]) for p in unknown if p[:-1] == missing[:-1]]
    return did_you_mean(str(missing[-1]), siblings) is not None


def _clean_loc(loc: tuple, data: Any, err_type: str) -> tuple[YamlPath, bool]:
    """Drop pydantic's union-member tags from `loc`, keeping only real keys and indexes."""
    path: list = []
    node = data
    on_key = False
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if part == "[key]":
            on_key = True
            continue
        if isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            path.append(part)
            node = node[part]
        elif last and err_type in ("missing", "extra_forbidden"):
            path.append(part)
    return tuple(path), on_key


def _one(model: type[BaseModel], path: YamlPath, on_key: bool, errs: list[dict], smap: SourceMap) -> Diagnostic:
    err = errs[0]
    kind = err["type"]
    where = format_path(path)
    if kind == "missing":
        parent = path[:-1]
        span = smap.key(parent) if parent else smap.value(())
        return error("E203", f"missing required key '{path[-1]}' in {format_path(parent)}", span,
                     f"add '{path[-1]}:' here")
    if kind == "extra_forbidden":
        allowed = _fields_at(model, path[:-1])
        hint = did_you_mean(path[-1], allowed) or (f"allowed keys: {', '.join(sorted(allowed))}" if allowed else None)
        return error("E201", f"unknown key '{path[-1]}' in {format_path(path[:-1])}", smap.key(path), hint)
    span = smap.key(path) if on_key else smap.value(path)
    value = err.get("input")
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        options = [o.strip().strip("'") for o in expected.replace(" or ", ",").split(",") if o.strip()]
        hint = did_you_mean(value, options) if isinstance(value, str) else None
        return error("E204", f"{where}: '{value}' is not allowed; expected {expected}", span,
                     hint or f"use one of: {', '.join(options)}")
    if kind == "string_pattern_mismatch":
        what = f"key '{value}'" if on_key else f"'{value}'"
        return error("E204", f"{where}: {what} is not a valid name", span,
                     "names start with a letter or '_' and use only letters, digits and '_'")
    type_errors = [e for e in errs if e["type"] in _TYPE_NAMES]
    if type_errors:
        expected = " or ".join(dict.fromkeys(_TYPE_NAMES[e["type"]] for e in type_errors))
        hint = None
        if isinstance(value, (int, float)) and "a string" in expected:
            hint = f"quote it: \"{value}\""
        return error("E202", f"{where}: expected {expected}, got {yaml_type(value)}", span, hint)
    message = err["msg"][0].lower() + err["msg"][1:]
    return error("E204", f"{where}: {message}, got {value!r}", span)


def _fields_at(model: Any, path: YamlPath) -> set[str]:
    """The keys the model accepts at `path` (empty when it is not a model there)."""
    annotation: Any = model
    for part in path:
        annotation = _descend(annotation, part)
        if annotation is None:
            return set()
    target = _model_in(annotation)
    if target is None:
        return set()
    return {f.alias or name for name, f in target.model_fields.items()}


def _model_in(annotation: Any) -> type[BaseModel] | None:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _descend(annotation: Any, part: Any) -> Any:
    model = _model_in(annotation)
    annotation = _unwrap(annotation)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _descend(arg, part)
            if found is not None:
                return found
        return None
    if origin is dict:
        return typing.get_args(annotation)[1]
    if origin is list:
        return typing.get_args(annotation)[0] if isinstance(part, int) else None
    if model is not None and isinstance(part, str):
        for name, field in model.model_fields.items():
            if (field.alias or name) == part:
                return field.annotation
    return None


def load_mapping(file, display: str, what: str) -> tuple[tuple[str, Any, SourceMap] | None, list[Diagnostic]]:
    """A YAML file that must be one mapping (a pipeline, an eval): (text, data, source map), or the
    located reasons it is not."""
    from agentctl.diagnostics import SourceSpan
    from agentctl.spec.source_file import read_text
    from agentctl.spec.yaml_source import YamlLoadError, load_yaml

    text, diag = read_text(file, display)
    if diag is not None:
        return None, [diag]
    try:
        data, smap = load_yaml(text, display)
    except YamlLoadError as exc:
        return None, [exc.diagnostic]
    if not isinstance(data, dict):
        return None, [error("E108", f"{what} file is a YAML mapping", SourceSpan(display, 1, 1),
                            "start it with 'apiVersion: agentctl/v1'")]
    return (text, data, smap), []


def load_spec(model: type[BaseModel], file, display: str, what: str) -> tuple[tuple[Any, str, SourceMap] | None,
                                                                              list[Diagnostic]]:
    """A YAML file validated as `model` (a pipeline, an eval): (spec, text, source map) and its
    diagnostics so far, or None and the located reasons it is not one."""
    loaded, problems = load_mapping(file, display, what)
    if loaded is None:
        return None, problems
    text, data, smap = loaded
    spec, diags = validate_model(model, data, smap)
    return ((spec, text, smap) if spec is not None else None), diags
