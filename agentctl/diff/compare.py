"""Two snapshots compared: what changed in prompts, pipelines and schemas, what breaks, which
pipelines are affected, and the worst-case cost before and after. Plain data; formats.py prints it."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace
from typing import Any

from agentctl.diff.snapshot import PromptInfo, Snapshot
from agentctl.dimensions import COUNTED


@dataclass
class PromptChange:
    key: str  # name@version at head (at base when removed)
    kind: str  # added, removed, version bumped, moved, docs-only, whitespace-only, changed
    path: str
    before: str | None = None  # name@version at base
    diffs: dict[str, list[str]] = field(default_factory=dict)  # role -> unified diff lines
    first_lines: dict[str, int] = field(default_factory=dict)  # role -> head line of the section
    changed_lines: dict[str, list[int]] = field(default_factory=dict)  # role -> head file lines, a hunk each
    inputs: list[str] = field(default_factory=list)  # "added text: string", "removed x", "retyped n: a -> b"
    lock: str = ""
    rendered: list[str] | None = None  # the diff of the prompt rendered on its sample, when it differs
    rendered_note: str = ""
    sample_tokens: tuple[int, int] | None = None  # estimated input tokens of the rendered sample
    sample_usd: list[str] = field(default_factory=list)  # those tokens at the prices of the models using it


@dataclass
class ValueChange:
    file: str
    path: str
    before: Any
    after: Any
    line: int | None  # in head's file


@dataclass
class CostRow:
    pipeline: str
    dimension: str
    before: float | None  # None: unbounded, unless a note says why there is no figure
    after: float | None
    limit: float | None  # head's budget
    before_note: str | None = None  # "new": no such pipeline in base; "does not compile"
    after_note: str | None = None  # "does not compile"


@dataclass
class DiffReport:
    base: str
    head: str
    prompts: list[PromptChange] = field(default_factory=list)
    pipelines: list[ValueChange] = field(default_factory=list)
    added_pipelines: list[str] = field(default_factory=list)
    removed_pipelines: list[str] = field(default_factory=list)
    moved_pipelines: dict[str, str] = field(default_factory=dict)  # head path -> base path
    schemas: list[ValueChange] = field(default_factory=list)
    breaking: list[str] = field(default_factory=list)  # "file:line: message"
    affected: dict[str, list[str]] = field(default_factory=dict)  # pipeline -> why
    agents: dict[str, list[str]] = field(default_factory=dict)  # "pipeline: agent" -> what changed
    cost: list[CostRow] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.prompts or self.pipelines or self.added_pipelines or self.removed_pipelines
                    or self.moved_pipelines or self.schemas)


def compare(base: Snapshot, head: Snapshot, base_label: str, head_label: str) -> DiffReport:
    report = DiffReport(base_label, head_label)
    report.moved_pipelines = _moved(base, head)
    was = {old: new for new, old in report.moved_pipelines.items()}
    base = replace(base, pipelines={was.get(p, p): info for p, info in base.pipelines.items()})
    report.prompts = compare_prompts(base, head)
    for change in report.prompts:
        change.sample_usd = _sample_prices(head, change)
    for path in sorted(set(base.pipelines) | set(head.pipelines)):
        if path not in base.pipelines:
            report.added_pipelines.append(path)
        elif path not in head.pipelines:
            report.removed_pipelines.append(path)
        else:
            report.pipelines += _values(path, base.pipelines[path].values, head.pipelines[path].values,
                                        head.pipelines[path].lines)
    for path in sorted(set(base.schemas) | set(head.schemas)):
        report.schemas += _values(path, dict(_schema_fields(base.schemas.get(path))),
                                  dict(_schema_fields(head.schemas.get(path))), {})
    report.breaking = _breaking(base, head) + _retyped_reads(head, report.schemas)
    report.affected = _affected(base, head, report)
    report.agents = _agents(head, report)
    report.cost = _cost(base, head, set(report.affected) | set(report.removed_pipelines))
    return report


def _moved(base: Snapshot, head: Snapshot) -> dict[str, str]:
    """Pipeline files renamed: a file only head has, paired with the one file only base has under
    the same `name:` (what the pipeline is called, as a prompt is known by name@version)."""
    gone: dict[str, list[str]] = {}
    for path, info in sorted(base.pipelines.items()):
        if path not in head.pipelines and isinstance(info.values.get("name"), str):
            gone.setdefault(info.values["name"], []).append(path)
    moved = {}
    for path, info in sorted(head.pipelines.items()):
        if path not in base.pipelines and len(gone.get(info.values.get("name"), ())) == 1:
            moved[path] = gone.pop(info.values["name"])[0]
    return moved


def compare_prompts(base: Snapshot, head: Snapshot) -> list[PromptChange]:
    changes = []
    base_by_name = {p.name: p for p in sorted(base.prompts.values(), key=lambda p: _version_order(p.version))}
    head_names = {p.name for p in head.prompts.values()}
    for key, after in sorted(head.prompts.items()):
        before = base.prompts.get(key)
        if before is None and after.name in base_by_name:
            before = base_by_name[after.name]
            change = _content(PromptChange(key, "version bumped", after.path, before.key), before, after)
        elif before is None:
            change = _content(PromptChange(key, "added", after.path), None, after)
        else:
            change = _same_key(before, after)
        if change is not None:
            change.lock = after.lock
            changes.append(change)
    for key, before in sorted(base.prompts.items()):
        if key not in head.prompts and before.name not in head_names:
            changes.append(PromptChange(key, "removed", before.path, key))
    return changes


def _same_key(before: PromptInfo, after: PromptInfo) -> PromptChange | None:
    if before.sha256 == after.sha256:
        if before.path != after.path:
            return PromptChange(after.key, "moved", after.path, before.key, inputs=[f"from {before.path}"])
        if (before.description, before.sample) != (after.description, after.sample):
            return _content(PromptChange(after.key, "docs-only", after.path, before.key), before, after)
        return None
    kind = "whitespace-only" if _squashed(before) == _squashed(after) and before.inputs == after.inputs else "changed"
    return _content(PromptChange(after.key, kind, after.path, before.key), before, after)


def _content(change: PromptChange, before: PromptInfo | None, after: PromptInfo) -> PromptChange:
    old = {role: text for role, text, _ in before.sections} if before else {}
    new = {role: text for role, text, _ in after.sections}
    change.first_lines = {role: line for role, _, line in after.sections}
    for role in dict.fromkeys([*old, *new]):
        lines = list(difflib.unified_diff(old.get(role, "").splitlines(), new.get(role, "").splitlines(),
                                          f"{role} (base)", f"{role} (head)", lineterm="", n=2))
        if lines:
            change.diffs[role] = lines
            if role in change.first_lines:
                change.changed_lines[role] = [change.first_lines[role] + n - 1 for n in hunk_starts(lines)]
    old_inputs = before.inputs if before else {}
    for name in sorted(set(old_inputs) | set(after.inputs)):
        a, b = old_inputs.get(name), after.inputs.get(name)
        if a is None:
            change.inputs.append(f"added {name}: {b.get('type', '?')}")
        elif b is None:
            change.inputs.append(f"removed {name}")
        elif a.get("type") != b.get("type"):
            change.inputs.append(f"retyped {name}: {a.get('type')} -> {b.get('type')}")
    _rendered(change, before, after)
    return change


def _rendered(change: PromptChange, before: PromptInfo | None, after: PromptInfo) -> None:
    from agentctl.diff.render_sample import render_sample, sample_tokens

    touches_jinja = any("{{" in line or "{%" in line for lines in change.diffs.values() for line in lines)
    if not (touches_jinja or change.inputs) or change.kind == "docs-only" and not change.diffs:
        change.rendered_note = "the rendered diff equals the template diff (no Jinja or input changed)"
        if change.kind == "docs-only":
            change.rendered_note = "the sample or description changed; the template did not"
    old = render_sample(before) if before else ""
    new = render_sample(after)
    if touches_jinja or change.inputs:
        change.rendered = list(difflib.unified_diff(old.splitlines(), new.splitlines(), "rendered (base)",
                                                    "rendered (head)", lineterm="", n=2))
    change.sample_tokens = (sample_tokens(before) if before else 0, sample_tokens(after))


def hunk_starts(diff: list[str]) -> list[int]:
    """For each hunk of a unified diff, the line (1-based, in the new text) of its first change."""
    starts, line, pending = [], 0, False
    for text in diff:
        if text.startswith("@@"):
            line, pending = int(re.search(r"\+(\d+)", text).group(1)), True
        elif text.startswith(("+++", "---")):
            continue
        elif text.startswith(("+", "-")) and pending:
            starts.append(max(line, 1))
            pending = False
        if not text.startswith(("@@", "-")):
            line += 1
    return starts


def _sample_prices(head: Snapshot, change: PromptChange) -> list[str]:
    """The sample's input tokens at the primary model's and the dearest fallback's input price,
    for each model alias whose agents use the prompt."""
    if not change.sample_tokens:
        return []
    before, after = change.sample_tokens
    lines: dict[str, str] = {}
    for info in head.pipelines.values():
        for agent in info.compiled.agents.values() if info.compiled else ():
            if f"{agent.prompt.name}@{agent.prompt.version}" != change.key:
                continue
            chain = [t for t in info.compiled.models[agent.model].chain if t.price is not None]
            picks = [("primary", chain[0])] if chain and chain[0] is info.compiled.models[agent.model].chain[0] else []
            dearest = max(chain, key=lambda t: t.price.input_per_token, default=None)
            if dearest is not None and (not picks or dearest is not picks[0][1]):
                picks.append(("dearest fallback", dearest))
            for role, target in picks:
                price = target.price.input_per_token
                lines[f"{role} {target.model}"] = (f"{role} {target.model} (models.{agent.model}): "
                                                    f"${before * price:.6f} -> ${after * price:.6f}")
    return sorted(lines.values())


def _squashed(prompt: PromptInfo) -> list[tuple[str, str]]:
    return [(role, re.sub(r"\s+", " ", text).strip()) for role, text, _ in prompt.sections]


def _version_order(version: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"[.-]", version))


def _values(file: str, before: dict[str, Any], after: dict[str, Any], lines: dict[str, int]) -> list[ValueChange]:
    return [ValueChange(file, path, before.get(path, _MISSING), after.get(path, _MISSING), lines.get(path))
            for path in sorted(set(before) | set(after)) if before.get(path, _MISSING) != after.get(path, _MISSING)]


class _Missing:
    def __repr__(self) -> str:
        return "(none)"


_MISSING = _Missing()


def present(value: Any) -> Any:
    """A value as data: None where one side has nothing."""
    return None if value is _MISSING else value


def _schema_fields(schema: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """A schema as field paths: `answer.type string`, `answer.required true`..."""
    if not isinstance(schema, dict):
        return [] if schema is None and not prefix else [(prefix or "(document)", schema)]
    out: list[tuple[str, Any]] = []
    required = set(schema.get("required") or ())
    for name, sub in (schema.get("properties") or {}).items():
        path = f"{prefix}{name}"
        out.append((f"{path}.type", sub.get("type", "any") if isinstance(sub, dict) else sub))
        out.append((f"{path}.required", name in required))
        out += _schema_fields(sub, f"{path}.") if isinstance(sub, dict) and "properties" in sub else []
        if isinstance(sub, dict) and isinstance(sub.get("items"), dict) and "properties" in sub["items"]:
            out += _schema_fields(sub["items"], f"{path}[].")
    return out


def _breaking(base: Snapshot, head: Snapshot) -> list[str]:
    """Errors head has that base did not: a removed or retyped field a downstream expression reads."""
    found = []
    for path, after in sorted(head.pipelines.items()):
        before = base.pipelines.get(path)
        known = {(d.code, d.message) for d in before.errors} if before else set()
        for diag in after.errors:
            if (diag.code, diag.message) not in known:
                found.append(f"{path}:{diag.span.line}:{diag.span.col}: {diag.code} {diag.message}")
    return found


def _retyped_reads(head: Snapshot, schemas: list[ValueChange]) -> list[str]:
    """A field whose type changed, read by an expression of a pipeline that uses the schema."""
    found = []
    for change in schemas:
        if not change.path.endswith(".type") or _MISSING in (change.before, change.after):
            continue
        field_path = change.path[: -len(".type")].replace("[]", "")
        for path, info in sorted(head.pipelines.items()):
            if change.file not in info.files:
                continue
            for where, value in info.values.items():
                if isinstance(value, str) and f".output.{field_path}" in value:
                    found.append(f"{path}:{info.lines.get(where, 1)}:1: {change.file} field '{field_path}' changed "
                                 f"type ({change.before} -> {change.after}) and {where} reads it")
    return found


def _affected(base: Snapshot, head: Snapshot, report: DiffReport) -> dict[str, list[str]]:
    prompts = {c.key for c in report.prompts} | {c.before for c in report.prompts if c.before}
    files = {c.file for c in report.schemas} | {p for p in set(base.sources) | set(head.sources)
                                                  if base.sources.get(p) != head.sources.get(p)}
    affected: dict[str, list[str]] = {}
    for path, info in sorted(head.pipelines.items()):
        why = [f"prompt {p}" for p in sorted(info.prompts & prompts)]
        why += [f"uses {f}" for f in sorted(info.files & files)]
        if any(c.file == path for c in report.pipelines) or path in report.added_pipelines:
            why.insert(0, "its definition changed")
        if path in report.moved_pipelines:
            why.insert(0, f"moved from {report.moved_pipelines[path]}")
        if why:
            affected[path] = why
    return affected


def _agents(head: Snapshot, report: DiffReport) -> dict[str, list[str]]:
    """Per agent: its prompt's change joined with its model, params and tools changes."""
    joined: dict[str, list[str]] = {}
    prompt_changes = {c.key: c for c in report.prompts}
    for path, info in sorted(head.pipelines.items()):
        if info.compiled is None:
            continue
        for name, agent in info.compiled.agents.items():
            lines = []
            change = prompt_changes.get(f"{agent.prompt.name}@{agent.prompt.version}")
            if change is not None:
                lines.append(f"prompt {change.key}: {change.kind}")
            for c in report.pipelines:
                if c.file == path and (c.path.startswith(f"agents.{name}.") or c.path.startswith(f"models.{agent.model}.")):
                    lines.append(f"{c.path}: {' -> '.join(shown(c.before, c.after))}")
            if lines:
                joined[f"{path}: {name}"] = lines
    return joined


