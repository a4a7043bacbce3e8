"""Values checked against JSON Schemas at run time: tool arguments, tool results, agent outputs."""

from __future__ import annotations

from typing import Any, Mapping


def schema_problems(value: Any, schema: Mapping[str, Any]) -> list[str]:
    """What is wrong with `value` (at most five problems, each with its path), or nothing."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(dict(schema))
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors[:5]]
