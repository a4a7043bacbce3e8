"""Evaluating compiled expressions and templates in the sandbox, at run time."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping

from jinja2 import ChainableUndefined, StrictUndefined, TemplateError, Undefined
from jinja2.sandbox import SecurityError

from agentctl.compile.expressions import Expr, sandbox
from agentctl.errors import StepError


class EvaluationError(StepError):
    def __init__(self, expr: Expr, problem: str) -> None:
        super().__init__(f"{expr.span}: cannot evaluate {expr.source!r}: {problem}")
        self.expr = expr


@lru_cache(maxsize=8192)
def _compiled(code: str):
    return sandbox().compile_expression(code, undefined_to_none=False)


def evaluate(value: Any, context: Mapping[str, Any]) -> Any:
    """A template (data with Expr in it) evaluated against `context`."""
    if isinstance(value, Expr):
        return _expr(value, context)
    if isinstance(value, dict):
        return {k: evaluate(v, context) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [evaluate(v, context) for v in value]
    return value


def _expr(expr: Expr, context: Mapping[str, Any]) -> Any:
    try:
        if expr.is_whole:
            return _plain(_compiled(expr.segments[0][1])(**context))
        parts = []
        for kind, text in expr.segments:
            parts.append(text if kind == "text" else _text(_compiled(text)(**context)))
        return "".join(parts)
    except SecurityError as exc:
        raise EvaluationError(expr, f"refused by the sandbox: {exc}") from None
    except TemplateError as exc:
        raise EvaluationError(expr, exc.message or str(exc)) from None
    except (TypeError, ValueError, ArithmeticError, KeyError, IndexError, AttributeError) as exc:
        raise EvaluationError(expr, f"{type(exc).__name__}: {exc}") from None


class NotRestored(StrictUndefined):
    """A restored output that held a secret (masked in the journal): shown as masked, but reading
    it in an expression fails the step, naming the step it came from."""

    __slots__ = ()

    def __str__(self) -> str:
        return "*** (held a secret; not journaled)"

    __repr__ = __str__


def not_restored(step: str) -> NotRestored:
    return NotRestored(hint=f"the output of step '{step}' held a secret, which is never journaled, so a resume "
                            "cannot restore it; run the pipeline again from the start")


class Absent(ChainableUndefined):
    """Not there, and allowed not to be: a skipped step's output, or a field its producer's schema
    declares but does not require, left out. Alone it reads as null, in text as ''; `| default(...)`
    and `is defined` see it, and any field read from it, as missing (docs/format.md "Expressions")."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return other is None or isinstance(other, Absent)

    __hash__ = ChainableUndefined.__hash__


class Fields(dict):
    """An output object whose schema declares optional fields: one left out reads as Absent."""

    __slots__ = ("optional",)

    def __missing__(self, key: Any) -> Any:
        if key in self.optional:
            return Absent(name=key)
        raise KeyError(key)


def step_state(status: str, output: Any, schema: Mapping[str, Any] | None) -> dict:
    """steps.<id> as expressions see it."""
    if status == "skipped":
        return {"output": Absent(name="output"), "status": status}
    return {"output": _with_optional_fields(output, schema, schema) if schema else output, "status": status}


def _with_optional_fields(value: Any, schema: Mapping[str, Any], node: Any) -> Any:
    from agentctl.compile.schemas import object_options, optional_fields

    if isinstance(value, dict):
        optional, props = optional_fields(schema, node)
        if not props:
            return value
        fields = Fields({k: _with_optional_fields(v, schema, props[k]) if k in props else v for k, v in value.items()})
        fields.optional = optional
        return fields
    if isinstance(value, list):
        items = next((o["items"] for o in object_options(schema, node) or [] if isinstance(o.get("items"), dict)), None)
        return value if items is None else [_with_optional_fields(v, schema, items) for v in value]
    return value


def _plain(value: Any) -> Any:
    """Jinja's Undefined never leaks out of an expression: reading it raises UndefinedError."""
    if isinstance(value, Absent):
        return None
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    return value


def _text(value: Any) -> str:
    if isinstance(value, Absent):
        return ""
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, ensure_ascii=False)
    return str(value)


def why_false(expect, context: dict) -> str:
    """'${{ a == b }} is false (a = 'x', b = 'y')': what each name read was, to see why at a glance."""
    source = getattr(expect, "source", str(expect))
    values = []
    for ref in dict.fromkeys(str(r) for r in getattr(expect, "refs", ())):
        try:
            value = repr(evaluate(Expr(ref, (("expr", ref),), (), expect.span), context))
        except EvaluationError:
            value = "(missing)"
        values.append(f"{ref} = {value if len(value) <= 80 else value[:77] + '...'}")
    return f"{source} is false" + (f" ({', '.join(values[:6])})" if values else "")
