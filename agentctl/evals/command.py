"""`agentctl eval FILE` and `agentctl resume BATCH_ID`: compile, check the data (`--dry-run` stops
there), run the batch (or what is left of it), report from the journal. Returns what to print and
the exit code; the CLI only parses arguments and prints."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from agentctl.errors import (EXIT_BUDGET, EXIT_CHECKS, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, AgentctlError,
                             InvalidSpec, UsageError, writing)
from agentctl.evals.compile import CompiledEval, compile_eval, dry_run_problems


@dataclass
class EvalOutcome:
    text: str
    exit_code: int
    report: dict | None = None


@dataclass
class Options:
    """How to run a batch (stored with it: a resume runs the same way) and where to report."""

    replay: str | None = None
    record: str | None = None
    cache: str | None = None
    decision: bool | None = None
    shard: tuple[int, int] | None = None
    outputs: "Outputs" = field(default_factory=lambda: Outputs())
    otlp_endpoint: str | None = None
    role: str | None = None  # who runs the rows, for the pipeline's policy
    workers: int | None = None  # --workers N: a local Dask cluster (evals/cluster.py)
    cluster: str | None = None  # --cluster ADDRESS: an existing Dask scheduler
    chunk_rows: int = 500  # rows per chunk on a cluster

    def stored(self) -> dict:
        return {"replay": self.replay, "cache": self.cache, "decision": self.decision,
                "shard": list(self.shard) if self.shard else None, "role": self.role, "workers": self.workers,
                "cluster": self.cluster, "chunk_rows": self.chunk_rows}

    def check_cluster(self) -> None:
        """What a batch on a cluster cannot do, said before it starts."""
        if not (self.workers or self.cluster):
            return
        if self.workers and self.cluster:
            raise UsageError("--workers and --cluster cannot be used together",
                             "--workers N starts a local cluster; --cluster ADDRESS uses a running one")
        for flag, value in (("--cache", self.cache), ("--record", self.record)):
            if value:
                raise UsageError(f"{flag} cannot be used with --workers or --cluster",
                                 "each worker would write its own; run without the cluster to fill a cache or cassette")


@dataclass
class Outputs:
    json: str | None = None  # -o report.json
    junit: str | None = None
    format: str = "text"  # text, markdown or json (the report itself)
    baseline: str | None = None
    live: bool | None = None  # the live status line: None, on a terminal; False, a line per row (--no-live)


FORMATS = ("text", "markdown", "json")


def report_format(name: str) -> str:
    if name not in FORMATS:
        raise UsageError(f"--format {name}: use one of {', '.join(FORMATS)}")
    return name


def load(path: str, cwd: Path | None = None) -> CompiledEval:
    from agentctl.compile.project import display_path
    from agentctl.evals.data import rows

    file = (cwd or Path.cwd()) / path
    if not file.is_file():
        raise UsageError(f"{path} does not exist", "an eval file, e.g. evals/smoke.eval.yaml")
    compiled, diagnostics = compile_eval(file, display_path(file))
    if compiled is None:
        raise InvalidSpec(diagnostics, 1)
    if next(rows(compiled.data), None) is None:  # a pass rate of nothing would be no result at all
        raise AgentctlError(f"{compiled.data.name} has no rows", "a .jsonl file has one JSON object per line; a "
                            ".csv file a header line, then a row per line")
    return compiled


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    i, _, n = text.partition("/")
    if not (i.isdigit() and n.isdigit() and 1 <= int(i) <= int(n)):
        raise UsageError(f"--shard {text}: expected i/n with 1 <= i <= n", "e.g. --shard 2/4 for the second of four")
    return int(i), int(n)


def dry_run(compiled: CompiledEval) -> EvalOutcome:
    """Every row's inputs checked, all problems at once; then rows x repeat x worst case vs the budget."""
    from agentctl.dimensions import COUNTED
    from agentctl.evals.data import rows

    problems = dry_run_problems(compiled, lambda: rows(compiled.data))
    if problems:
        raise AgentctlError(f"{len(problems)} problem(s) in the data:\n  " + "\n  ".join(problems[:200]),
                            "fix the rows or the inputs: mapping of the eval file")
    count = sum(1 for _ in rows(compiled.data))
    runs = count * compiled.repeat
    worst = compiled.worst
    lines = [f"{compiled.path}: {count} rows x {compiled.repeat} = {runs} runs of {compiled.pipeline.path}; "
             "worst case of the whole batch:"]
    for d in COUNTED:
        each, limit = getattr(worst, d.name), getattr(compiled.limits, d.limit)
        total = None if each is None else each * runs
        budget = ""
        if limit is not None:
            over = ", worst case unknown" if total is None else ", reached" if total > limit else ""
            budget = f" (batch budget {d.format(limit)}{over})"
        lines.append(f"  {d.label}: {d.format(total)}{budget}")
    return EvalOutcome("\n".join(lines), EXIT_OK)


