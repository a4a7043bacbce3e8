"""Machine-readable diagnostic formats: JSON, GitHub Actions annotations and SARIF 2.1.0."""

from __future__ import annotations

import json
from typing import Sequence

from agentctl import __version__
from agentctl.diagnostics import Diagnostic



def as_dict(d: Diagnostic) -> dict:
    return {
        "code": d.code, "severity": d.severity.value, "message": d.message, "hint": d.hint,
        "file": d.span.path, "line": d.span.line, "column": d.span.col,
        "end_line": d.span.end_line, "end_column": d.span.end_col,
    }


def to_json(diagnostics: Sequence[Diagnostic], files: int) -> str:
    errors = sum(1 for d in diagnostics if d.is_error)
    payload = {"version": 1, "files": files, "errors": errors, "warnings": len(diagnostics) - errors,
               "diagnostics": [as_dict(d) for d in diagnostics]}
    return json.dumps(payload, indent=2)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_prop(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def to_github(diagnostics: Sequence[Diagnostic]) -> str:
    """Workflow commands that GitHub Actions shows as annotations on the pull request."""
    lines = []
    for d in diagnostics:
        props = f"file={_escape_prop(d.span.path)},line={d.span.line},col={d.span.col}"
        if d.span.end_line and d.span.end_line == d.span.line and d.span.end_col:
            props += f",endColumn={d.span.end_col}"
        props += f",title={_escape_prop(d.code)}"
        text = d.message + (f" (hint: {d.hint})" if d.hint else "")
        lines.append(f"::{d.severity.value} {props}::{_escape_data(text)}")
    return "\n".join(lines)


def to_sarif(diagnostics: Sequence[Diagnostic]) -> str:
    """SARIF 2.1.0 as GitHub code scanning ingests it: every rule with a short and full description
    and help (from diagnostic_codes.py, the docs' source), artifact paths as URI references
    (percent-encoded, relative to the checkout). No documentation URI: it would have to be absolute,
    and agentctl does not know where its docs are published."""
    from urllib.parse import quote

    rules = sorted({d.code for d in diagnostics})
    results = []
    for d in diagnostics:
        region = {"startLine": d.span.line, "startColumn": d.span.col}
        if d.span.end_line:
            region.update(endLine=d.span.end_line, endColumn=d.span.end_col or d.span.col + 1)
        text = d.message + (f" Hint: {d.hint}" if d.hint else "")
        uri = ("file://" if d.span.path.startswith("/") else "") + quote(d.span.path, safe="/")
        results.append({
            "ruleId": d.code, "ruleIndex": rules.index(d.code),
            "level": "error" if d.is_error else "warning",
            "message": {"text": text},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}, "region": region}}],
        })
    run = {
        "tool": {"driver": {"name": "agentctl", "version": __version__, "rules": [_rule(c) for c in rules]}},
        "results": results,
    }
    sarif = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0", "runs": [run]}
    return json.dumps(sarif, indent=2)


def _rule(code: str) -> dict:
    from agentctl import diagnostic_codes

    if code not in diagnostic_codes.CODES:  # a code not documented yet still gets a usable rule
        return {"id": code, "shortDescription": {"text": code}, "fullDescription": {"text": code},
                "help": {"text": code}}
    return {"id": code,  # no `name`: SARIF wants it readable and unlike the id (Multitool SARIF1001)
            "shortDescription": {"text": diagnostic_codes.short(code)},
            "fullDescription": {"text": diagnostic_codes.plain(code)},
            "help": {"text": diagnostic_codes.plain(code), "markdown": f"**{code}**: {diagnostic_codes.CODES[code]}"},
            "defaultConfiguration": {"level": "error" if code.startswith("E") else "warning"}}
