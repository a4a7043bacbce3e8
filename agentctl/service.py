"""`run`, `resume`, `approve` and `deny` as the command line calls them: one function each, which
wires the progress display, the approver and the redactor around runs.execute and returns what
to print and the exit code. The CLI only parses arguments and prints.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from agentctl import api, console, run_display, runs
from agentctl.errors import UsageError


@dataclass
class RunSettings:
    decision: bool | None = None  # --approve / --deny; None: ask at a terminal, else pause
    json: bool = False
    concurrency: int = 8
    trace: runs.TraceOptions = field(default_factory=runs.TraceOptions)
    live: bool | None = None  # the live table; None: when stderr is a terminal
    events: str | None = None  # --events FILE or - (stdout): a JSON line per event
    width: int | None = None  # the summary's terminal width; None: not a terminal, every column


@dataclass
class RunOutcome:
    text: str  # the summary (or --json), redacted
    exit_code: int
    result: object  # the RunResult


def run(pipeline: str, options: api.RunOptions, settings: RunSettings, cwd: Path | None = None) -> RunOutcome:
    """Compile, check inputs and tools, run with live progress. Raises InvalidSpec, UsageError."""
    if settings.events == "-" and settings.json:
        raise UsageError("--json and --events - both write to stdout",
                         "write the events to a file (--events FILE), or leave out --json: the last event, "
                         "RunFinished, carries the run's status, usage and outputs")
    return _execute(api.prepare_run(pipeline, options, cwd), settings)


def resume(run_id: str, root: Path, settings: RunSettings, replay: str | None = None, force: bool = False,
           budget: list[str] | None = None) -> RunOutcome:
    plan = runs.plan_resume(run_id, root, lambda pipeline: api.make_model(api.RunOptions(replay=replay), pipeline),
                            force, budget)
    return _execute(plan.prepared, settings, plan.continuation)


def answer(run_id: str, root: Path, approved: bool, step: str | None, settings: RunSettings,
           replay: str | None = None, role: str = "human") -> RunOutcome:
    """Record the answer (given as `role`) to a paused run's approvals, then continue the run."""
    steps = runs.answer(run_id, root, approved, step, role)
    console.print_note(f"{'approved' if approved else 'denied'}: {', '.join(steps)}; continuing run {run_id}")
    return resume(run_id, root, settings, replay)


def _execute(prepared: runs.Prepared, settings: RunSettings,
             continuation: runs.Continuation | None = None) -> RunOutcome:
    from agentctl.record.redact import Redactor
    from agentctl.run.approvals import FixedApprover, PromptApprover

    redactor = Redactor.for_pipeline(prepared.pipeline)  # secrets reach no output either
    progress = console.LiveProgress(run_display.Progress(prepared.pipeline), redactor.text, settings.live)
    subscribers: list = [progress]
    if settings.events:
        from agentctl.record.event_log import EventLog

        try:
            subscribers.append(EventLog(settings.events, redactor))
        except OSError as exc:
            raise UsageError(f"--events {settings.events}: {exc.strerror}") from None
    with progress:
        if settings.decision is None and sys.stdin.isatty() and sys.stderr.isatty():  # where the question shows
            approver = PromptApprover(progress.ask)
        else:
            approver = FixedApprover(settings.decision)
        try:
            result = runs.execute(prepared, approver, subscribers, settings.concurrency, continuation, settings.trace)
        finally:
            for subscriber in subscribers[1:]:
                subscriber.close()
    if settings.json:
        text = run_display.result_json(result, redactor)
    else:
        text = redactor.text(run_display.summary_text(result, prepared.pipeline, settings.width))
    return RunOutcome(text, result.exit_code, result)
