"""Journaled runs as plain functions: run one (journal, trace), plan a resume, answer approvals,
read the journal. Every SQL statement is the Journal's; this module holds none.

State lives in the journal (.agentctl/journal.db under the project root), not in the process:
any run can be continued by a later process, on this machine or in a container with the same
project mounted.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from agentctl.compile.ir import CompiledPipeline
from agentctl.dimensions import BY_LIMIT, Usage
from agentctl.errors import AgentctlError, UsageError
from agentctl.run.evaluate import not_restored

JOURNAL = Path(".agentctl") / "journal.db"
TRACES = Path(".agentctl") / "traces"
_DONE = ("succeeded", "skipped", "denied")


def journal_for(root: str | Path, create: bool = True, read_only: bool = False):
    """The project's journal; with create=False, a UsageError when there is none yet; read_only
    for commands that only read it (they work in a folder that cannot be written)."""
    from agentctl.record.journal import Journal

    path = Path(root) / JOURNAL
    if not create and not path.is_file():
        raise UsageError(f"no runs recorded in {root}", "runs are recorded by `agentctl run` in .agentctl/journal.db")
    return Journal(path, read_only=read_only)


def new_id() -> str:
    """A run's (or a batch's) id: 12 hex digits."""
    import uuid

    return uuid.uuid4().hex[:12]


def alive(pid: int | None) -> bool:
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
    tools: Any
    model: Any
    role: str | None = None  # who runs it, for the pipeline's policy (run/permissions.py)


@dataclass
class TraceOptions:
    content: bool = False  # record prompts and completions (redacted) on chat spans
    endpoint: str | None = None  # --otlp-endpoint; else the OTEL_EXPORTER_OTLP_* variables


@dataclass
class Continuation:
    """What a resumed run starts from: its id, the committed results, what it already spent."""

    run_id: str
    restored: dict = field(default_factory=dict)
    spent: Usage | None = None
    answers: dict = field(default_factory=dict)  # model answers already paid for, by (work, index)
    trace: tuple[int, int] | None = None  # (trace id, root span id) of the run's first attempt


def execute(prepared: Prepared, approver, subscribers=(), concurrency: int = 8,
            continuation: Continuation | None = None, trace: TraceOptions | None = None):
    """Run (or continue) a journaled, traced run to its end or to a stop; returns the RunResult.

    The journal subscribes first and commits synchronously: a result is on disk before its
    dependents start and before the progress display or the tracer hear of it."""
    import asyncio

    from agentctl import interrupts
    from agentctl.record.journal_db import JournalError
    from agentctl.record.redact import Redactor

    pipeline, trace = prepared.pipeline, trace or TraceOptions()
    cont = continuation or Continuation(new_id())
    journal = journal_for(pipeline.root)
    journal.redact = Redactor.for_pipeline(pipeline)
    tracer = run_tracer(pipeline, cont, journal, trace.content)
    try:
        executor = journaled_executor(prepared, approver, journal, cont, (tracer, *subscribers) if tracer else subscribers,
                                      concurrency)
        remember_trace(journal, cont, tracer)
        try:
            return asyncio.run(interrupts.stopped_by_signals(executor.run()))
        except (KeyboardInterrupt, asyncio.CancelledError):  # journaled as interrupted by the executor
            return executor.result
        except JournalError as error:  # the run is in the journal, with every step committed before
            raise error.resumed_by(cont.run_id) from None
    finally:
        journal.close()
        if tracer is not None:
            export_trace(tracer, pipeline.root, cont.run_id, trace)


def run_tracer(pipeline, cont: Continuation, journal, content: bool = False):
    """The run's tracer (None under OTEL_SDK_DISABLED): a continuation joins the first attempt's trace."""
    from agentctl.record.otel_config import disabled
    from agentctl.record.tracer import RunTracer

    if disabled():
        return None
    return RunTracer(pipeline, cont.run_id, journal.redact, content=content, continues=cont.trace)


def remember_trace(journal, cont: Continuation, tracer) -> None:
    """After the run is in the journal: a new run's trace, for the continuations to come."""
    if tracer is not None and cont.trace is None:
        journal.set_trace(cont.run_id, tracer.trace_id, tracer.root_id)


def journaled_executor(prepared: Prepared, approver, journal, cont: Continuation, subscribers=(),
                       concurrency: int = 8):
    """An Executor whose run is recorded in `journal` (started there now); `eval` runs many of
    these on one event loop and one journal."""
    from agentctl.record.approvals import JournalApprover
    from agentctl.record.recorder import JournalRecorder
    from agentctl.run.answers import JournaledAnswers
    from agentctl.run.events import EventBus
    from agentctl.run.executor import Executor

    journal.start_run(cont.run_id, prepared.pipeline, prepared.inputs, os.getpid(), prepared.role)
    events = EventBus()
    for subscriber in (JournalRecorder(journal, cont.run_id), *subscribers):
        events.subscribe(subscriber)
    return Executor(prepared.pipeline, prepared.model, inputs=prepared.inputs, tools=prepared.tools, events=events,
                    approver=JournalApprover(approver, journal, cont.run_id), concurrency=concurrency,
                    run_id=cont.run_id, restored=cont.restored, spent=cont.spent,
                    answers=JournaledAnswers(cont.answers),
                    memory=lambda key, tool, args: journal.journaled_call(cont.run_id, key, tool, args),
                    role=prepared.role)


