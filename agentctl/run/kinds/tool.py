"""Running a tool step: its arguments are checked against the tool's schema before the call."""

from __future__ import annotations

from typing import Any

from agentctl.compile.kinds import ToolStep
from agentctl.errors import StepError
from agentctl.run.budget import Budget
from agentctl.run.evaluate import evaluate
from agentctl.run.kinds.base import Denied, Engine, StepCall
from agentctl.run.tool_calls import ToolDenied
from agentctl.run.validation import schema_problems


class ToolRun:
    holds_slot = True

    def scopes(self, engine: Engine, do: ToolStep) -> tuple[Budget, ...]:
        return ()

    async def run(self, engine: Engine, call: StepCall, do: ToolStep) -> Any:
        args = evaluate(call.node.args, call.context)
        problems = schema_problems(args, engine.invoker.tools[do.tool].input_schema())
        if problems:
            raise StepError(f"arguments for tool '{do.tool}' do not match its schema: {'; '.join(problems)}")
        try:
            return await engine.invoker.invoke(call.node.id, call.work, 0, do.tool, args, call.budgets, call.context)
        except ToolDenied:
            raise Denied({"approved": False}) from None


RUN = ToolRun()
