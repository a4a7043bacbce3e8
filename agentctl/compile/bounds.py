"""Worst-case usage per step and per run: what `graph` shows and the cost warning is based on.

A bound is None when it cannot be known at compile time (an unknown price or context size).
Every bound is capped by the budgets that apply, since the runner enforces those. Arithmetic goes
over every counted budget dimension (dimensions.py); each kind says what one execution may use.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Mapping

from agentctl.compile import ir
from agentctl.dimensions import COUNTED, Bounds, Limits, bounds_of


def _mul(value: float | None, factor: int) -> float | None:
    return None if value is None else value * factor


def _add(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b


def _cap(value: float | None, limit: float | None) -> float | None:
    if limit is None:
        return value
    return limit if value is None else min(value, limit)


def scaled(bounds: Bounds, factor: int) -> Bounds:
    return bounds_of({d.name: _mul(getattr(bounds, d.name), factor) for d in COUNTED})


def plus(a: Bounds, b: Bounds) -> Bounds:
    return bounds_of({d.name: _add(getattr(a, d.name), getattr(b, d.name)) for d in COUNTED})


def total(items: Iterable[Bounds]) -> Bounds:
    result = Bounds()
    for bounds in items:
        result = plus(result, bounds)
    return result


def capped(bounds: Bounds, *all_limits: Limits) -> Bounds:
    for limits in all_limits:
        bounds = bounds_of({d.name: _cap(getattr(bounds, d.name), getattr(limits, d.limit)) for d in COUNTED})
    return bounds


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


def step_bounds(node: ir.StepNode, parts, done: Mapping[str, ir.StepNode]) -> Bounds:
    from agentctl.compile.kinds import KINDS

    bounds = KINDS[node.kind].bounds(node.do, parts, done)
    if node.for_each is not None:
        bounds = scaled(bounds, node.for_each.max_items)
    return capped(bounds, node.limits)


def bound_all(nodes: dict[str, ir.StepNode], parts) -> dict[str, ir.StepNode]:
    """Bounds for every step, nested steps before the steps that hold them."""
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
