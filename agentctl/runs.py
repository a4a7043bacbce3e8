"""Runs as plain functions: start one (journaled), resume one, answer its approvals, list them.

State lives in the journal (.agentctl/journal.db under the project root), not in the process:
any run can be continued by a later process, on this machine or in a container with the same
project mounted.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentctl.compile.ir import CompiledPipeline, Limits
from agentctl.errors import AgentctlError, UsageError

JOURNAL = Path(".agentctl") / "journal.db"
_RESUMABLE = ("running", "failed", "budget_exceeded", "paused", "interrupted")
_DONE = ("succeeded", "skipped", "denied")


def journal_for(root: str | Path, create: bool = True):
    """The project's journal; with create=False, a UsageError when there is none yet."""
    from agentctl.record.journal import Journal

    path = Path(root) / JOURNAL
    if not create and not path.is_file():
        raise UsageError(f"no runs recorded in {root}", "runs are recorded by `agentctl run` in .agentctl/journal.db")
    return Journal(path)


def _alive(pid: int | None) -> bool:
    if not pid or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Prepared:
    """Everything a run needs, checked, before the first token."""

    pipeline: CompiledPipeline
    inputs: dict
    tools: dict
    model: Any


@dataclass
class TraceOptions:
    content: bool = False  # record prompts and completions (redacted) on chat spans
    endpoint: str | None = None  # --otlp-endpoint; else the OTEL_EXPORTER_OTLP_* variables


def execute(prepared: Prepared, approver, events, concurrency: int = 8, run_id: str | None = None,
            restored: dict | None = None, spent=None, trace: TraceOptions | None = None):
    """Run (or continue) a journaled, traced run to its end or to a stop; returns the RunResult."""
    import asyncio
    import uuid

    from agentctl.record.approvals import JournalApprover
    from agentctl.record.redact import Redactor
    from agentctl.record.tracer import RunTracer
    from agentctl.run.executor import Executor
    from agentctl.run.idle import IdleWork, loop_factory

    pipeline = prepared.pipeline
    run_id = run_id or uuid.uuid4().hex[:12]
    journal = journal_for(pipeline.root)
    journal.redact = Redactor.for_pipeline(pipeline)
    journal.start_run(run_id, pipeline, prepared.inputs, os.getpid())
    idle = IdleWork()
    tracer = RunTracer(pipeline, run_id, journal.redact, content=(trace or TraceOptions()).content, idle=idle)
    closer = _JournalCloser(journal)
    bus, gate = _recorded_events(journal, run_id, idle, [closer, tracer, *(events.subscribers if events else [])])
    executor = Executor(pipeline, prepared.model, inputs=prepared.inputs, tools=prepared.tools, events=bus,
                        approver=JournalApprover(approver, journal, run_id), concurrency=concurrency, run_id=run_id,
                        restored=restored, memory=lambda key, tool, args: journal.journaled_call(run_id, key, tool, args), spent=spent)
    try:
        with asyncio.Runner(loop_factory=loop_factory(idle)) as runner:
            return runner.run(executor.run())
    except KeyboardInterrupt:
        executor.stop("interrupted", "interrupted by Ctrl-C")
        gate.flush()
        if not closer.closing:  # else the run's end, as interrupted, is already written
            journal.finish_run(run_id, "interrupted", "interrupted by Ctrl-C", None, executor.budget.used.as_dict())
        return executor.result
    finally:
        try:
            gate.flush()  # results still waiting (the run crashed): committed, then heard
        finally:
            closer.close_while(lambda: export_trace(tracer, pipeline.root, run_id, trace or TraceOptions()))


def _recorded_events(journal, run_id: str, idle, subscribers: list):
    """The engine's event bus: every event to the journal at once, and to `subscribers` once what
    it led to is committed (step results wait for an idle moment of the loop, see recorder.py)."""
    from agentctl.record.recorder import CommitBeforeReport, JournalRecorder
    from agentctl.run.events import EventBus

    gate = CommitBeforeReport(journal, JournalRecorder(journal, run_id), idle)
    for subscriber in subscribers:
        gate.subscribe(subscriber)
    bus = EventBus()
    bus.subscribe(gate)
    return bus, gate


class _JournalCloser:
    """Closes the journal on a thread as soon as the run's end is written (it is subscribed after
    the recorder): the WAL checkpoint and its disk syncs then overlap the event loop's shutdown and
    the trace export, which need the CPU (sqlite releases the GIL while it closes). sleep(0) hands
    the GIL to the closing thread at once; otherwise it waits for the caller to let go, up to the
    5 ms switch interval. Median of 30 interleaved 50-step runs: 5.2 ms one after the other, 4.0 ms
    overlapped with the export; starting at the run's end also hides the loop's ~1 ms shutdown."""

    def __init__(self, journal) -> None:
        self.journal = journal
        self.thread = None
        self.failure: BaseException | None = None

    def __call__(self, event) -> None:
        if event.kind == "run_finished":
            self.start()

    @property
    def closing(self) -> bool:
        return self.thread is not None

    def start(self) -> None:
        import threading
        import time

        if self.thread is None:
            self.thread = threading.Thread(target=self._close, name="agentctl-journal-close")
            self.thread.start()
            time.sleep(0)

    def _close(self) -> None:
        try:
            self.journal.close()
        except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread, not printed here
            self.failure = exc

    def close_while(self, work) -> None:
        self.start()
        try:
            work()
        finally:
            self.thread.join()
        if self.failure is not None:
            raise self.failure


TRACES = Path(".agentctl") / "traces"


