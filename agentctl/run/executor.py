"""The scheduler: runs a CompiledPipeline's steps in dependency order, independent steps
concurrently, with skips, fan-out, budgets and fail-fast cancellation. What each kind of step
does is in run/kinds/, looked up by the compiled definition's type.

A finished step's result is kept whatever happens after it (a later failure, a spent budget,
Ctrl-C): `Executor.result` is always the run as far as it got. Every StepFinished is emitted
before the step's dependents start, so a journal subscribed to the events has committed it by then.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from agentctl.compile.ir import CompiledPipeline, StepNode
from agentctl.compile.kinds import KINDS
from agentctl.dimensions import Usage
from agentctl.errors import EXIT_CODES, RunStopped, StepError, UsageError
from agentctl.llm.client import ChatModel
from agentctl.run.agent import AgentRunner
from agentctl.run.answers import JournaledAnswers
from agentctl.run.approvals import Approver
from agentctl.run.budget import ONE_STEP, Budget, Budgets
from agentctl.run.evaluate import evaluate, step_state
from agentctl.run.events import (EventBus, ItemFinished, RunFinished, RunStarted, ServerPhase, ServerStarting,
                                 ServerStopping, StepFinished, StepStarted)
from agentctl.run.permissions import PolicyCheck
from agentctl.run.kinds import RUNNERS, Denied, RunKind, StepCall
from agentctl.run.routing import ModelRouter
from agentctl.run.tool_calls import ToolInvoker
from agentctl.tools.base import Tool

_BLOCKING = ("skipped", "denied")


@dataclass
class StepResult:
    id: str
    status: str = "pending"  # running, succeeded, failed, skipped, denied, cancelled
    output: Any = None
    usage: Usage = field(default_factory=Usage)
    error: str | None = None
    started: float | None = None
    finished: float | None = None
    started_at: float | None = None  # wall-clock time, for the journal
    scope: str = ""  # the loop iteration it ran in ("" at top level)

    @property
    def duration_s(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.monotonic()) - self.started


@dataclass
class RunResult:
    run_id: str
    pipeline: str
    status: str = "running"
    outputs: dict = field(default_factory=dict)
    steps: dict[str, StepResult] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    error: str | None = None
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    cut_off: Usage = field(default_factory=Usage)  # of `usage`: worst cases of calls a stop cut off in flight

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]


class StepFailed(RunStopped):
    status = "failed"

    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"step '{step}' failed: {message}")
        self.step = step


class Executor:
    def __init__(self, pipeline: CompiledPipeline, model: ChatModel, *, inputs: Mapping[str, Any],
                 approver: Approver, tools: Mapping[str, Tool], events: EventBus | None = None,
                 concurrency: int = 8, run_id: str | None = None, sleep=asyncio.sleep,
                 restored: Mapping[tuple, Any] | None = None, memory=None, spent: Usage | None = None,
                 answers: JournaledAnswers | None = None, role: str | None = None) -> None:
        """`restored`: committed results of an earlier attempt of this run: steps by (step, scope),
        fan-out items (their outputs) by (step, scope, index); `memory`: journaled tool results by
        idempotency key; `spent`: usage already spent; `answers`: model answers already paid for;
        `role`: who runs it, for the pipeline's policy."""
        self.pipeline = pipeline
        self.events = events or EventBus()
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.inputs = dict(inputs)
        self.tools = tools
        self.approver = approver
        self.env = {name: os.environ.get(name) for name in pipeline.env}
        self.slots = asyncio.Semaphore(concurrency)
        self.budget = Budget("run", pipeline.limits)
        if spent is not None:
            self.budget.used.add(spent)
        self.restored = dict(restored or {})
        self.agent_budgets = {name: Budget(f"agent '{name}'", a.limits) for name, a in pipeline.agents.items()}
        self.model = model
        router = ModelRouter(pipeline.models, model, self.events, sleep=sleep, answers=answers)
        self.invoker = ToolInvoker(tools, pipeline.tools, approver, self.events, self.run_id, memory,
                                   PolicyCheck(pipeline.policy, role))
        self.agents = AgentRunner(router, self.invoker, self.events)
        self.result = RunResult(self.run_id, pipeline.name)
        self.result.steps = {sid: StepResult(sid) for sid in pipeline.steps}
        self.state: dict[str, dict] = {}  # steps.<id> as expressions see it

    async def run(self) -> RunResult:
        result = self.result
        self.events.emit(RunStarted(run_id=self.run_id, pipeline=self.pipeline.name, steps=self.pipeline.order))
        try:
            async with asyncio.timeout(self.pipeline.limits.max_wall_s):
                await asyncio.gather(self._prepare_tools(), self._model_ready())
                await self.run_scope(self.pipeline.order, {}, Budgets((self.budget,)))
            result.outputs = evaluate(self.pipeline.outputs, self.context({}))
            result.status = "succeeded"
        except TimeoutError:
            self.stop("budget_exceeded", f"run budget max_wall_s ({self.pipeline.limits.max_wall_s:g}) spent")
        except RunStopped as exc:
            self.stop(exc.status, str(exc))
        except StepError as exc:  # outside any step: the outputs, a tool that cannot start
            self.stop("failed", str(exc))
        except UsageError as exc:  # the model's credentials, found missing while the servers started
            self.stop("failed", str(exc))
            raise
        except asyncio.CancelledError:
            self.stop("interrupted", "interrupted")
            raise
        except Exception as exc:  # a bug: the run ends as failed in the journal, the CLI reports it
            self.stop("failed", f"internal error: {type(exc).__name__}: {exc}")
            raise
        finally:
            await self._close_tools()
            result.usage, result.cut_off = self.budget.used, self.budget.cut_off
            result.finished = time.monotonic()
            self.events.emit(RunFinished(status=result.status, error=result.error, usage=result.usage,
                                         outputs=result.outputs))
        return result

    async def _model_ready(self) -> None:
        ready = getattr(self.model, "ready", None)  # llm/loading.py: loaded while the servers start
        if ready is not None:
            await ready()

    async def _prepare_tools(self) -> None:
        prepare = getattr(self.tools, "prepare", None)
        if prepare is not None:
            from agentctl.tools.registry import used_tools

            names = used_tools(self.pipeline)
            for server in getattr(self.tools, "servers_for", lambda _: ())(names):
                self.events.emit(ServerStarting(server=server))
            try:
                await prepare(names)
            finally:
                self._report_phases()

    async def _close_tools(self) -> None:
        """Stops what prepare() started, to the end: a second Ctrl-C while the servers stop does
        not cut it short (the MCP SDK bounds each wait), so RunFinished follows a finished stop."""
        close = getattr(self.tools, "close", None)
        if close is None:
            return
        for server in getattr(self.tools, "servers_to_stop", lambda: ())():
            self.events.emit(ServerStopping(server=server))
        closing = asyncio.ensure_future(close())
        while not closing.done():
            try:
                await asyncio.shield(closing)
            except asyncio.CancelledError:
                continue
            except Exception:  # noqa: BLE001 - stopping a server must not hide the run's result
                pass
        self._report_phases()

    def _report_phases(self) -> None:
        """Server start-up and shutdown as events: the trace has no unexplained gap before the first step."""
        phases = getattr(self.tools, "phases", None)
        for server, phase, began, ended, error in (phases() if phases is not None else ()):
            self.events.emit(ServerPhase(server=server, phase=phase, started_at=began, error=error, at=ended))

    def stop(self, status: str, error: str) -> None:
        self.result.status, self.result.error = status, error
        for step in self.result.steps.values():
            if step.status == "running":
                step.status, step.finished = ("paused" if status == "paused" else "cancelled"), time.monotonic()

    # what step kinds use (run/kinds/base.py Engine) ------------------------------------------
    def context(self, extra: Mapping[str, Any]) -> dict:
        return {"inputs": self.inputs, "steps": self.state, "env": self.env, **extra}

    def state_of(self, step: str) -> dict:
        return dict(self.state.get(step, {}))

    def reset(self, steps: tuple[str, ...]) -> None:
        for sid in steps:
            self.result.steps[sid].status = "pending"

    async def run_scope(self, order: tuple[str, ...], extra: dict, parent: Budgets, scope: str = "") -> None:
        """Run the steps of one scope (the pipeline, or a loop body) as their needs allow.

        Each step counts its unmet needs; a finished step decrements its dependents' counts, so a
        scope of n steps costs O(n + edges), not a rescan of every waiting step per completion.
        """
        steps = self.pipeline.steps
        unmet = {sid: len(steps[sid].needs) for sid in order}
        dependents: dict[str, list[str]] = {}
        for sid in order:
            for need in steps[sid].needs:
                dependents.setdefault(need, []).append(sid)
        ready = [sid for sid in order if unmet[sid] == 0]
        running: dict[asyncio.Task, str] = {}
        try:
            while ready or running:
                for sid in ready:
                    running[asyncio.ensure_future(self.run_step(steps[sid], extra, parent, scope))] = sid
                ready = []
                finished, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    sid = running.pop(task)
                    task.result()  # a failure or a spent budget ends the scope here
                    for dependent in dependents.get(sid, ()):
                        unmet[dependent] -= 1
                        if unmet[dependent] == 0:
                            ready.append(dependent)
        finally:
            for task in running:
                task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)

    # one step ------------------------------------------------------------------------------
    async def run_step(self, node: StepNode, extra: dict, parent: Budgets, scope: str = "") -> None:
        record = self.result.steps[node.id]
        record.scope = scope
        done = self.restored.get((node.id, scope))
        if done is not None:  # committed by an earlier attempt of this run: not executed again
            record.usage = Usage()
            self._restore_nested(node, scope)
            return self._finish(record, done.status, done.output, done.error, restored=True)
        blocked = [d for d in node.needs if self.result.steps[d].status in _BLOCKING]
        if blocked and not node.allow_skipped:
            return self._finish(record, "skipped", None, f"needs {blocked[0]}, which was {self.result.steps[blocked[0]].status}")
        context = self.context(extra)
        if node.when is not None and not evaluate(node.when, context):
            return self._finish(record, "skipped", None, "its when: is false")
        record.status, record.started, record.started_at = "running", time.monotonic(), time.time()
        self.events.emit(StepStarted(step=node.id, kind=node.kind, what=KINDS[node.kind].subject(node.do), scope=scope))
        runner = RUNNERS[type(node.do)]
        step_budget = Budget(f"step '{node.id}'", node.limits)
        budgets = parent.nested(step_budget)
        for own in runner.scopes(self, node.do):
            budgets = budgets.nested(own)
        try:
            output = await self.execute(node, runner, StepCall(node, context, budgets, work_name(node.id, scope),
                                                                scope, extra))
        except Denied as denied:
            return self._finish(record, "denied", denied.output, "denied", step_budget.used)
        except StepError as exc:
            self._finish(record, "failed", None, str(exc), step_budget.used)
            raise StepFailed(node.id, str(exc)) from None
        except StepFailed as exc:  # a step nested in this one failed
            self._finish(record, "failed", None, f"step '{exc.step}' failed", step_budget.used)
            raise
        except BaseException:
            record.usage.add(step_budget.used)
            raise
        self._finish(record, "succeeded", output, None, step_budget.used)

    def _restore_nested(self, node: StepNode, scope: str) -> None:
        """Steps nested in a restored one (a loop's body) read as they were when it finished: their
        last iteration's results, as after a run that was never interrupted."""
        prefix = f"{scope}{node.id}#"  # its iterations' scopes: prefix + "N/"
        for sid in node.do.body:
            iterations = [(int(key[1][len(prefix):-1]), key[1]) for key in self.restored
                          if len(key) == 2 and key[0] == sid and key[1].startswith(prefix)
                          and key[1].count("/") == scope.count("/") + 1]
            if iterations:
                last = max(iterations)[1]
                done = self.restored[(sid, last)]
                self.state[sid] = step_state(done.status, done.output, self.pipeline.steps[sid].output_schema)
                self._restore_nested(self.pipeline.steps[sid], last)

    def _finish(self, record: StepResult, status: str, output: Any, error: str | None, usage: Usage | None = None,
                restored: bool = False) -> None:
        usage = usage or Usage()
        record.status, record.output, record.error = status, output, error
        record.usage.add(usage)
        record.started = record.started or time.monotonic()
        record.finished = time.monotonic()
        self.state[record.id] = step_state(status, output, self.pipeline.steps[record.id].output_schema)
        self.events.emit(StepFinished(step=record.id, status=status, output=output, error=error, usage=replace(usage),
                                      duration_s=record.duration_s, started_at=record.started_at,
                                      work=work_name(record.id, record.scope), scope=record.scope, restored=restored,
                                      run_usage=replace(self.budget.used)))

    async def execute(self, node: StepNode, runner: RunKind, call: StepCall) -> Any:
        if node.for_each is None:
            return await self.once(runner, call)
        items = evaluate(node.for_each.items, call.context)
        if not isinstance(items, list):
            raise StepError(f"for_each needs a list, got {type(items).__name__}")
        if len(items) > node.for_each.max_items:
            raise StepError(f"for_each got {len(items)} items; max_items is {node.for_each.max_items}")
        at_once = asyncio.Semaphore(node.for_each.max_concurrency)

        async def one(index: int, item: Any) -> Any:
            if (node.id, call.scope, index) in self.restored:  # committed before a crash: not run again
                return self.restored[(node.id, call.scope, index)]
            work = f"{call.work}[{index}]"
            async with at_once:
                output = await self.once(runner, replace(call, context={**call.context, node.for_each.name: item},
                                                         work=work))
            # Each item is committed as it finishes, so a resume runs only the items left.
            self.events.emit(ItemFinished(step=node.id, index=index, output=output, work=work, scope=call.scope,
                                          run_usage=replace(self.budget.used)))
            return output

        return list(await _gather_or_cancel([one(i, item) for i, item in enumerate(items)]))

    async def once(self, runner: RunKind, call: StepCall) -> Any:
        """One execution, counted as a step once it succeeds (budgets.py: reserved while it runs)."""
        step = call.node.id
        reservation = call.budgets.reserve(ONE_STEP, step)
        try:
            if runner.holds_slot:
                async with self.slots:
                    output = await runner.run(self, call, call.node.do)
            else:
                output = await runner.run(self, call, call.node.do)
        except BaseException:
            call.budgets.release(reservation)
            raise
        call.budgets.settle(reservation, reservation, step, check=False)
        return output


def work_name(step: str, scope: str) -> str:
    """Names one execution of a step (per loop iteration) in idempotency keys and the journal."""
    return f"{step}@{scope}" if scope else step


async def _gather_or_cancel(coroutines: list) -> list:
    """gather() that cancels the siblings when one fails (a spent budget, a failed item)."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        return await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
