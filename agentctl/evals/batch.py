"""Running an eval: every row (times `repeat`) as a journaled run on one event loop, at most
`concurrency` in flight, each checked, each recorded in the journal's batch tables.

The batch budget is kept by admission: a row starts only while the budget still covers its
pipeline's worst case (the compiled bounds) on top of what finished rows spent and what the rows
in flight may spend; a row that does not fit waits for rows in flight, and when nothing is in
flight and it still does not fit, the batch stops (budget spent). Checking a shared budget per
model call instead failed rows that could not reserve while most of the budget was unspent.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

from agentctl.dimensions import COUNTED, Usage
from agentctl.evals.compile import CompiledEval
from agentctl.evals.checks import check_row, context_of
from agentctl.evals.data import mapped_inputs, row_id, rows
from agentctl.record.journal_db import JournalError
from agentctl.runs import new_id
from agentctl.tools.registry import Tools


@dataclass
class Admission:
    """The batch budget: worst cases of rows in flight held, real usage of finished rows counted."""

    limits: Any
    worst: Any  # the pipeline's Bounds
    used: Usage = field(default_factory=Usage)
    held: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    spent: bool = False

    def _fits(self, extra_rows: int) -> bool:
        for d in COUNTED:
            limit, worst = getattr(self.limits, d.limit), getattr(self.worst, d.name)
            if limit is not None and (worst is None or getattr(self.used, d.name) + extra_rows * worst > limit):
                return False
        return True

    async def admit(self) -> bool:
        while not self._fits(self.held + 1):
            if self.held == 0:
                self.spent = True
                return False
            self.changed.clear()
            await self.changed.wait()
        self.held += 1
        return True

    def release(self, usage: Usage) -> None:
        self.held -= 1
        self.used.add(usage)
        self.changed.set()


@dataclass
class Progress:
    """What a resumed batch starts from (record/batches.progress): rows finished, runs cut off."""

    finished: set = field(default_factory=set)  # (row_id, attempt)
    running: dict = field(default_factory=dict)  # (row_id, attempt) -> run_id
    spent: Usage = field(default_factory=Usage)


def in_shard(rid: str, shard: tuple[int, int] | None) -> bool:
    """Shard i of n (from 1) holds the rows whose id hashes to i - 1 modulo n: membership depends
    on the row's id alone, so appending rows never moves one from a shard to another."""
    if shard is None:
        return True
    return int(hashlib.sha256(rid.encode()).hexdigest()[:16], 16) % shard[1] == shard[0] - 1


