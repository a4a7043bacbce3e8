"""Rows of an eval's data file, streamed (JSONL and CSV line by line; YAML is one document, read
whole), with the file's sha256, and a row mapped to the pipeline's inputs."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any, Iterator

from agentctl.errors import AgentctlError


class DataError(AgentctlError):
    pass


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def rows(path: Path) -> Iterator[tuple[int, dict]]:
    """(row number from 1, row) in file order."""
    if path.suffix == ".jsonl":
        yield from _jsonl(path)
    elif path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as f:
            for number, row in enumerate(csv.DictReader(f), 1):
                yield number, dict(row)
    else:
        yield from _document(path)


def _jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise DataError(f"{path}:{number}: not a JSON object ({exc.msg})", "one JSON object per line") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}:{number}: a row is a JSON object, got {type(row).__name__}")
            yield number, row


def _document(path: Path) -> Iterator[tuple[int, dict]]:
    from agentctl.spec.yaml_source import YamlLoadError, load_yaml

    try:
        data, _ = load_yaml(path.read_text(encoding="utf-8"), str(path))
    except YamlLoadError as exc:
        raise DataError(f"{exc.diagnostic.span}: {exc.diagnostic.message}") from None
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise DataError(f"{path}: a YAML or JSON data file is a list of mappings, one per row")
    yield from enumerate(data, 1)


def mapped_inputs(compiled, row: dict) -> tuple[dict[str, Any], list[str]]:
    """The pipeline's inputs for `row` (defaults filled in), and what is wrong with them."""
    from agentctl.run.evaluate import EvaluationError, evaluate
    from agentctl.run.inputs import checked_values

    try:
        values = evaluate(compiled.inputs, {"row": row}) if compiled.inputs else dict(row)
    except EvaluationError as exc:
        return {}, [str(exc)]
    declared = compiled.pipeline.inputs
    values = {k: v for k, v in values.items() if k in declared}
    if compiled.data.suffix == ".csv":  # CSV has only text: read it as the declared type, as -i name=value is
        values = {k: _typed(declared[k], v) for k, v in values.items()}
    return checked_values(declared, values, "map it under inputs: in the eval file")


def _typed(spec, value):
    from agentctl.run.inputs import Bad, parse_text

    if not isinstance(value, str) or spec.type == "string":
        return value
    parsed = parse_text(spec, value)
    return value if isinstance(parsed, Bad) else parsed  # left as text: the type check says what is wrong


def row_id(compiled, row: dict, inputs: dict) -> str:
    from agentctl.run.evaluate import evaluate

    if compiled.row_id is not None:
        return str(evaluate(compiled.row_id, {"row": row, "inputs": inputs}))
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()[:12]

