"""What `agentctl run` and the journal commands show, as text: the live view's model, plain
progress lines, the summary, run listings, JSON and trace trees. console.py writes them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import assert_never

from agentctl.compile.ir import CompiledPipeline
from agentctl.dimensions import COUNTED, DIMENSIONS, Usage
from agentctl.fitting import column_widths, fit_columns, fold_rows
from agentctl.record.redact import Redactor
from agentctl.run.events import (ApprovalAsked, ApprovalDecided, Event, GateWarned, ItemFinished,
                                 LlmAnswerRestored, LlmAttemptFailed, LlmAttemptStarted, LlmAttemptSucceeded,
                                 OutputReasked, RunFinished, RunStarted, ServerPhase, ServerStarting, ServerStopping,
                                 StepFinished, StepStarted, ToolCallFailed, ToolCallRefused, ToolCallRestored,
                                 ToolCallStarted, ToolCallSucceeded)
from agentctl.run.executor import RunResult

ICONS = {"pending": "·", "running": "…", "starting": "…", "started": "✓", "succeeded": "✓", "failed": "✗",
         "skipped": "-", "denied": "✗", "cancelled": "✗", "paused": "‖", "waiting": "‖", "stopping": "…",
         "cancelling": "…", "stopped": "✓"}

QUIET = {"succeeded", "skipped", "started", "stopped"}  # finished with nothing to look at: folded first


def server_row(server: str) -> str:
    """An MCP server's row in the live view, beside the steps'."""
    return f"mcp {server}"


def money(value: float) -> str:
    return f"${value:.4f}"


def usage_text(usage: Usage) -> str:
    return ", ".join(d.format(getattr(usage, d.name)) for d in COUNTED)


@dataclass
class Row:
    state: str = "pending"
    server: bool = False  # an MCP server's row ("mcp NAME"): its start-up, no spending of its own
    model: str = ""
    attempt: str = ""
    tokens: int = 0
    cost: float = 0.0
    started: float | None = None
    ended: float | None = None


@dataclass
class Progress:
    """The live view's model: a row per step and the run's totals, updated from the events."""

    pipeline: CompiledPipeline
    started: float = field(default_factory=time.monotonic)
    rows: dict[str, Row] = field(default_factory=dict)
    totals: Usage = field(default_factory=Usage)

    def apply(self, event: Event) -> str | None:
        """Takes the event in; returns its line for a plain (non-terminal) log, if it has one."""
        match event:
            case RunStarted():
                return f"run {event.run_id} of {event.pipeline} started"
            case StepStarted():
                self.row(event.step).state, self.row(event.step).started = "running", event.at
                what = f"{event.kind} {event.what}" if event.what else event.kind
                return f"{event.step:<16} started ({what})"
            case StepFinished():
                row = self.row(event.step)
                row.state, row.ended = event.status, event.at
                self.totals = event.run_usage
                tail = f": {event.error}" if event.error and event.status != "succeeded" else ""
                return f"{event.step:<16} {event.status} in {event.duration_s:.2f}s{tail}"
            case ItemFinished() | ToolCallStarted():
                self.totals = event.run_usage
                return None
            case LlmAttemptStarted():
                row = self.row(event.step)
                row.model, row.attempt = event.model, str(event.attempt)
                return None
            case LlmAttemptSucceeded():
                for sid in enclosing(self.pipeline, event.step):  # a loop's row counts what its steps spend
                    row = self.row(sid)
                    row.tokens += event.input_tokens + event.output_tokens
                    row.cost += event.cost_usd
                self.totals = event.run_usage
                return (f"{event.step:<16} {event.model} attempt {event.attempt}: {event.input_tokens}+"
                        f"{event.output_tokens} tokens, {money(event.cost_usd)}, {event.duration_s:.2f}s")
            case LlmAnswerRestored():
                return f"{event.step:<16} {event.model}: answer {event.call_index + 1} restored from the journal"
            case LlmAttemptFailed():
                return f"{event.step:<16} {event.model} attempt {event.attempt} failed: {event.error}"
            case ToolCallSucceeded() | ToolCallRestored():
                state = "succeeded" if isinstance(event, ToolCallSucceeded) else "restored"
                return f"{event.step:<16} tool {event.tool} {state}"
            case ToolCallFailed():
                return f"{event.step:<16} tool {event.tool} failed: {event.error}"
            case ToolCallRefused():
                return f"{event.step:<16} tool {event.tool} refused: {event.reason}"
            case OutputReasked():
                return f"{event.step:<16} reask: {event.problem}"
            case GateWarned():
                return f"{event.step:<16} warning: {event.message}"
            case ServerStarting():
                row = self.row(server_row(event.server))
                row.state, row.started, row.server = "starting", event.at, True
                return f"{server_row(event.server):<16} starting"
            case ServerStopping():
                row = self.rows.get(server_row(event.server))
                if row is None or row.state not in ("started", "starting"):
                    return None  # one that failed to start is gone already
                row.state = "stopping" if row.state == "started" else "cancelling"
                row.started, row.ended = event.at, None  # its clock now counts the stop
                return f"{server_row(event.server):<16} {row.state}"
            case ServerPhase():
                if event.phase == "start" and (row := self.rows.get(server_row(event.server))) is not None:
                    row.state, row.ended = ("failed" if event.error else "started"), event.at
                for row in self.rows.values() if event.phase == "stop" else ():  # one event for all servers
                    if row.state == "stopping":
                        row.state, row.ended = "stopped", event.at
                verb = ("failed to start" if event.error else "started") if event.phase == "start" else "stopped"
                took = f"{event.at - event.started_at:.1f} s"
                return f"{server_row(event.server):<16} {verb} in {took}" + (f": {event.error}" if event.error else "")
            case ApprovalAsked():
                self.row(event.step).state = "waiting"
                return f"{event.step:<16} waits for approval by {event.role}: {event.message}"
            case ApprovalDecided():
                if self.row(event.step).state == "waiting":
                    self.row(event.step).state = "running"
                return f"{event.step:<16} {'approved' if event.approved else 'denied'} by {event.by}"
            case RunFinished():
                self.totals = event.usage
                for row in self.rows.values():  # the last frame must not show a step still running
                    if row.state in ("running", "starting", "waiting", "cancelling"):
                        row.state, row.ended = ("paused" if event.status == "paused" else "cancelled"), event.at
                return None
            case _:
                assert_never(event)

    def row(self, step: str) -> Row:
        return self.rows.setdefault(step, Row())

    def table_rows(self, room: int | None = None) -> list[tuple[str, ...]]:
        """The live table's rows, in the order they started; with `room`, at most that many, the
        oldest of those finished unremarkably folded into one (fitting.fold_rows)."""
        now = time.monotonic()
        out = []
        items = list(self.rows.items())  # a copy: the live view's thread reads while the run adds
        for sid, row in items:
            elapsed = (row.ended or now) - row.started if row.started else 0.0
            spent = ("", "") if row.server else (f"{row.tokens:,}", money(row.cost))
            out.append(("  " * depth(self.pipeline, sid) + sid, f"{ICONS.get(row.state, '?')} {row.state}",
                        row.model, row.attempt, *spent, f"{elapsed:.1f}s"))
        return out if room is None else fold_rows(out, [row.state in QUIET for _, row in items], room)

    def budget_line(self) -> str:
        """Every budget dimension: what the run used, against its limit when it has one."""
        limits, parts = self.pipeline.limits, []
        for d in DIMENSIONS:
            used = time.monotonic() - self.started if d.clock else getattr(self.totals, d.name)
            limit = getattr(limits, d.limit)
            parts.append(d.format(used) + (f" of {d.format(limit)}" if limit is not None else ""))
        return " · ".join(parts)


SUMMARY_COLUMNS = ("step", "status", "LLM", "tools", "tokens", "cost", "time")
SUMMARY_DROP = ("tools", "LLM", "tokens", "time", "cost")  # on a narrow terminal; step and status stay


def summary_text(result: RunResult, pipeline: CompiledPipeline, width: int | None = None) -> str:
    """What a run did, step by step; `width`: a terminal's, the table's columns fitted to it."""
    duration = (result.finished or time.monotonic()) - result.started
    lines = [f"run {result.run_id} of {pipeline.name}: {result.status} in {duration:.2f}s"]
    if result.error:
        lines.append(f"  {result.error}")
    lines.extend(_step_table(result, pipeline, width))
    limits = pipeline.limits
    budget = f" (budget {money(limits.max_cost_usd)})" if limits.max_cost_usd else ""
    lines.append(f"  total: {usage_text(result.usage)}{budget}")
    calls = result.cut_off.llm_calls  # charged at their worst case: the provider may bill a call it was answering
    if calls:
        which = ("1 LLM call, cut off by the stop, is counted at its" if calls == 1 else
                 f"{calls} LLM calls, cut off by the stop, are counted at their")
        lines.append(f"  of which {which} worst case ({result.cut_off.tokens:,} tokens, "
                     f"{money(result.cut_off.cost_usd)})")
    finished = [s for s, r in result.steps.items() if r.status == "succeeded"]
    if result.status != "succeeded" and finished:
        lines.append(f"  finished and kept: {', '.join(finished)}")
    hint = resume_hint(result, pipeline)
    if hint:
        lines.append(f"  {hint}")
    if result.outputs:
        lines.append("outputs:")
        for key, value in result.outputs.items():
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            lines.append(f"  {key}: {text}")
    return "\n".join(lines)


def _step_table(result: RunResult, pipeline: CompiledPipeline, width: int | None) -> list[str]:
    rows = []
    for sid in _in_pipeline_order(result, pipeline):
        step, u = result.steps[sid], result.steps[sid].usage
        rows.append(["  " * depth(pipeline, sid) + sid, step.status, str(u.llm_calls), str(u.tool_calls),
                     f"{u.tokens:,}", money(u.cost_usd), f"{step.duration_s:.2f}s"])
    kept = fit_columns(SUMMARY_COLUMNS, rows, width, SUMMARY_DROP, cell=2, frame=0) if width else \
        range(len(SUMMARY_COLUMNS))
    widths = column_widths(SUMMARY_COLUMNS, rows)
    left = {SUMMARY_COLUMNS.index("step"), SUMMARY_COLUMNS.index("status")}  # text; the figures align right
    return ["  " + "  ".join(cells[i].ljust(widths[i]) if i in left else cells[i].rjust(widths[i]) for i in kept)
            .rstrip() for cells in [list(SUMMARY_COLUMNS), *rows]]


def _in_pipeline_order(result: RunResult, pipeline: CompiledPipeline) -> list[str]:
    """The run's steps as the pipeline declares them, a loop's steps after it (the journal lists
    them after whatever followed the loop)."""
    found: list[str] = []

    def walk(ids) -> None:
        for sid in ids:
            if sid in result.steps:
                found.append(sid)
            if sid in pipeline.steps:
                walk(pipeline.steps[sid].do.body)
    walk(pipeline.order)
    listed = set(found)
    return found + [sid for sid in result.steps if sid not in listed]


def enclosing(pipeline: CompiledPipeline, step: str) -> list[str]:
    """The step and the loops around it, innermost first."""
    chain = [step]
    while chain[-1] in pipeline.steps and pipeline.steps[chain[-1]].parent:
        chain.append(pipeline.steps[chain[-1]].parent)
    return chain


def depth(pipeline: CompiledPipeline, step: str) -> int:
    """How many loops the step is in: its indent in the live view and the summary."""
    return len(enclosing(pipeline, step)) - 1


def resume_hint(result: RunResult, pipeline: CompiledPipeline | None = None) -> str | None:
    failed_gates = [s for s, r in result.steps.items() if r.status == "failed" and pipeline is not None
                    and s in pipeline.steps and pipeline.steps[s].kind == "gate"]
    if failed_gates:  # a resume would check the same data again and fail the same way
        return (f"gate '{failed_gates[0]}' failed on the data the run produced: fix its inputs or the pipeline "
                "and run it again (a resume would fail the same check)")
    if result.status == "paused":
        return f"answer with: agentctl approve {result.run_id}  (or: agentctl deny {result.run_id})"
    if result.status in ("failed", "budget_exceeded", "interrupted"):
        extra = " --budget <name>=<higher limit>" if result.status == "budget_exceeded" else ""
        return f"continue with: agentctl resume {result.run_id}{extra}"
    return None


def runs_table(rows) -> str:
    if not rows:
        return "no runs yet"
    lines = [f"{'run':<14}{'pipeline':<24}{'status':<17}{'started':<21}{'LLM':>5}{'cost':>10}"]
    for r in rows:
        usage = json.loads(r["usage"] or "{}")
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r["started"])) if r["started"] else ""
        lines.append(f"{r['id']:<14}{r['pipeline'][:23]:<24}{r['status']:<17}{started:<21}"
                     f"{usage.get('llm_calls', 0):>5}{money(usage.get('cost_usd', 0.0)):>10}")
    return "\n".join(lines)


def run_details(row, steps, pending, items: dict | None = None) -> str:
    usage = json.loads(row["usage"] or "{}")
    lines = [f"run {row['id']} of {row['pipeline']} {row['pipeline_version']}: {row['status']}"]
    if row["exit_reason"]:
        lines.append(f"  reason: {row['exit_reason']}")
    if row["role"]:
        lines.append(f"  role: {row['role']}")
    lines.append(f"  inputs: {row['inputs']}")
    lines.append(f"  usage: {usage_text(Usage.from_dict(usage))}")
    for s in steps:
        where = f" ({s.scope.rstrip('/')})" if s.scope else ""
        tail = f": {s.error}" if s.error and s.status != "succeeded" else ""
        lines.append(f"  {s.step}{where}: {s.status}{tail}")
    finished = {(s.step, s.scope) for s in steps if s.status == "succeeded"}
    partial: dict[tuple[str, str], int] = {}
    for step, scope, _ in items or {}:
        if (step, scope) not in finished:  # a fan-out that had not finished when the run stopped
            partial[(step, scope)] = partial.get((step, scope), 0) + 1
    for (step, scope), done in partial.items():
        where = f" ({scope.rstrip('/')})" if scope else ""
        lines.append(f"  {step}{where}: {done} item{'' if done == 1 else 's'} finished and kept; a resume runs the rest")
    for p in pending:
        lines.append(f"  waiting for approval at {p['step']} by {p['approver']}: {p['message']}")
        for key, value in (json.loads(p["context"]) if p["context"] else {}).items():  # masked when written
            lines.append(f"    {key}: {value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}")
    if row["outputs"] and row["outputs"] != "null":
        lines.append(f"  outputs: {row['outputs']}")
    return "\n".join(lines)


def result_json(result: RunResult, redactor: Redactor | None = None) -> str:
    payload = {
        "version": JSON_VERSION, "run_id": result.run_id, "pipeline": result.pipeline, "status": result.status,
        "exit_code": result.exit_code, "error": result.error, "outputs": result.outputs,
        "usage": result.usage.as_dict(), "cut_off": result.cut_off.as_dict(),
        "duration_s": round((result.finished or time.monotonic()) - result.started, 3),
        "steps": {sid: {"status": s.status, "output": s.output, "error": s.error, "usage": s.usage.as_dict(),
                        "duration_s": round(s.duration_s, 3)} for sid, s in result.steps.items()},
    }
    return (redactor or Redactor(())).json(payload, indent=2)  # masks strings, never numbers or syntax


JSON_VERSION = 1  # of the shapes below and of result_json; docs/recording.md


def _run_fields(row) -> dict:
    return {"run_id": row["id"], "pipeline": row["pipeline"], "pipeline_version": row["pipeline_version"],
            "status": row["status"], "reason": row["exit_reason"], "started": row["started"],
            "finished": row["finished"], "usage": json.loads(row["usage"] or "{}"), "role": row["role"]}


def runs_json(rows) -> str:
    """`runs list --json`: the journal already holds every value masked."""
    return json.dumps({"version": JSON_VERSION, "runs": [_run_fields(r) for r in rows]}, indent=2, ensure_ascii=False)


def run_json(record) -> str:
    """`runs show --json`: the run, its steps (per loop iteration), pending approvals, kept fan-out items."""
    row = record.row
    payload = {"version": JSON_VERSION, **_run_fields(row), "inputs": json.loads(row["inputs"] or "{}"),
               "outputs": json.loads(row["outputs"]) if row["outputs"] else None,
               "steps": [{"step": s.step, "scope": s.scope, "status": s.status, "output": s.output, "error": s.error,
                          "usage": s.usage} for s in record.steps],
               "pending_approvals": [{"step": p["step"], "approver": p["approver"], "message": p["message"],
                                      "context": json.loads(p["context"]) if p["context"] else {}}
                                     for p in record.pending],
               "items_kept": [{"step": step, "scope": scope, "index": index} for step, scope, index in record.items]}
    return json.dumps(payload, indent=2, ensure_ascii=False, default=str)


def trace_json(documents: list[dict]) -> str:
    """A run's OTLP/JSON documents merged into one."""
    return json.dumps({"resourceSpans": [rs for d in documents for rs in d.get("resourceSpans", [])]}, indent=2)


