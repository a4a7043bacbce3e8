"""The terminal side of `agentctl run` (with console.py, the only code that writes to it).

On a terminal: a live table of every step (state, model and fallback in use, attempt, tokens,
cost, elapsed) with run totals against each budget. Elsewhere: one plain line per event.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from agentctl.compile.ir import CompiledPipeline
from agentctl.graph_render import count
from agentctl.record.redact import Redactor
from agentctl.console import _colour
from agentctl.run.approvals import ApprovalRequest
from agentctl.run.events import Event
from agentctl.run.executor import RunResult

_ICON = {"pending": "·", "running": "…", "succeeded": "✓", "failed": "✗", "skipped": "-", "denied": "✗",
         "cancelled": "✗"}


def money(value: float) -> str:
    return f"${value:.4f}"


class RunDisplay:
    def __init__(self, pipeline: CompiledPipeline, live: bool | None = None, redact=None) -> None:
        self.redact = redact or (lambda text: text)
        self.pipeline = pipeline
        self.live_mode = _colour(sys.stderr) if live is None else live
        self.started = time.monotonic()
        self.rows: dict[str, dict[str, Any]] = {}
        self.totals = {"llm_calls": 0, "tool_calls": 0, "tokens": 0, "cost_usd": 0.0}
        self.live = None

    def __enter__(self) -> "RunDisplay":
        if self.live_mode:
            from rich.console import Console
            from rich.live import Live

            self.live = Live(self._table(), console=Console(stderr=True), refresh_per_second=8, transient=False)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.live is not None:
            self.live.update(self._table())
            self.live.__exit__(*exc)

    def paused(self, ask):
        """Wrap a terminal prompt so the live view steps aside while a human answers."""

        def ask_paused(request: ApprovalRequest) -> bool:
            if self.live is not None:
                self.live.stop()
            try:
                return ask(request)
            finally:
                if self.live is not None:
                    self.live.start()

        return ask_paused

    def __call__(self, event: Event) -> None:
        row = self.rows.setdefault(event.step, {"state": "pending", "model": "", "attempt": "", "tokens": 0,
                                                "cost": 0.0, "started": None, "ended": None}) if event.step else None
        self._apply(event, row)
        if self.live is not None:
            self.live.update(self._table())
        else:
            line = self._line(event)
            if line:
                sys.stderr.write(self.redact(f"[{event.at - self.started:7.2f}s] {line}\n"))
                sys.stderr.flush()

    def _apply(self, event: Event, row: dict | None) -> None:
        d = event.data
        if event.kind == "step_started":
            row.update(state="running", started=event.at)
        elif event.kind == "step_finished":
            row.update(state=d["status"], ended=event.at)
        elif event.kind == "llm_attempt":
            row.update(model=d["model"], attempt=str(d["attempt"]))
            if d["state"] == "succeeded":
                tokens = d["input_tokens"] + d["output_tokens"]
                row["tokens"] += tokens
                row["cost"] += d["cost_usd"]
                self.totals["llm_calls"] += 1
                self.totals["tokens"] += tokens
                self.totals["cost_usd"] += d["cost_usd"]
        elif event.kind == "tool_call" and d["state"] == "started":
            self.totals["tool_calls"] += 1

    def _line(self, event: Event) -> str | None:
        d, step = event.data, f"{event.step or '':<16}"
        if event.kind == "run_started":
            return f"run {d['run_id']} of {d['pipeline']} started"
        if event.kind == "step_started":
            what = d.get("agent") or d.get("tool") or d["step_kind"]
            return f"{step} started ({d['step_kind']} {what})" if what != d["step_kind"] else f"{step} started ({what})"
        if event.kind == "step_finished":
            tail = f": {d['error']}" if d.get("error") and d["status"] != "succeeded" else ""
            return f"{step} {d['status']} in {d['duration_s']:.2f}s{tail}"
        if event.kind == "llm_attempt" and d["state"] != "started":
            if d["state"] == "failed":
                return f"{step} {d['model']} attempt {d['attempt']} failed: {d['error'][:120]}"
            return (f"{step} {d['model']} attempt {d['attempt']}: {d['input_tokens']}+{d['output_tokens']} tokens, "
                    f"{money(d['cost_usd'])}, {d['duration_s']:.2f}s")
        if event.kind == "tool_call" and d["state"] != "started":
            return f"{step} tool {d['tool']} {d['state']}" + (f": {d['error']}" if d.get("error") else "")
        if event.kind in ("reask", "warning"):
            return f"{step} {event.kind}: {d.get('problem') or d.get('message')}"
        if event.kind == "approval":
            return f"{step} {'approved' if d['approved'] else 'denied'} by {d['by']}"
        return None

    def _table(self):
        from rich.table import Table

        table = Table(title=f"{self.pipeline.name} {self.pipeline.version}", expand=False)
        for column in ("step", "state", "model", "attempt", "tokens", "cost", "elapsed"):
            table.add_column(column, justify="right" if column in ("tokens", "cost", "elapsed") else "left")
        now = time.monotonic()
        for sid, row in self.rows.items():
            elapsed = (row["ended"] or now) - row["started"] if row["started"] else 0.0
            table.add_row(sid, f"{_ICON.get(row['state'], '?')} {row['state']}", row["model"], row["attempt"],
                          f"{row['tokens']:,}", money(row["cost"]), f"{elapsed:.1f}s")
        table.caption = self._budget_line(now - self.started)
        return table

    def _budget_line(self, elapsed: float) -> str:
        limits, t = self.pipeline.limits, self.totals
        parts = [f"LLM calls {t['llm_calls']}" + (f"/{limits.max_llm_calls}" if limits.max_llm_calls else ""),
                 f"tool calls {t['tool_calls']}" + (f"/{limits.max_tool_calls}" if limits.max_tool_calls is not None else ""),
                 f"tokens {t['tokens']:,}" + (f"/{limits.max_tokens:,}" if limits.max_tokens else ""),
                 money(t["cost_usd"]) + (f"/{money(limits.max_cost_usd)}" if limits.max_cost_usd else ""),
                 f"{elapsed:.1f}s" + (f"/{limits.max_wall_s:g}s" if limits.max_wall_s else "")]
        return " · ".join(parts)


def summary_text(result: RunResult, pipeline: CompiledPipeline) -> str:
    duration = (result.finished or time.monotonic()) - result.started
    lines = [f"run {result.run_id} of {pipeline.name}: {result.status} in {duration:.2f}s"]
    if result.error:
        lines.append(f"  {result.error}")
    lines.append(f"  {'step':<18}{'status':<11}{'LLM':>5}{'tools':>7}{'tokens':>9}{'cost':>10}{'time':>9}")
    for sid, step in result.steps.items():
        u = step.usage
        lines.append(f"  {sid:<18}{step.status:<11}{u.llm_calls:>5}{u.tool_calls:>7}{u.tokens:>9,}"
                     f"{money(u.cost_usd):>10}{step.duration_s:>8.2f}s")
    u = result.usage
    limits = pipeline.limits
    budget = f" (budget {money(limits.max_cost_usd)})" if limits.max_cost_usd else ""
    lines.append(f"  total: {count(u.steps, 'step')}, {count(u.llm_calls, 'LLM call')}, "
                 f"{count(u.tool_calls, 'tool call')}, {count(u.tokens, 'token')}, {money(u.cost_usd)}{budget}")
    finished = [s for s, r in result.steps.items() if r.status == "succeeded"]
    if result.status != "succeeded" and finished:
        lines.append(f"  finished and kept: {', '.join(finished)}")
    hint = resume_hint(result)
    if hint:
        lines.append(f"  {hint}")
    if result.outputs:
        lines.append("outputs:")
        for key, value in result.outputs.items():
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            lines.append(f"  {key}: {text}")
    return "\n".join(lines)


def resume_hint(result: RunResult) -> str | None:
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
    lines.append(f"  inputs: {row['inputs']}")
    lines.append(f"  usage: {count(usage.get('steps', 0), 'step')}, {count(usage.get('llm_calls', 0), 'LLM call')}, "
                 f"{count(usage.get('tool_calls', 0), 'tool call')}, {count(usage.get('tokens', 0), 'token')}, "
                 f"{money(usage.get('cost_usd', 0.0))}")
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
        lines.append(f"  {step}{where}: {count(done, 'item')} finished and kept; a resume runs the rest")
    for p in pending:
        lines.append(f"  waiting for approval at {p['step']} by {p['approver']}: {p['message']}")
    if row["outputs"] and row["outputs"] != "null":
        lines.append(f"  outputs: {row['outputs']}")
    return "\n".join(lines)


def result_json(result: RunResult, redactor: Redactor | None = None) -> str:
    payload = {
        "run_id": result.run_id, "pipeline": result.pipeline, "status": result.status,
        "exit_code": result.exit_code, "error": result.error, "outputs": result.outputs,
        "usage": result.usage.as_dict(),
        "duration_s": round((result.finished or time.monotonic()) - result.started, 3),
        "steps": {sid: {"status": s.status, "output": s.output, "error": s.error, "usage": s.usage.as_dict(),
                        "duration_s": round(s.duration_s, 3)} for sid, s in result.steps.items()},
    }
    return (redactor or Redactor(())).json(payload, indent=2)  # masks strings, never numbers or syntax


def ask_approval(request: ApprovalRequest) -> bool:
    """Show the context and ask, at the terminal."""
    sys.stderr.write(f"\napproval needed at step '{request.step}' ({request.approver}): {request.message}\n")
    for key, value in request.context.items():
        sys.stderr.write(f"  {key}: {json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value}\n")
    sys.stderr.write("approve? [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


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