class Batch:
    def __init__(self, compiled: CompiledEval, model, tools, journal, approver, batch_id: str | None = None,
                 shard: tuple[int, int] | None = None, progress: Progress | None = None,
                 role: str | None = None) -> None:
        self.compiled, self.shard, self.role = compiled, shard, role
        self.model, self.tools, self.journal, self.approver = model, tools, journal, approver
        self.batch_id = batch_id or new_id()
        self.progress = progress or Progress()
        self.admission = Admission(compiled.limits, compiled.worst, used=Usage.from_dict(self.progress.spent.as_dict()))
        self.judge_tools: dict[str, Any] = {}
        self.traces = None  # evals/tracing.BatchTraces: subscribe(pipeline, run_id), done(run_id)
        self.on_row = lambda row: None  # progress: called with each recorded row
        self.only: set | None = None  # a chunk's (row_id, attempt) pairs (evals/chunks.py); None: every row
        self.run_id_of = lambda rid, attempt: new_id()  # a chunk's are derived from the batch and the row

    async def run(self) -> str:
        """'succeeded' when every row ran, 'budget_exceeded' when the batch budget stopped it (its
        counted dimensions by admission, `max_wall_s` by a deadline: rows in flight then are
        cancelled, their runs journaled as interrupted, and a resume continues them)."""
        from agentctl.record.batches import finish_batch

        tasks: set[asyncio.Task] = set()
        try:
            async with asyncio.timeout(self.compiled.limits.max_wall_s):
                await self._admit_all(tasks)
        except TimeoutError:
            await _cancelled(tasks)
            self.admission.spent = True
        except BaseException:
            await _cancelled(tasks)
            with contextlib.suppress(JournalError):  # a full disk: the batch's dead pid says it anyway
                finish_batch(self.journal, self.batch_id, "interrupted")
            raise
        status = "budget_exceeded" if self.admission.spent else "succeeded"
        finish_batch(self.journal, self.batch_id, status)
        return status

    async def _admit_all(self, tasks: set) -> None:
        """A row whose run raises (the journal cannot be written) stops the batch: no row starts
        after it, and its error is raised once the loop notices, the rows in flight cancelled."""
        slots = asyncio.Semaphore(self.compiled.concurrency)
        failed: list[BaseException] = []

        def finished(task: asyncio.Task) -> None:
            tasks.discard(task)  # finished rows leave the set: a long batch holds only the rows in flight
            if not task.cancelled() and task.exception() is not None:  # retrieved: asyncio logs it no more
                failed.append(task.exception())

        for work in self._work():
            await slots.acquire()
            if failed or not await self.admission.admit():
                slots.release()
                break
            task = asyncio.ensure_future(self._row(work, slots))
            tasks.add(task)
            task.add_done_callback(finished)
        while tasks and not failed:
            await asyncio.wait(list(tasks), return_when=asyncio.FIRST_COMPLETED)
        if failed:
            raise failed[0]

    def _work(self) -> Iterator[RowWork]:
        for work in work_items(self.compiled, self.shard, self.progress):
            if self.only is None or (work.rid, work.attempt) in self.only:
                yield work

    async def _row(self, work: RowWork, slots: asyncio.Semaphore) -> None:
        from agentctl.record.batches import row_done

        usage = Usage()
        try:
            record = await self._run_row(work)
            usage = Usage.from_dict(record["usage"])
            row_done(self.journal, self.batch_id, record)
            self.on_row(record)
        finally:
            self.admission.release(usage)
            slots.release()

    async def _run_row(self, work: RowWork) -> dict[str, Any]:
        from agentctl.record.batches import row_started
        from agentctl.runs import Continuation, Prepared, continuation

        record = {"row_id": work.rid, "attempt": work.attempt, "row_number": work.number, "run_id": None,
                  "checks": {}, "metrics": {}, "usage": Usage().as_dict(), "duration_s": 0.0}
        if work.problems:
            return {**record, "status": "invalid", "passed": False, "error": "; ".join(work.problems)}
        started = time.monotonic()
        if work.resumed_run:  # its usage so far comes with it: the row's record counts the whole run
            cont = continuation(self.journal, work.resumed_run)
        else:
            cont = Continuation(self.run_id_of(work.rid, work.attempt))
            row_started(self.journal, self.batch_id, work.rid, work.attempt, work.number, cont.run_id)
        result = await self._execute(Prepared(self.compiled.pipeline, work.inputs, self.tools, self.model, self.role), cont)
        context = context_of(work.row, work.inputs, result, time.monotonic() - started)
        checked = await check_row(self.compiled, context, self._run_judge)
        expected = self._expected_status(work)
        error = None if result.status == expected else (
            result.error or f"the run {result.status}") + ("" if expected == "succeeded" else f" (expected: {expected})")
        if result.status == "paused" and expected != "paused":
            error = f"paused for approval ({result.error}): pass --approve or --deny to answer in a batch"
        failed = [name for name, outcome in checked.checks.items() if outcome.get("passed") is False]
        usage = Usage.from_dict(result.usage.as_dict())
        usage.add(checked.usage)
        return {**record, "run_id": cont.run_id, "status": result.status, "checks": checked.checks, "error": error,
                "passed": error is None and not failed, "usage": usage.as_dict(),
                "metrics": checked.metrics, "duration_s": round(time.monotonic() - started, 3)}

    def _expected_status(self, work: RowWork) -> str:
        from agentctl.run.evaluate import EvaluationError, evaluate

        if self.compiled.expect_status is None:
            return "succeeded"
        try:
            return str(evaluate(self.compiled.expect_status, {"row": work.row, "inputs": work.inputs}))
        except EvaluationError as exc:
            return f"(expect_status: {exc})"

    async def _run_judge(self, judge, inputs: dict):
        """A judge's run: journaled like a row's, on the same loop, model and approver."""
        from agentctl.runs import Continuation, Prepared
        from agentctl.tools.registry import build_tools

        if judge.path not in self.judge_tools:  # shared by its runs, as the pipeline's tools are by the rows
            self.judge_tools[judge.path] = SharedTools(build_tools(judge))
        cont = Continuation(new_id())
        return await self._execute(Prepared(judge, inputs, self.judge_tools[judge.path], self.model, self.role),
                                   cont), cont.run_id

    async def _execute(self, prepared, cont):
        from agentctl.runs import journaled_executor

        traced = self.traces.subscribe(prepared.pipeline, cont, self.journal) if self.traces else ()
        executor = journaled_executor(prepared, self.approver, self.journal, cont, traced)
        if self.traces:
            self.traces.started(cont, self.journal)
        try:
            return await executor.run()
        finally:
            if self.traces:
                self.traces.done(cont.run_id)

    async def close(self) -> list[str]:
        """Stops the judges' and the batch's tools (MCP servers, tool processes) and closes the trace
        file; returns the problems sending spans to a collector (the file keeps every span)."""
        for tools in (*self.judge_tools.values(), self.tools):
            await tools.stop()
        return await self.traces.close() if self.traces else []