def export_trace(tracer, root: str, run_id: str, options: TraceOptions) -> None:
    """The OTLP-JSON file always; a collector when configured. Problems are reported, not raised."""
    import sys
    import time

    from agentctl.record import otel_export

    records = tracer.records()
    if not records:
        return
    path = Path(root) / TRACES / f"{run_id}-{int(time.time() * 1000)}.json"
    try:
        otel_export.write_file(path, otel_export.otlp_json(records, tracer.trace_id, tracer.resource, tracer.scope))
    except OSError as exc:
        sys.stderr.write(f"warning: could not write the trace file {path}: {exc}\n")
    settings = otel_export.collector_settings(options.endpoint)
    if settings is not None:
        problem = otel_export.send(tracer.spans(), *settings)
        if problem:
            sys.stderr.write(f"warning: trace not exported to {settings[0]}: {problem} (kept in {path})\n")


def trace_files(root: str | Path, run_id: str) -> list[Path]:
    return sorted((Path(root) / TRACES).glob(f"{run_id}-*.json"))


@dataclass
class ResumePlan:
    prepared: Prepared
    run_id: str
    restored: dict
    spent: Any
    changed: list[str]


def plan_resume(run_id: str, root: Path, options, force: bool = False, budget: list[str] | None = None) -> ResumePlan:
    """What to continue from: the committed steps, the usage already spent, the same inputs.

    Refuses a pipeline or prompt whose content changed since the run started (unless force).
    """
    from agentctl import api

    journal = journal_for(root, create=False)
    try:
        row = journal.run(run_id)
        if row is None:
            raise UsageError(f"no run {run_id} in {root / JOURNAL}", "list runs with `agentctl runs list`")
        if row["status"] == "succeeded":
            raise UsageError(f"run {run_id} already succeeded; there is nothing to resume")
        if row["status"] == "running" and _alive(row["pid"]):
            raise UsageError(f"run {run_id} is still running (process {row['pid']})",
                             "wait for it to finish, or stop it (Ctrl-C) before resuming")
        path = Path(row["path"]) if Path(row["path"]).is_absolute() else Path(row["root"]) / row["path"]
        compiled, checked = api.compile_file(str(path))
        if compiled is None:
            raise AgentctlError(f"{row['path']} no longer compiles: {checked.errors} error(s)",
                                f"run `agentctl validate {row['path']}`")
        changed = _changes(row, compiled)
        if changed and not force:
            raise AgentctlError(f"run {run_id} started from different content: " + "; ".join(changed),
                                "resume with --force to continue with the current files anyway")
        compiled = _with_budget(compiled, budget or [])
        inputs = json.loads(row["inputs"] or "{}")
        restored: dict[tuple, Any] = {(s.step, s.scope): s for s in journal.steps(run_id) if s.status in _DONE}
        restored.update(journal.items(run_id))  # items of a fan-out that had not finished
        spent = _spent(journal, run_id)
    finally:
        journal.close()
    from agentctl.tools.registry import build_tools

    prepared = Prepared(compiled, inputs, build_tools(compiled), api.make_model(options))
    return ResumePlan(prepared, run_id, restored, spent, changed)


def _changes(row, compiled: CompiledPipeline) -> list[str]:
    changed = []
    if row["source_sha256"] != compiled.source_sha256:
        changed.append(f"{row['path']} changed")
    before = json.loads(row["prompts"] or "{}")
    now = {a.prompt.name: {"version": a.prompt.version, "sha256": a.prompt.sha256} for a in compiled.agents.values()}
    for name in sorted(set(before) | set(now)):
        if before.get(name) != now.get(name):
            changed.append(f"prompt {name} changed")
    return changed


def _spent(journal, run_id: str):
    """What the run spent before it stopped, from every attempt and tool call journaled."""
    from agentctl.run.budget import Usage

    usage = Usage()
    for attempt in journal.attempts(run_id):
        if attempt["state"] == "succeeded":
            usage.llm_calls += 1
            usage.tokens += (attempt["input_tokens"] or 0) + (attempt["output_tokens"] or 0)
            usage.cost_usd += attempt["cost_usd"] or 0.0
    usage.tool_calls = journal.db.execute("SELECT COUNT(*) FROM tool_calls WHERE run_id = ?", (run_id,)).fetchone()[0]
    usage.steps = journal.db.execute("SELECT COUNT(*) FROM steps WHERE run_id = ? AND status != 'skipped'",
                                     (run_id,)).fetchone()[0]
    return usage


def _with_budget(compiled: CompiledPipeline, overrides: list[str]) -> CompiledPipeline:
    """`--budget max_cost_usd=2`: raise (or set) run limits for a resumed run."""
    from dataclasses import replace

    values = {}
    for item in overrides:
        key, _, raw = item.partition("=")
        if key not in Limits.DIMENSIONS:
            raise UsageError(f"--budget {item}: unknown budget '{key}'", f"one of: {', '.join(Limits.DIMENSIONS)}")
        try:
            values[key] = float(raw) if key in ("max_cost_usd", "max_wall_s") else int(raw)
        except ValueError:
            raise UsageError(f"--budget {item}: '{raw}' is not a number") from None
    return replace(compiled, limits=replace(compiled.limits, **values)) if values else compiled


def answer(run_id: str, root: Path, approved: bool, step: str | None) -> list[str]:
    """Record a human's answer to a paused run's pending approvals (of one step, or all)."""
    journal = journal_for(root, create=False)
    try:
        if journal.run(run_id) is None:
            raise UsageError(f"no run {run_id} in {root / JOURNAL}")
        pending = [r for r in journal.pending_approvals(run_id) if step is None or r["step"] == step]
        if not pending:
            where = f" at step '{step}'" if step else ""
            raise UsageError(f"run {run_id} has no pending approval{where}")
        for row in pending:
            journal.decide(run_id, row["step"], row["subject"], approved, "agentctl approve" if approved else "agentctl deny")
        return sorted({r["step"] for r in pending})
    finally:
        journal.close()
