"""Run inputs from `-i key=value` and `--input-file`, checked against the declared inputs
before anything runs. Every problem is reported at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from agentctl.compile.ir import InputDef
from agentctl.diagnostics import suggest
from agentctl.errors import UsageError

_TRUE, _FALSE = {"true", "yes", "1", "on"}, {"false", "no", "0", "off"}
_PY_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list, "object": dict}


def collect_inputs(declared: Mapping[str, InputDef], pairs: list[str], file: str | None) -> dict[str, Any]:
    problems: list[str] = []
    values: dict[str, Any] = {}
    if file:
        values.update(_from_file(Path(file), problems))
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep:
            problems.append(f"-i {pair}: write -i name=value")
            continue
        if key not in declared:
            problems.append(f"unknown input '{key}' ({suggest(key, declared)})")
            continue
        parsed = parse_text(declared[key], raw)
        if isinstance(parsed, Bad):
            problems.append(f"input '{key}': {parsed.reason}")
        else:
            values[key] = parsed
    for key in list(values):
        if key not in declared:
            problems.append(f"unknown input '{key}' in {file} ({suggest(key, declared)})")
            values.pop(key)
    result, found = checked_values(declared, values, "pass -i {name}=...")
    problems += found
    if problems:
        raise UsageError("the inputs are not valid:\n  " + "\n  ".join(problems),
                         "inputs are declared under inputs: in the pipeline")
    return result


def checked_values(declared: Mapping[str, InputDef], values: Mapping[str, Any],
                   fix: str) -> tuple[dict[str, Any], list[str]]:
    """The run's inputs (defaults filled in) and what is wrong with `values`: types, enums, missing
    required inputs (`fix` says how to give one, with {name})."""
    result, problems = {}, []
    for name, spec in declared.items():
        if name in values:
            problem = _type_problem(spec, values[name])
            if problem:
                problems.append(f"input '{name}': {problem}")
            result[name] = values[name]
        elif spec.required:
            problems.append(f"missing input '{name}' ({spec.type}): {fix.format(name=name)}")
        else:
            result[name] = spec.default
    return result, problems


class Bad:
    def __init__(self, reason: str) -> None:
        self.reason = reason


def parse_text(spec: InputDef, raw: str) -> Any:
    if spec.type == "string":
        return raw
    if spec.type == "boolean":
        low = raw.strip().lower()
        return True if low in _TRUE else False if low in _FALSE else Bad(f"'{raw}' is not true or false")
    try:
        value = json.loads(raw)
    except ValueError:
        return Bad(f"'{raw}' is not {'a number' if spec.type in ('number', 'integer') else 'JSON'}")
    return value


def _type_problem(spec: InputDef, value: Any) -> str | None:
    expected = _PY_TYPES[spec.type]
    if isinstance(value, bool) and spec.type != "boolean":
        return f"expected {spec.type}, got a boolean"
    if not isinstance(value, expected):
        return f"expected {spec.type}, got {type(value).__name__} {value!r}"
    if spec.enum and value not in spec.enum:
        return f"{value!r} is not one of {list(spec.enum)}"
    return None


def _from_file(path: Path, problems: list[str]) -> dict:
    from agentctl.spec.source_file import read_text
    from agentctl.spec.yaml_source import YamlLoadError, load_yaml

    if path.suffix in (".jsonl", ".csv"):  # rows, not one run's inputs
        problems.append(f"{path}: --input-file takes one YAML or JSON mapping of inputs, and a {path.suffix} file "
                        "holds rows; to run the pipeline once per row, name it as data: in an eval file and run "
                        "`agentctl eval` (docs/eval.md)")
        return {}
    text, diag = read_text(path, str(path))
    if diag is not None:
        problems.append(f"{diag.span}: {diag.message}")
        return {}
    try:
        data, _ = load_yaml(text, str(path))
    except YamlLoadError as exc:
        problems.append(f"{exc.diagnostic.span}: {exc.diagnostic.message}")
        return {}
    if not isinstance(data, dict):
        problems.append(f"{path}: an input file is a mapping of input names to values")
        return {}
    return data