def pipeline_sha256(pipeline) -> str:
    """The pipeline and its prompts' content: a resume refuses a batch whose pipeline changed."""
    prompts = sorted((a.prompt.name, a.prompt.sha256) for a in pipeline.agents.values())
    return hashlib.sha256(json.dumps([pipeline.source_sha256, prompts]).encode()).hexdigest()


def run(compiled: CompiledEval, options: Options) -> EvalOutcome:
    """A new batch."""
    from agentctl import runs
    from agentctl.evals import compare
    from agentctl.evals import report as reporting

    if options.outputs.baseline:  # a baseline that cannot be read is found before the batch, not after it
        compare.load_report(options.outputs.baseline, compiled.pipeline.root)
    from agentctl.evals.data import sha256
    from agentctl.record.batches import start_batch
    from agentctl.run.permissions import run_role

    # Refused before a batch is recorded: a missing role, files a cluster's workers cannot get.
    options = replace(options, role=run_role(compiled.pipeline, options.role, compiled.pipeline.root))
    if options.workers or options.cluster:
        from agentctl.evals.chunks import shipped_paths

        shipped_paths(compiled, options.replay)
    journal = runs.journal_for(compiled.pipeline.root)
    try:
        batch_id = runs.new_id()
        stored = {**options.stored(), "data": _shown(compiled.data, Path(compiled.pipeline.root)),
                  "git_sha": reporting.git_sha(compiled.pipeline.root)}
        start_batch(journal, batch_id, compiled, sha256(compiled.data), pipeline_sha256(compiled.pipeline),
                    reporting.config_of(compiled, options.shard), stored)
    finally:
        journal.close()
    return execute(compiled, batch_id, options)


