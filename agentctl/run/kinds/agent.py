"""Running an agent step: the prompt, the tool loop and the output check are in run/agent.py."""

from __future__ import annotations

from typing import Any

from agentctl.compile.kinds import AgentStep
from agentctl.run.budget import Budget
from agentctl.run.evaluate import evaluate
from agentctl.run.kinds.base import Engine, StepCall


class AgentRun:
    holds_slot = True

    def scopes(self, engine: Engine, do: AgentStep) -> tuple[Budget, ...]:
        return (engine.agent_budgets[do.agent],)

    async def run(self, engine: Engine, call: StepCall, do: AgentStep) -> Any:
        agent = engine.pipeline.agents[do.agent]
        args = evaluate(call.node.args, call.context)
        bound = {tool: evaluate(values, call.context) for tool, values in agent.bound.items()}
        return await engine.agents.run(call.node.id, agent, args, call.budgets, call.work, bound, call.context)


RUN = AgentRun()