def export_trace(tracer, root: str, run_id: str, options: TraceOptions) -> None:
    """The OTLP-JSON file always; a collector when configured. Problems are reported, not raised."""
    from agentctl import console
    from agentctl.files import write_whole
    from agentctl.record import otel_config, otel_export

    records = tracer.records()
    if not records:
        return
    path = Path(root) / TRACES / f"{run_id}-{int(time.time() * 1000)}.json"
    try:
        write_whole(path, otel_export.otlp_json(records, tracer.trace_id, tracer.resource, tracer.scope))
    except OSError as exc:
        console.print_warning(f"could not write the trace file {path}: {exc}")
    collector = otel_config.collector(options.endpoint)
    if collector is not None:
        problem = otel_export.send(tracer.spans(), collector)
        if problem:
            console.print_warning(f"trace not exported: {problem} (kept in {path})")


def trace_files(root: str | Path, run_id: str) -> list[Path]:
    return sorted((Path(root) / TRACES).glob(f"{run_id}-*.json"))


def trace_documents(root: str | Path, run_id: str) -> list[dict]:
    """The OTLP/JSON documents of a run, one per attempt (a resume adds one)."""
    from agentctl.evals.tracing import documents_of

    try:
        documents = [json.loads(f.read_text(encoding="utf-8")) for f in trace_files(root, run_id)]
        documents += documents_of(root, run_id)  # a run of an eval batch: in the batch's file
    except (OSError, ValueError) as exc:
        raise AgentctlError(f"cannot read the trace of run {run_id}: {exc}") from None
    if not documents:
        raise UsageError(f"no trace for run {run_id}", "traces are written to .agentctl/traces/ by every run")
    return documents


@dataclass
class ResumePlan:
    prepared: Prepared
    continuation: Continuation
    changed: list[str]  # what changed since the run started (resumed anyway with force)


def plan_resume(run_id: str, root: Path, make_model, force: bool = False,
                budget: list[str] | None = None) -> ResumePlan:
    """What to continue from: the committed steps, the usage already spent, the same inputs.

    Refuses a pipeline or prompt whose content changed since the run started (unless force).
    Takes the run for this process last, atomically (Journal.claim): of two resumes started at
    once, one continues and the other is told which process holds the run.
    """
    from agentctl import api
    from agentctl.run.permissions import run_role
    from agentctl.tools.registry import build_tools

    journal = journal_for(root, create=False)
    try:
        row = journal.run(run_id)
        _check_resumable(run_id, root, row)
        path = Path(row["path"]) if Path(row["path"]).is_absolute() else Path(row["root"]) / row["path"]
        compiled = api.compile_file(str(path)).pipeline
        if compiled is None:
            raise AgentctlError(f"{row['path']} no longer compiles", f"run `agentctl validate {row['path']}`")
        changed = _changes(row, compiled)
        if changed and not force:
            raise AgentctlError(f"run {run_id} started from different content: " + "; ".join(changed),
                                "resume with --force to continue with the current files anyway")
        compiled = with_budget(compiled, budget or [])
        inputs = json.loads(row["inputs"] or "{}")
        role = run_role(compiled, row["role"], root)  # the role it started with, still the person's
        prepared = Prepared(compiled, inputs, build_tools(compiled), make_model(compiled), role)
        journal.claim(run_id, os.getpid(), lambda now: _check_resumable(run_id, root, now))
        cont = continuation(journal, run_id)
    finally:
        journal.close()
    return ResumePlan(prepared, cont, changed)


def continuation(journal, run_id: str) -> Continuation:
    """Where a stopped run continues from: its committed steps and fan-out items, what it spent,
    the model answers it already paid for. A run the journal does not have (a batch row recorded
    with its run id, then kill -9 before the run's own record) starts from nothing."""
    row = journal.run(run_id)
    if row is None:
        return Continuation(run_id)
    restored: dict[tuple, Any] = {(s.step, s.scope): _restorable(s) for s in journal.steps(run_id)
                                  if s.status in _DONE}
    for key, item in journal.items(run_id).items():  # items of a fan-out that had not finished
        restored[key] = not_restored(key[0]) if item.redacted else item.output
    spent = Usage.from_dict(json.loads(row["usage"] or "{}"))
    return Continuation(run_id, restored, spent, journal.answers(run_id), _trace_of(row))