class SharedTools(Tools):
    """The batch's tools (or a judge's), shared by every row's run: started by the first run that
    needs them (MCP servers), stopped by the batch after its last row, not by each run."""

    def __init__(self, tools: Tools) -> None:
        super().__init__(tools.tools, tools.servers)
        self.ready: asyncio.Future | None = None

    def servers_for(self, names) -> list[str]:
        """Only the first run starts servers (and says so); the others use them."""
        return [] if self.ready is not None else super().servers_for(names)

    async def prepare(self, names) -> None:
        if self.ready is None:  # the first run starts them; the others wait for that, not start them again
            self.ready = asyncio.ensure_future(super().prepare(names))
        await asyncio.shield(self.ready)

    def servers_to_stop(self) -> list[str]:
        return []  # the batch stops them, after its last row

    async def close(self) -> None:
        """A run ends: what it used stays up for the next."""

    async def stop(self) -> None:
        """The batch ends: what the first run started is stopped."""
        await super().close()


async def _cancelled(tasks: set) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def work_items(compiled: CompiledEval, shard: tuple[int, int] | None, progress: Progress) -> Iterator["RowWork"]:
    """Every row's runs still to do, in file order: in this shard, not finished before a resume."""
    seen: dict[str, int] = {}
    for number, row in rows(compiled.data):
        inputs, problems = mapped_inputs(compiled, row)
        rid = row_id(compiled, row, inputs) if not problems else f"row{number}"
        if rid in seen:
            problems = [f"row id '{rid}' is also row {seen[rid]}'s: ids must be unique (see row_id:)"]
            rid = f"{rid}@row{number}"
        seen.setdefault(rid, number)
        if not in_shard(rid, shard):
            continue
        for attempt in range(compiled.repeat):
            if (rid, attempt) not in progress.finished:
                yield RowWork(number, row, rid, attempt, inputs, problems, progress.running.get((rid, attempt)))


@dataclass
class RowWork:
    number: int
    row: dict
    rid: str
    attempt: int
    inputs: dict
    problems: list[str]
    resumed_run: str | None  # the run this row had started before the batch stopped
