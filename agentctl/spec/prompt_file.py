"""Prompt files: YAML front matter between `---` lines, then role sections with a Jinja body.

    ---
    name: triage
    version: 3
    inputs: {request: {type: string}}
    ---
    system:
    You are the triage agent.

    user:
    {{ request }}
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agentctl.diagnostics import Diagnostic, SourceSpan, error
from agentctl.spec.load import validate_model
from agentctl.spec.models import PromptFrontMatter
from agentctl.spec.yaml_source import SourceMap, YamlLoadError, load_yaml

_ROLE_LINE = re.compile(r"^(system|user|assistant)\s*:\s*$")


@dataclass(frozen=True, slots=True)
class PromptSection:
    role: str
    text: str
    first_line: int  # file line of the section's first body line


@dataclass(frozen=True, slots=True)
class PromptSource:
    path: str
    front: PromptFrontMatter
    smap: SourceMap
    sections: tuple[PromptSection, ...]
    lines: tuple[str, ...]


def parse_prompt(text: str, display: str) -> tuple[PromptSource | None, list[Diagnostic]]:
    lines = text.split("\n")
    if lines[0].strip() != "---":
        return None, [error("E601", "a prompt file starts with '---' and YAML front matter",
                            SourceSpan(display, 1, 1), "add '---', then name:, version:, inputs:, then '---'")]
    close = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if close is None:
        return None, [error("E601", "front matter is never closed with '---'", SourceSpan(display, 1, 1))]
    try:
        data, smap = load_yaml("\n".join(lines[1:close]) or "{}", display, line_offset=1)
    except YamlLoadError as exc:
        return None, [exc.diagnostic]
    if not isinstance(data, dict):
        return None, [error("E601", "front matter must be a mapping with name:, version: and inputs:",
                            SourceSpan(display, 2, 1))]
    front, diags = validate_model(PromptFrontMatter, data, smap)
    sections, section_diags = _sections(lines, close + 1, display)
    diags.extend(section_diags)
    if front is None or diags:
        return None, diags
    return PromptSource(display, front, smap, sections, tuple(lines)), []


def _sections(lines: list[str], start: int, display: str) -> tuple[tuple[PromptSection, ...], list[Diagnostic]]:
    found: list[tuple[str, int]] = []  # (role, index of header line)
    for index in range(start, len(lines)):
        match = _ROLE_LINE.match(lines[index])
        if match:
            found.append((match.group(1), index))
    if not found:
        return (), [error("E601", "the prompt has no role section", SourceSpan(display, start + 1, 1),
                          "start the body with a line 'system:' or 'user:'")]
    stray = next((i for i in range(start, found[0][1]) if lines[i].strip()), None)
    if stray is not None:
        return (), [error("E601", "text before the first role section", SourceSpan(display, stray + 1, 1),
                          "put 'system:' or 'user:' on its own line above it")]
    sections = []
    for n, (role, header) in enumerate(found):
        end = found[n + 1][1] if n + 1 < len(found) else len(lines)
        first = header + 1  # index of the first non-blank body line
        while first < end and not lines[first].strip():
            first += 1
        body = "\n".join(lines[first:end]).rstrip()
        sections.append(PromptSection(role, body, first + 1))
    return tuple(sections), []