def _trace_of(row) -> tuple[int, int] | None:
    try:
        trace = json.loads(row["trace"] or "null")
    except (IndexError, ValueError):
        return None
    return (int(trace["trace_id"], 16), int(trace["root"], 16)) if trace else None


def _restorable(record):
    """A committed step as a resume gives it back: as it was, or, when its output held a secret
    (masked on disk), a value that fails whatever reads it, naming the step."""
    return replace(record, output=not_restored(record.step)) if record.redacted else record


def _check_resumable(run_id: str, root: Path, row) -> None:
    if row is None:
        raise UsageError(f"no run {run_id} in {root / JOURNAL}", "list runs with `agentctl runs list`")
    if row["status"] == "succeeded":
        raise UsageError(f"run {run_id} already succeeded; there is nothing to resume")
    if row["status"] == "running" and alive(row["pid"]):
        raise UsageError(f"run {run_id} is running in process {row['pid']} (started or resumed there)",
                         "wait for it to finish, or stop it (Ctrl-C) before resuming")


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


def with_budget(compiled: CompiledPipeline, overrides: list[str]) -> CompiledPipeline:
    """`--budget max_cost_usd=2`: raise (or set) run limits for a resumed run."""
    values = {}
    for item in overrides:
        key, _, raw = item.partition("=")
        if key not in BY_LIMIT:
            raise UsageError(f"--budget {item}: unknown budget '{key}'", f"one of: {', '.join(BY_LIMIT)}")
        try:
            values[key] = BY_LIMIT[key].parse(raw)
        except ValueError as exc:
            raise UsageError(f"--budget {item}: '{raw}' is not a valid {key} ({exc})") from None
    return replace(compiled, limits=replace(compiled.limits, **values)) if values else compiled


def answer(run_id: str, root: Path, approved: bool, step: str | None, role: str = "human") -> list[str]:
    """Record a person's answer, as `role`, to a paused run's pending approvals (of one step, or
    all): refused when the approval names another role, or roles.yaml does not list the user."""
    from agentctl.record.roles import check_answer, os_user

    journal = journal_for(root, create=False)
    try:
        if journal.run(run_id) is None:
            raise UsageError(f"no run {run_id} in {root / JOURNAL}")
        pending = [r for r in journal.pending_approvals(run_id) if step is None or r["step"] == step]
        if not pending:
            where = f" at step '{step}'" if step else ""
            raise UsageError(f"run {run_id} has no pending approval{where}")
        user = os_user()
        for row in pending:  # every answer checked before any is recorded
            check_answer(root, role, row["approver"] or "human", row["step"], user)
        for row in pending:
            journal.decide(run_id, row["step"], row["subject"], approved,
                           f"{user} as {role} (agentctl {'approve' if approved else 'deny'})")
        return sorted({r["step"] for r in pending})
    finally:
        journal.close()


def list_runs(root: Path, pipeline: str | None, status: str | None, limit: int) -> list | None:
    """The newest runs first; None when nothing was ever recorded here."""
    if not (root / JOURNAL).is_file():
        return None
    journal = journal_for(root, read_only=True)
    try:
        # A run whose process died (kill -9, a lost machine) is stored as running: read as interrupted.
        stored = ("running", "interrupted") if status in ("running", "interrupted") else (status,) if status else ()
        rows = [as_found(row) for row in journal.runs(pipeline, stored, limit)]
    finally:
        journal.close()
    return [row for row in rows if status is None or row["status"] == status][:limit]


def as_found(row) -> dict:
    """A run's row as it is now: `running` whose process is gone reads as `interrupted`."""
    found = dict(row)
    if found["status"] == "running" and not alive(found["pid"]) and found["pid"] != os.getpid():
        found["status"], found["exit_reason"] = "interrupted", f"its process ({found['pid']}) is gone"
    return found


@dataclass
class RunRecord:
    row: Any
    steps: list
    pending: list
    items: dict


def show_run(root: Path, run_id: str) -> RunRecord:
    journal = journal_for(root, create=False, read_only=True)
    try:
        row = journal.run(run_id)
        if row is None:
            raise UsageError(f"no run {run_id}", "list runs with `agentctl runs list`")
        return RunRecord(as_found(row), journal.steps(run_id), journal.pending_approvals(run_id), journal.items(run_id))
    finally:
        journal.close()


def audit_text(root: Path, run_id: str, as_json: bool) -> str:
    """`runs show --audit`: the run's permission decisions (record/audit.py), as text or JSON."""
    from agentctl.record import audit

    journal = journal_for(root, create=False, read_only=True)
    try:
        if journal.run(run_id) is None:
            raise UsageError(f"no run {run_id}", "list runs with `agentctl runs list`")
        found = audit.decisions(journal, run_id)
    finally:
        journal.close()
    return audit.as_json(run_id, found) if as_json else audit.as_text(run_id, found)
