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
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from agentctl.dimensions import COUNTED, Usage
from agentctl.evals.compile import CompiledEval
from agentctl.evals.data import mapped_inputs, row_id, rows


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


class Batch:
    def __init__(self, compiled: CompiledEval, model, tools, journal, approver, batch_id: str | None = None) -> None:
        self.compiled = compiled
        self.model, self.tools, self.journal, self.approver = model, tools, journal, approver
        self.batch_id = batch_id or uuid.uuid4().hex[:12]
        self.admission = Admission(compiled.limits, compiled.pipeline.uncapped or compiled.pipeline.bounds)
        self.finished = 0
        self.on_row = lambda row: None  # progress: called with each recorded row

    async def run(self) -> str:
        """'succeeded' when every row ran, 'budget_exceeded' when the batch budget stopped it."""
        from agentctl.record.batches import finish_batch

        slots = asyncio.Semaphore(self.compiled.concurrency)
        tasks = []
        try:
            for number, row in rows(self.compiled.data):
                for attempt in range(self.compiled.repeat):
                    await slots.acquire()
                    if not await self.admission.admit():
                        slots.release()
                        break
                    tasks.append(asyncio.ensure_future(self._row(number, row, attempt, slots)))
                if self.admission.spent:
                    break
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            finish_batch(self.journal, self.batch_id, "interrupted")
            raise
        status = "budget_exceeded" if self.admission.spent else "succeeded"
        finish_batch(self.journal, self.batch_id, status)
        return status

    async def _row(self, number: int, row: dict, attempt: int, slots: asyncio.Semaphore) -> None:
        from agentctl.record.batches import row_done

        usage = Usage()
        try:
            record = await self._run_row(number, row, attempt)
            usage = Usage.from_dict(record["usage"])
            row_done(self.journal, self.batch_id, record)
            self.on_row(record)
        finally:
            self.admission.release(usage)
            slots.release()

    async def _run_row(self, number: int, row: dict, attempt: int) -> dict[str, Any]:
        from agentctl.runs import Continuation, Prepared, journaled_executor

        inputs, problems = mapped_inputs(self.compiled, row)
        rid = row_id(self.compiled, row, inputs) if not problems else f"row{number}"
        record = {"row_id": rid, "attempt": attempt, "row_number": number, "run_id": None, "checks": {},
                  "usage": Usage().as_dict(), "duration_s": 0.0}
        if problems:
            return {**record, "status": "invalid", "passed": False, "error": "; ".join(problems)}
        started = time.monotonic()
        run_id = uuid.uuid4().hex[:12]
        executor = journaled_executor(Prepared(self.compiled.pipeline, inputs, self.tools, self.model), self.approver,
                                      self.journal, Continuation(run_id))
        result = await executor.run()
        checks = evaluate_checks(self.compiled, row, inputs, result, time.monotonic() - started)
        error = result.error if result.status != "succeeded" else None
        if result.status == "paused":
            error = f"paused for approval ({result.error}): pass --approve or --deny to answer in a batch"
        failed = [name for name, outcome in checks.items() if outcome.get("passed") is False]
        return {**record, "run_id": run_id, "status": result.status, "checks": checks, "error": error,
                "passed": result.status == "succeeded" and not failed, "usage": result.usage.as_dict(),
                "duration_s": round(time.monotonic() - started, 3)}


def evaluate_checks(compiled: CompiledEval, row: dict, inputs: dict, result, duration_s: float) -> dict[str, dict]:
    """Each check: {"passed": bool}, with a reason on failure, or {"skipped": True}: its `when` was
    false, or the run did not succeed and the check could not be evaluated on what it left."""
    from agentctl.run.evaluate import EvaluationError, evaluate

    context = {"row": row, "inputs": inputs, "outputs": result.outputs or {},
               "steps": {sid: {"output": s.output, "status": s.status} for sid, s in result.steps.items()},
               "run": {"status": result.status, "usage": result.usage.as_dict(), "duration_s": duration_s}}
    outcomes: dict[str, dict] = {}
    for check in compiled.checks:
        try:
            if check.when is not None and not evaluate(check.when, context):
                outcomes[check.name] = {"skipped": True}
                continue
            passed = bool(evaluate(check.expect, context))
            outcomes[check.name] = {"passed": passed} if passed else {
                "passed": False, "reason": f"{getattr(check.expect, 'source', check.expect)} is false"}
        except EvaluationError as exc:  # after a failed run there may be nothing to check: not counted
            outcomes[check.name] = ({"passed": False, "reason": str(exc)} if result.status == "succeeded"
                                    else {"skipped": True, "reason": f"the run {result.status}: {exc}"})
    return outcomes