def _shown(path: Path, root: Path) -> str:
    """A data file as the batch records it: relative to the project, or where it is (data may live
    outside the project; only a cluster batch needs it inside, to ship it)."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def is_batch(root: Path, batch_id: str) -> bool:
    from agentctl import runs
    from agentctl.record.batches import is_batch as recorded

    if not (Path(root) / runs.JOURNAL).is_file():
        return False
    journal = runs.journal_for(root, read_only=True)
    try:
        return recorded(journal, batch_id)
    finally:
        journal.close()


def resume(batch_id: str, root: Path, force: bool, outputs: Outputs) -> EvalOutcome:
    """What is left of a batch: finished rows are not run again; a row cut off mid-run continues
    at the step level, as `agentctl resume RUN_ID` does."""
    from agentctl import runs
    from agentctl.evals.batch import Progress
    from agentctl.evals.data import sha256
    from agentctl.record import batches
    from agentctl.run.permissions import run_role

    journal = runs.journal_for(root, create=False)
    try:
        head = batches.batch(journal, batch_id)
        if head["status"] == "succeeded":
            raise UsageError(f"batch {batch_id} already finished; there is nothing to resume",
                             f"see its report with `agentctl eval show {batch_id}`")
        if head["status"] == "running" and runs.alive(head["options"].get("pid")):
            raise UsageError(f"batch {batch_id} is running in process {head['options']['pid']}")
        compiled = load(head["eval"], root)
        changed = [what for what, before, now in (
            (head["eval"], head["eval_sha256"], compiled.source_sha256),
            (head["options"].get("data") or str(compiled.data), head["data_sha256"], sha256(compiled.data)),
            (f"{compiled.pipeline.path} or its prompts", head["pipeline_sha256"], pipeline_sha256(compiled.pipeline)))
            if before != now]
        if changed and not force:
            raise AgentctlError(f"batch {batch_id} started from different content: "
                                + "; ".join(f"{what} changed" for what in changed),
                                "resume with --force to run the rest with the current files anyway")
        stored = head["options"]
        role = run_role(compiled.pipeline, stored.get("role"), root)  # still this person's, before reopening
        options = Options(stored.get("replay"), None, stored.get("cache"), stored.get("decision"),
                          tuple(stored["shard"]) if stored.get("shard") else None, outputs, role=role,
                          workers=stored.get("workers"), cluster=stored.get("cluster"),
                          chunk_rows=stored.get("chunk_rows") or 500)
        finished, running, spent = batches.progress(journal, batch_id)
        batches.reopen_batch(journal, batch_id)
    finally:
        journal.close()
    return execute(compiled, batch_id, options, Progress(finished, running, spent))


def execute(compiled: CompiledEval, batch_id: str, options: Options, progress=None) -> EvalOutcome:
    """The batch's rows, as `options.role` (checked by run and resume before the batch was recorded
    or reopened)."""
    from agentctl.record.journal_db import JournalError

    try:
        return _execute(compiled, batch_id, options, progress)
    except JournalError as error:  # every row committed before is kept
        raise error.resumed_by(batch_id) from None


def _execute(compiled: CompiledEval, batch_id: str, options: Options, progress=None) -> EvalOutcome:
    from agentctl import api, interrupts, runs
    from agentctl.evals import report as reporting
    from agentctl.evals.batch import Batch, SharedTools
    from agentctl.evals.live import BatchView
    from agentctl.evals.tracing import BatchTraces
    from agentctl.record.batches import set_pid
    from agentctl.record.redact import Redactor
    from agentctl.run.approvals import FixedApprover
    from agentctl.tools.registry import build_tools

    pipeline = compiled.pipeline
    if options.workers or options.cluster:
        return on_cluster(compiled, batch_id, options, progress)
    model = api.make_model(api.RunOptions(replay=options.replay, record=options.record), pipeline)
    if options.cache:
        from agentctl.llm.cache import CachedModel, context_of

        api.check_writable("--cache", Path(options.cache), folder=True)
        model = CachedModel(model, Path(options.cache), context_of(pipeline), Redactor.for_pipeline(pipeline).value)
    journal = runs.journal_for(pipeline.root)
    journal.redact = Redactor.for_pipeline(pipeline)
    batch = Batch(compiled, model, SharedTools(build_tools(pipeline)), journal, FixedApprover(options.decision), batch_id,
                  options.shard, progress, options.role)
    batch.traces = BatchTraces(pipeline.root, batch_id, journal.redact, options.otlp_endpoint)
    view = BatchView(compiled, batch, options.outputs.live)
    set_pid(journal, batch_id, os.getpid())
    # What is loaded by now (litellm, the compiled pipeline) lives for the whole batch: collections
    # skip it. Without this, a 10,000-row batch spent a tenth of its time in the cyclic collector.
    gc.freeze()
    try:
        status = asyncio.run(interrupts.stopped_by_signals(_run_shown(batch, view)))
    except (KeyboardInterrupt, asyncio.CancelledError):  # Ctrl-C, SIGTERM, SIGHUP: the rows so far are reported
        status = "interrupted"
    except BaseException:
        journal.close()
        raise
    finally:
        gc.unfreeze()
    try:
        report = reporting.from_journal(journal, batch_id)
    finally:
        journal.close()
    outcome = outcome_of(report, status, options.outputs, journal.redact, pipeline.root)
    if options.cache:
        outcome.text += "\n  " + model.summary()
    return outcome


def on_cluster(compiled: CompiledEval, batch_id: str, options: Options, progress=None) -> EvalOutcome:
    """The batch's rows in chunks on Dask (evals/cluster.py), recorded in the project journal as
    they finish; then the same report as a batch run in this process."""
    from agentctl import console, interrupts, runs
    from agentctl.evals import report as reporting
    from agentctl.evals.batch import Progress
    from agentctl.evals.live import expected_runs
    from agentctl.record.batches import finish_batch, set_pid
    from agentctl.record.redact import Redactor

    try:
        from agentctl.evals import cluster
    except ImportError:
        raise UsageError("--workers and --cluster need Dask distributed, which is not installed",
                         "pip install 'agentctl[cluster]'") from None
    journal = runs.journal_for(compiled.pipeline.root)
    journal.redact = Redactor.for_pipeline(compiled.pipeline)
    set_pid(journal, batch_id, os.getpid())
    status = "interrupted"
    started, recorded = time.monotonic(), 0

    def said(spec, result) -> None:
        nonlocal recorded
        recorded += result["rows"]
        rate = recorded / max(time.monotonic() - started, 1e-9)
        console.print_note(f"chunk {spec.index}: {result['rows']} rows recorded ({recorded} in all, {rate:.1f} rows/s)")
        for problem in result["trace_problems"]:
            console.print_warning(f"trace not exported by a worker: {problem} (kept in the batch's trace file)")

    progress = progress or Progress()
    where = (f"a local cluster of {options.workers} workers" if options.workers
             else f"the Dask cluster at {options.cluster}")
    rows = expected_runs(compiled, options.shard, len(progress.finished))
    console.print_note(f"batch {batch_id}: {rows} rows in chunks of {options.chunk_rows} on {where}; "
                       "each chunk is recorded when it finishes")
    with interrupts.interrupted_by_signals():
        try:
            status = cluster.run_batch(compiled, batch_id, options, journal, progress, said)
        except KeyboardInterrupt:
            pass
        finally:
            finish_batch(journal, batch_id, status)
            report = reporting.from_journal(journal, batch_id)
            journal.close()
    return outcome_of(report, status, options.outputs, journal.redact, compiled.pipeline.root)


def outcome_of(report: dict, status: str, outputs: Outputs, redact, root: str | None = None) -> EvalOutcome:
    from agentctl.evals import compare
    from agentctl.evals import report as reporting

    delta = compare.compare(compare.load_report(outputs.baseline, root), report) if outputs.baseline else None
    if outputs.format == "json":
        text = reporting.as_json({**report, "compare": delta} if delta else report).rstrip("\n")
    elif outputs.format == "markdown":
        text = reporting.as_markdown(report) + (compare.as_markdown(delta) if delta else "")
    else:
        text = reporting.as_text(report) + ("\n" + compare.as_text(delta) if delta else "")
    if status == "interrupted" and outputs.format != "json":
        text += f"\n  interrupted: continue with `agentctl resume {report['batch_id']}`"
    write_files(report, outputs, redact)
    return EvalOutcome(redact.text(text), exit_code(report, status), report)


def write_files(report: dict, outputs: Outputs, redact) -> None:
    from agentctl.evals import report as reporting

    for path, render in ((outputs.json, reporting.as_json), (outputs.junit, reporting.as_junit)):
        if path:
            with writing(path):
                Path(path).write_text(redact.text(render(report)), encoding="utf-8")


async def _run_shown(batch, view) -> str:
    from agentctl import console

    try:
        with view:
            return await batch.run()
    finally:
        for problem in await batch.close():
            console.print_warning(f"trace not exported: {problem} (kept in {batch.traces.path})")


def exit_code(report: dict, status: str) -> int:
    from agentctl.evals import report as reporting

    if status == "interrupted":
        return EXIT_INTERRUPTED
    if status == "budget_exceeded":
        return EXIT_BUDGET
    if reporting.error_rate_exceeded(report):
        return EXIT_FAILED
    return EXIT_CHECKS if report["missed"] else EXIT_OK