def trace_tree(documents: list[dict]) -> str:
    """OTLP/JSON documents (one per attempt of a run) as an indented tree."""
    spans = [span for d in documents for rs in d.get("resourceSpans", []) for ss in rs.get("scopeSpans", [])
             for span in ss.get("spans", [])]
    by_parent: dict[str, list[dict]] = {}
    ids = {s["spanId"] for s in spans}
    for span in spans:
        parent = span.get("parentSpanId") or ""
        by_parent.setdefault(parent if parent in ids else "", []).append(span)
    lines: list[str] = []

    def attrs(span: dict) -> dict:
        out = {}
        for a in span.get("attributes", []):
            value = a["value"]
            out[a["key"]] = next(iter(value.values())) if value else None
        return out

    def walk(parent: str, depth: int) -> None:
        for span in sorted(by_parent.get(parent, []), key=lambda s: int(s.get("startTimeUnixNano", 0))):
            a = attrs(span)
            ms = (int(span.get("endTimeUnixNano", 0)) - int(span.get("startTimeUnixNano", 0))) / 1e6
            failed = span.get("status", {}).get("code") == 2
            detail = []
            if "gen_ai.usage.input_tokens" in a:
                detail.append(f"{a['gen_ai.usage.input_tokens']}+{a['gen_ai.usage.output_tokens']} tokens")
            if a.get("agentctl.cost_usd"):
                detail.append(money(float(a["agentctl.cost_usd"])))
            if failed:
                detail.append(f"ERROR {span.get('status', {}).get('message', '')}")
            mark = "✗ " if failed else ""
            lines.append(f"{'  ' * depth}{mark}{span['name']}  {ms:.1f} ms" + (f"  ({', '.join(detail)})" if detail else ""))
            walk(span["spanId"], depth + 1)

    walk("", 0)
    return "\n".join(lines) if lines else "the trace has no spans"
