"""Prompt files to PromptTemplate: Jinja syntax, undeclared variables and refused internals,
each located inside the prompt file, plus the lock check that catches a change without a bump."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from jinja2 import TemplateSyntaxError, meta, nodes

from agentctl.compile.expressions import sandbox
from agentctl.compile.ir import PromptTemplate, frozen
from agentctl.diagnostics import Diagnostic, SourceSpan, error, warning
from agentctl.lockfile import lock_key
from agentctl.spec.prompt_file import PromptSource


def prompt_hash(source: PromptSource) -> str:
    """What a version pins: the declared inputs and the role sections, not description or sample."""
    inputs = {k: v.model_dump(mode="json") for k, v in source.front.inputs.items()}
    payload = {"inputs": inputs, "sections": [[s.role, s.text] for s in source.sections]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def compile_prompt(source: PromptSource, lock: dict[str, str] | None) -> tuple[PromptTemplate | None, list[Diagnostic]]:
    diags: list[Diagnostic] = []
    used: set[str] = set()
    declared = set(source.front.inputs)
    for section in source.sections:
        diags.extend(_check_section(source, section.text, section.first_line, declared, used))
    for name in sorted(declared - used):
        diags.append(warning("W804", f"prompt input '{name}' is declared but never used",
                             source.smap.key(("inputs", name)), "use it in the prompt or remove it"))
    digest = prompt_hash(source)
    diags.extend(_check_lock(source, digest, lock))
    if any(d.is_error for d in diags):
        return None, diags
    front = source.front
    template = PromptTemplate(
        name=front.name,
        version=str(front.version),
        path=source.path,
        sha256=digest,
        inputs=frozen(front.inputs),
        required_inputs=frozenset(n for n, i in front.inputs.items() if "default" not in i.model_fields_set),
        sections=tuple((s.role, s.text, s.first_line) for s in source.sections),
    )
    return template, diags


def _check_lock(source: PromptSource, digest: str, lock: dict[str, str] | None) -> list[Diagnostic]:
    key = lock_key(source.front.name, str(source.front.version))
    span = source.smap.value(("version",))
    if lock is None or key not in lock:
        return [warning("W805", f"prompt {key} is not recorded in agentctl.lock", span,
                        "run `agentctl lock` and commit agentctl.lock")]
    if lock[key] != digest:
        return [error("E607", f"prompt '{source.front.name}' changed but its version is still {source.front.version}",
                      span, "bump `version:` in the front matter, then run `agentctl lock`")]
    return []


def _check_section(source: PromptSource, text: str, first_line: int, declared: set[str],
                   used: set[str]) -> list[Diagnostic]:
    lines = text.split("\n")
    try:
        ast = sandbox().parse(text)
    except RecursionError:
        used.update(declared)
        return [error("E602", "Jinja blocks nested too deeply to read", SourceSpan(source.path, first_line, 1),
                      "flatten the nested {% if %} / {% for %} blocks")]
    except ValueError:  # Jinja's lexer turns digits into an int; Python refuses over 4,300 digits
        used.update(declared)
        return [error("E602", "a number in the template is too large to read", SourceSpan(source.path, first_line, 1),
                      "use a number of at most a few hundred digits")]
    except TemplateSyntaxError as exc:
        line = (exc.lineno or 1)
        col = _column_of_tag(lines[line - 1] if 0 < line <= len(lines) else "")
        used.update(declared)  # what the section uses is unknown; do not also warn about it
        return [error("E602", f"Jinja syntax error: {exc.message}",
                      SourceSpan(source.path, first_line + line - 1, col), None)]
    diags: list[Diagnostic] = [
        error("E602", "a prompt cannot include, import or extend other templates",
              _locate(source.path, lines, first_line, node.lineno, "{%"), "put the text in this prompt")
        for node in ast.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends))]
    refused: dict[int, Diagnostic] = {}
    for node in ast.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.Test)):
        for diag in _refusals(source.path, lines, first_line, node):
            if diag.code != "E606":
                diags.append(diag)
            elif diag.span.line not in refused or diag.span.col < refused[diag.span.line].span.col:
                refused[diag.span.line] = diag  # `''.__class__.__mro__` is one mistake: keep the first
    diags += refused.values()
    try:
        undeclared = meta.find_undeclared_variables(ast)
    except TemplateSyntaxError:  # an unknown filter or test, reported above
        used.update(declared)
        return diags
    used.update(undeclared & declared)
    seen: set[str] = set()
    for node in ast.find_all(nodes.Name):
        if node.ctx == "load" and node.name in undeclared and node.name not in declared and node.name not in seen:
            seen.add(node.name)
            span = _locate(source.path, lines, first_line, node.lineno, node.name)
            diags.append(error("E603", f"prompt uses '{node.name}' but does not declare it", span,
                               f"add it under inputs: in the front matter, e.g. {node.name}: {{type: string}}"))
    return diags


def _refusals(path: str, lines: list[str], first_line: int, node: Any) -> list[Diagnostic]:
    name = None
    if isinstance(node, nodes.Getattr):
        name = node.attr
    elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        name = node.arg.value
    if isinstance(name, str) and name.startswith("_"):
        return [error("E606", f"access to '{name}' is refused: prompts cannot reach Python internals",
                      _locate(path, lines, first_line, node.lineno, name, prefix=""),
                      "prompts render data only; pass what you need as an input")]
    if isinstance(node, nodes.Filter) and node.name not in sandbox().filters:
        return [error("E602", f"unknown filter '{node.name}'", _locate(path, lines, first_line, node.lineno, node.name))]
    if isinstance(node, nodes.Test) and node.name not in sandbox().tests:
        return [error("E602", f"unknown test '{node.name}'", _locate(path, lines, first_line, node.lineno, node.name))]
    return []


def _locate(path: str, lines: list[str], first_line: int, lineno: int, word: str, prefix: str = r"(?<![\w.])") -> SourceSpan:
    text = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
    match = re.search(prefix + re.escape(word) + r"(?!\w)", text)
    col = match.start() + 1 if match else 1
    return SourceSpan(path, first_line + lineno - 1, col, first_line + lineno - 1, col + len(word))


def _column_of_tag(line: str) -> int:
    positions = [p for p in (line.find("{{"), line.find("{%")) if p >= 0]
    return min(positions) + 1 if positions else 1
