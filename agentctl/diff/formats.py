"""A DiffReport as text, JSON (version 1), GitHub annotations or a Markdown PR comment."""

from __future__ import annotations

import json

from agentctl.diff.compare import CostRow, DiffReport, PromptChange, present, shown
from agentctl.dimensions import COUNTED

MARKER = "<!-- agentctl:diff v1 -->"
MARKDOWN_CAP = 60_000  # bytes; GitHub refuses comments over 65,536 characters
_BY_NAME = {d.name: d for d in COUNTED}


def verdict(report: DiffReport) -> str:
    if report.empty:
        return f"No changes to prompts, pipelines or schemas between {report.base} and {report.head}."
    pipelines = {c.file for c in report.pipelines} | set(report.moved_pipelines)
    parts = [f"{len(report.prompts)} prompt(s)",
             f"{len(pipelines) + len(report.added_pipelines) + len(report.removed_pipelines)} pipeline(s)",
             f"{len({c.file for c in report.schemas})} schema(s) changed"]
    tail = f"; {len(report.breaking)} breaking change(s)" if report.breaking else "; nothing breaking"
    return f"{', '.join(parts)}; {len(report.affected)} pipeline(s) affected{tail}."


def _figure(dimension: str, value: float | None, note: str | None = None) -> str:
    if note:
        return note
    return "unbounded" if value is None else _BY_NAME[dimension].format(value)


def cost_lines(rows: list[CostRow]) -> list[tuple[str, ...]]:
    out = []
    for row in rows:
        headroom = "" if row.limit is None or row.after is None else _figure(row.dimension, row.limit - row.after)
        out.append((row.pipeline, row.dimension, _figure(row.dimension, row.before, row.before_note),
                    _figure(row.dimension, row.after, row.after_note),
                    "" if row.limit is None else _figure(row.dimension, row.limit), headroom))
    return out


def to_text(report: DiffReport) -> str:
    lines = [f"agentctl diff {report.base} -> {report.head}", verdict(report), ""]
    if report.breaking:
        lines += ["Breaking:"] + [f"  {b}" for b in report.breaking] + [""]
    for change in report.prompts:
        lines += _prompt_text(change)
    if report.added_pipelines or report.removed_pipelines or report.moved_pipelines or report.pipelines:
        lines.append("Pipelines:")
        lines += [f"  added {p}" for p in report.added_pipelines] + [f"  removed {p}" for p in report.removed_pipelines]
        lines += [f"  moved {old} -> {new}" for new, old in report.moved_pipelines.items()]
        for c in report.pipelines:
            where = f"  ({c.file}:{c.line})" if c.line else f"  ({c.file})"
            lines.append(f"  {c.path}: {' -> '.join(shown(c.before, c.after))}{where}")
        lines.append("")
    if report.schemas:
        lines += ["Schemas:"] + [f"  {c.file} {c.path}: {' -> '.join(shown(c.before, c.after))}" for c in report.schemas]
        lines.append("")
    if report.agents:
        lines += ["Agents:"] + [f"  {a}: {'; '.join(w)}" for a, w in report.agents.items()] + [""]
    if report.affected:
        lines += ["Affected pipelines:"] + [f"  {p}: {', '.join(w)}" for p, w in report.affected.items()] + [""]
    if report.cost:
        lines.append("Worst case (estimates, before the run budgets cap it): pipeline, dimension, base, head, budget, headroom")
        lines += ["  " + " | ".join(row) for row in cost_lines(report.cost)]
    return "\n".join(lines).rstrip() + "\n"


def _prompt_text(change: PromptChange) -> list[str]:
    title = f"Prompt {change.key} ({change.path}): {change.kind}"
    if change.before and change.before != change.key:
        title += f", was {change.before}"
    lines = [title]
    if change.lock:
        lines.append(f"  lock: {change.lock}")
    lines += [f"  input {i}" for i in change.inputs]
    for diff in change.diffs.values():
        lines += [f"  {line}" for line in diff]
    if change.rendered:
        lines += ["  rendered on its sample:"] + [f"  {line}" for line in change.rendered]
    elif change.rendered_note:
        lines.append(f"  {change.rendered_note}")
    if change.sample_tokens:
        lines.append(f"  sample input tokens (estimate): {change.sample_tokens[0]:,} -> {change.sample_tokens[1]:,}")
    lines += [f"  sample input at {usd} (estimate)" for usd in change.sample_usd]
    return lines + [""]


def to_json(report: DiffReport) -> str:
    payload = {
        "version": 1, "base": report.base, "head": report.head, "verdict": verdict(report),
        "breaking": report.breaking,
        "prompts": [{"key": c.key, "kind": c.kind, "path": c.path, "before": c.before, "lock": c.lock,
                     "inputs": c.inputs, "diff": c.diffs, "rendered_diff": c.rendered,
                     "sample_tokens": list(c.sample_tokens) if c.sample_tokens else None,
                     "sample_usd": c.sample_usd} for c in report.prompts],
        "pipelines": {"added": report.added_pipelines, "removed": report.removed_pipelines,
                      "moved": [{"from": old, "to": new} for new, old in report.moved_pipelines.items()],
                      "changes": [{"file": c.file, "path": c.path, "before": present(c.before), "after": present(c.after),
                                   "line": c.line} for c in report.pipelines]},
        "schemas": [{"file": c.file, "path": c.path, "before": present(c.before), "after": present(c.after)}
                    for c in report.schemas],
        "agents": report.agents, "affected": report.affected,
        "cost": [{"pipeline": r.pipeline, "dimension": r.dimension, "before": r.before, "after": r.after,
                  "limit": r.limit, "before_note": r.before_note, "after_note": r.after_note} for r in report.cost],
    }
    return json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n"


