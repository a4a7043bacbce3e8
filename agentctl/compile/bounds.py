"""Worst-case usage per step and per run: what `graph` shows and the cost warning is based on.

A bound is None when it cannot be known at compile time (an unknown price or context size).
Every bound is capped by the budgets that apply, since the runner enforces those.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping

from agentctl.compile import ir


def _mul(value: float | None, factor: int) -> float | None:
    return None if value is None else value * factor


def _add(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b


def _cap(value: float | None, limit: float | None) -> float | None:
    if limit is None:
        return value
    return limit if value is None else min(value, limit)


def capped(bounds: ir.Bounds, *all_limits: ir.Limits) -> ir.Bounds:
    for lim in all_limits:
        bounds = ir.Bounds(
            steps=int(_cap(bounds.steps, lim.max_steps)),
            llm_calls=int(_cap(bounds.llm_calls, lim.max_llm_calls)),
            tool_calls=_int(_cap(bounds.tool_calls, lim.max_tool_calls)),
            tokens=_int(_cap(bounds.tokens, lim.max_tokens)),
            cost_usd=_cap(bounds.cost_usd, lim.max_cost_usd),
        )
    return bounds


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def per_call(agent: ir.AgentDef, route: ir.ModelRoute) -> tuple[int | None, float | None]:
    """Worst-case tokens and USD of one model call, over the whole fallback chain."""
    worst_tokens: int | None = 0
    worst_cost: float | None = 0.0
    for target in route.chain:
        max_in = agent.max_input_tokens or target.max_input_tokens
        tokens = None if max_in is None or target.max_output_tokens is None else max_in + target.max_output_tokens
        cost = None
        if tokens is not None and target.price is not None:
            cost = max_in * target.price.input_per_token + target.max_output_tokens * target.price.output_per_token
        worst_tokens = None if worst_tokens is None or tokens is None else max(worst_tokens, tokens)
        worst_cost = None if worst_cost is None or cost is None else max(worst_cost, cost)
    return worst_tokens, worst_cost


def agent_bounds(agent: ir.AgentDef, route: ir.ModelRoute | None) -> ir.Bounds:
    iterations = agent.max_iterations if agent.tools else 1
    calls = iterations * (1 + agent.reasks)
    tool_calls = calls * agent.parallel_tool_calls if agent.tools else 0
    tokens, cost = per_call(agent, route) if route else (None, None)
    return ir.Bounds(1, calls, tool_calls, _int(_mul(tokens, calls)), _mul(cost, calls))


def step_bounds(node: ir.StepNode, pipeline_parts: "Parts", done: Mapping[str, ir.StepNode]) -> ir.Bounds:
    if node.kind == "agent" and node.agent in pipeline_parts.agents:
        agent = pipeline_parts.agents[node.agent]
        bounds = capped(agent_bounds(agent, pipeline_parts.models.get(agent.model)), agent.limits)
    elif node.kind == "tool":
        bounds = ir.Bounds(1, 0, 1, 0, 0.0)
    elif node.kind == "loop" and node.loop is not None:
        body = total(done[s].bounds for s in node.loop.body if s in done)
        n = node.loop.max_iterations
        bounds = ir.Bounds(1 + body.steps * n, body.llm_calls * n, _int(_mul(body.tool_calls, n)),
                           _int(_mul(body.tokens, n)), _mul(body.cost_usd, n))
    else:
        bounds = ir.Bounds(1, 0, 0, 0, 0.0)
    if node.for_each is not None:
        k = node.for_each.max_items
        bounds = ir.Bounds(bounds.steps * k, bounds.llm_calls * k, _int(_mul(bounds.tool_calls, k)),
                           _int(_mul(bounds.tokens, k)), _mul(bounds.cost_usd, k))
    return capped(bounds, node.limits)


def total(items) -> ir.Bounds:
    result = ir.Bounds(0, 0, 0, 0, 0.0)
    for b in items:
        result = ir.Bounds(result.steps + b.steps, result.llm_calls + b.llm_calls,
                           _int(_add(result.tool_calls, b.tool_calls)), _int(_add(result.tokens, b.tokens)),
                           _add(result.cost_usd, b.cost_usd))
    return result


class Parts:
    def __init__(self, agents: Mapping[str, ir.AgentDef], models: Mapping[str, ir.ModelRoute]) -> None:
        self.agents = agents
        self.models = models


def bound_all(nodes: dict[str, ir.StepNode], parts: Parts) -> dict[str, ir.StepNode]:
    """Bounds for every step, inner loop bodies before the loops that hold them."""
    done: dict[str, ir.StepNode] = {}
    depth = {sid: _depth(sid, nodes) for sid in nodes}
    for sid in sorted(nodes, key=lambda s: -depth[s]):
        done[sid] = replace(nodes[sid], bounds=step_bounds(nodes[sid], parts, done))
    return {sid: done[sid] for sid in nodes}


def _depth(sid: str, nodes: Mapping[str, ir.StepNode]) -> int:
    depth, parent = 0, nodes[sid].parent
    while parent is not None and parent in nodes:
        depth, parent = depth + 1, nodes[parent].parent
    return depth
