"""`agent: NAME`: run an agent (prompt, model route, tool loop, output schema)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from agentctl.compile import ir
from agentctl.compile.bounds import capped, per_call, plus, scaled
from agentctl.compile.kinds.base import Parts
from agentctl.diagnostics import suggest
from agentctl.dimensions import Bounds


@dataclass(frozen=True, kw_only=True)
class AgentStep(ir.StepDefBase):
    kind = "agent"
    agent: str  # a key of CompiledPipeline.agents


class AgentKind:
    name = "agent"
    definition = AgentStep
    takes_args = True

    def nested(self, value: str) -> list:
        return []

    def output_schema(self, value: str, parts: Parts) -> dict | None:
        agent = parts.agents.get(value)
        return (agent.output_schema or {"type": "string"}) if agent else None

    def compile(self, sc, info, value: str) -> AgentStep | None:
        sc.ctx.used["agents"].add(value)
        if value not in sc.ctx.spec.agents:
            sc.ctx.sink.error("E303", f"agent '{value}' is not defined", sc.ctx.smap.value(info.path + ("agent",)),
                              suggest(value, sc.ctx.spec.agents))
            return None
        agent = sc.agents.get(value)
        if agent is not None:
            sc.check_arguments(info, set(agent.prompt.inputs), agent.prompt.required_inputs,
                               f"prompt {agent.prompt.path}", "which")
            for bound in agent.bound.values():  # evaluated where the step runs: it reads what they read
                sc.read(info, bound, sc.reader(info, with_item=info.spec.for_each is not None))
            for tool in agent.tools:
                sc.read_tool_expressions(info, tool)
        return AgentStep(agent=value)

    def bounds(self, do: AgentStep, parts: Parts, done: Mapping[str, ir.StepNode]) -> Bounds:
        agent = parts.agents.get(do.agent)
        if agent is None:
            return Bounds(steps=1)
        route = parts.models.get(agent.model)
        tool_rounds = agent.max_iterations - 1 if agent.tools else 0  # the last turn is told to answer
        tokens, cost = per_call(agent, route) if route else (None, None)
        one_call = Bounds(steps=0, llm_calls=1, tokens=tokens, cost_usd=cost)
        calls = scaled(one_call, tool_rounds + 1 + agent.reasks)
        tools = Bounds(steps=1, tool_calls=tool_rounds * agent.parallel_tool_calls)
        return capped(plus(calls, tools), agent.limits)

    def describe(self, pipeline: ir.CompiledPipeline, do: AgentStep) -> str:
        agent = pipeline.agents[do.agent]
        chain = " → ".join(t.model for t in pipeline.models[agent.model].chain)
        text = f"agent {do.agent} [{agent.model}: {chain}]"
        return text + (f" tools: {', '.join(agent.tools)}" if agent.tools else "")

    def subject(self, do: AgentStep) -> str | None:
        return do.agent

    def tools(self, pipeline: ir.CompiledPipeline, do: AgentStep) -> tuple[str, ...]:
        return tuple(pipeline.agents[do.agent].tools)


KIND = AgentKind()