def to_github(report: DiffReport) -> str:
    """Workflow commands: a notice on each changed prompt's sections, an error per breaking change."""
    lines = []
    for change in report.prompts:
        for role, starts in change.changed_lines.items():
            for line in starts:
                lines.append(f"::notice file={change.path},line={line},title=prompt {change.key}::"
                             f"{_escape(f'{change.kind}: the {role} section changed here')}")
    for item in report.breaking:
        file, line, _, message = (item.split(":", 3) + ["", "", ""])[:4]
        lines.append(f"::error file={file},line={line},title=breaking change::{_escape(message.strip())}")
    return "\n".join(lines) + ("\n" if lines else "")


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def to_markdown(report: DiffReport, cap: int = MARKDOWN_CAP) -> str:
    """Verdict, cost table, prompts (diffs folded), pipeline table; cut at sections to `cap` bytes,
    dropping the folded rendered diffs first, and saying what was dropped."""
    head = [MARKER, f"**agentctl diff** `{report.base}` → `{report.head}`: {verdict(report)}", ""]
    if report.breaking:
        head += ["**Breaking:**", ""] + [f"- `{b}`" for b in report.breaking] + [""]
    tables = _cost_table(report) + _pipeline_table(report)
    prompts = [_prompt_markdown(c, rendered=True) for c in report.prompts]
    text = _join(head, tables[:len(_cost_table(report))], prompts, tables[len(_cost_table(report)):])
    if len(text.encode()) <= cap:
        return text
    prompts = [_prompt_markdown(c, rendered=False) for c in report.prompts]
    note = ["_Rendered diffs dropped to stay under GitHub's comment limit; run `agentctl diff` for them._", ""]
    text = _join(head + note, tables[:len(_cost_table(report))], prompts, tables[len(_cost_table(report)):])
    kept = list(prompts)
    while len(text.encode()) > cap and kept:
        kept.pop()
        dropped = len(prompts) - len(kept)
        note = [f"_Rendered diffs and the diffs of {dropped} prompt(s) dropped to stay under GitHub's comment "
                "limit; run `agentctl diff` for them._", ""]
        text = _join(head + note, tables[:len(_cost_table(report))], kept, tables[len(_cost_table(report)):])
    return _cut(text, cap)


def _join(head: list[str], cost: list[str], prompts: list[str], pipelines: list[str]) -> str:
    return "\n".join(head + cost + prompts + pipelines).rstrip() + "\n"


def _cut(text: str, cap: int) -> str:
    data = text.encode()
    if len(data) <= cap:
        return text
    suffix = "\n\n_Cut to stay under GitHub's comment limit._\n"
    return data[:cap - len(suffix.encode())].decode("utf-8", "ignore") + suffix  # never inside a character


def _cost_table(report: DiffReport) -> list[str]:
    if not report.cost:
        return []
    rows = ["### Worst case (estimates, before the run budgets cap it)", "", "| pipeline | dimension | base | head | budget | headroom |",
            "|---|---|---|---|---|---|"]
    rows += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in cost_lines(report.cost)]
    return rows + [""]


def _pipeline_table(report: DiffReport) -> list[str]:
    if not (report.pipelines or report.added_pipelines or report.removed_pipelines or report.moved_pipelines
            or report.schemas):
        return []
    rows = ["### Pipelines and schemas", "", "| file | path | base | head |", "|---|---|---|---|"]
    rows += [f"| `{p}` | (added) | | |" for p in report.added_pipelines]
    rows += [f"| `{p}` | (removed) | | |" for p in report.removed_pipelines]
    rows += [f"| `{new}` | (moved from `{old}`) | | |" for new, old in report.moved_pipelines.items()]
    for c in report.pipelines + report.schemas:
        where = f"{c.file}:{c.line}" if c.line else c.file
        old, new = shown(c.before, c.after)
        rows.append(f"| `{_cell(where)}` | `{_cell(c.path)}` | {_cell(old)} | {_cell(new)} |")
    return rows + [""]


def _prompt_markdown(change: PromptChange, rendered: bool) -> str:
    title = f"#### Prompt `{change.key}` — {change.kind}" + (f" (was `{change.before}`)" if change.before and
                                                            change.before != change.key else "")
    body = [title, "", f"`{change.path}`" + (f", lock: {change.lock}" if change.lock else "")]
    body += [f"- input {_cell(i)}" for i in change.inputs]
    if change.diffs:
        diff = "\n".join(line for lines in change.diffs.values() for line in lines)
        body += ["", "<details><summary>template diff</summary>", "", "```diff", diff, "```", "", "</details>"]
    if rendered and change.rendered:
        body += ["", "<details><summary>rendered on its sample</summary>", "", "```diff", "\n".join(change.rendered),
                 "```", "", "</details>"]
    elif change.rendered_note:
        body += ["", f"_{change.rendered_note}_"]
    if change.sample_tokens:
        body += ["", f"Sample input tokens (estimate): {change.sample_tokens[0]:,} → {change.sample_tokens[1]:,}"]
        body += [f"- at {_cell(usd)} (estimate)" for usd in change.sample_usd]
    return "\n".join(body) + "\n"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


FORMATS = {"text": to_text, "json": to_json, "github": to_github, "markdown": to_markdown}
