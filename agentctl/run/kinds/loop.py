"""Running a loop: the body runs as a scope of its own per iteration, inside the loop's budgets,
until `until` holds or `max_iterations` is reached."""

from __future__ import annotations

from typing import Any

from agentctl.compile.kinds import LoopStep
from agentctl.run.budget import Budget
from agentctl.run.evaluate import evaluate
from agentctl.run.kinds.base import Engine, StepCall


class LoopRun:
    holds_slot = False  # its body's steps take slots

    def scopes(self, engine: Engine, do: LoopStep) -> tuple[Budget, ...]:
        return ()

    async def run(self, engine: Engine, call: StepCall, do: LoopStep) -> Any:
        previous = {sid: {"output": None, "status": "pending"} for sid in do.body}
        for iteration in range(1, do.max_iterations + 1):
            engine.reset(do.body)
            scope = f"{call.scope}{call.node.id}#{iteration}/"
            await engine.run_scope(do.body, {**call.extra, "previous": previous}, call.budgets, scope)
            previous = {sid: engine.state_of(sid) for sid in do.body}
            if evaluate(do.until, engine.context(call.extra)):
                return {"iterations": iteration, "passed": True}
        return {"iterations": do.max_iterations, "passed": False}


RUN = LoopRun()