def _cost(base: Snapshot, head: Snapshot, affected: set[str]) -> list[CostRow]:
    rows = []
    for path, after in sorted(head.pipelines.items()):
        if path not in affected:
            continue
        before = base.pipelines.get(path)
        old = before.compiled if before else None
        new = after.compiled
        if new is None and old is None:
            continue
        was_note = None if old else "does not compile" if before else "new"
        now_note = None if new else "does not compile"
        for d in COUNTED:  # uncapped: a budget below the worst case must show
            was = getattr(old.uncapped or old.bounds, d.name) if old else None
            now = getattr(new.uncapped or new.bounds, d.name) if new else None
            limit = getattr(new.limits, d.limit) if new else None
            if (was, was_note) != (now, now_note) or limit is not None:
                rows.append(CostRow(path, d.name, was, now, limit, was_note, now_note))
    return rows


def shown(before: Any, after: Any, width: int = 80) -> tuple[str, str]:
    """Both values as text; long ones cut to a window around where they first differ, so the
    change is what shows."""
    old, new = (repr(v) if isinstance(v, _Missing) else str(v) for v in (before, after))
    if len(old) <= width and len(new) <= width:
        return old, new
    common = 0
    while common < min(len(old), len(new)) and old[common] == new[common]:
        common += 1
    start = max(0, common - width // 3)

    def window(text: str) -> str:
        part = text[start:start + width]
        return ("..." if start else "") + part + ("..." if start + width < len(text) else "")
    return window(old), window(new)
