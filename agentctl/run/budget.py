"""Budgets: usage counting (Usage) kept apart from the limits policy (Budget.check_*).

A call is checked before it is made, reserving its worst case (input tokens plus the maximum
output tokens, at the model's price), and settled after with the real usage. Reservations are
held while calls are in flight, so concurrent calls cannot jointly overshoot: steps, LLM calls
and tool calls are never exceeded, and tokens and USD only by what one response used beyond its
reservation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from typing import Callable

from agentctl.compile.ir import Limits


@dataclass
class Usage:
    steps: int = 0
    llm_calls: int = 0
    tool_calls: int = 0
    tokens: int = 0
    cost_usd: float = 0.0

    def add(self, other: "Usage", sign: int = 1) -> None:
        # Spelled out: this runs several times per model call, and fields() introspection
        # was the engine's largest cost in a 200-way fan-out.
        self.steps += sign * other.steps
        self.llm_calls += sign * other.llm_calls
        self.tool_calls += sign * other.tool_calls
        self.tokens += sign * other.tokens
        self.cost_usd += sign * other.cost_usd

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


_LIMIT_OF = {"steps": "max_steps", "llm_calls": "max_llm_calls", "tool_calls": "max_tool_calls",
             "tokens": "max_tokens", "cost_usd": "max_cost_usd"}


class BudgetExceeded(Exception):
    def __init__(self, scope: str, dimension: str, limit: float, used: float, step: str | None) -> None:
        self.scope, self.dimension, self.limit, self.used, self.step = scope, dimension, limit, used, step
        where = f" at step '{step}'" if step else ""
        super().__init__(f"{scope} budget {dimension} ({limit:g}) spent{where}: {used:g} used")


@dataclass
class Budget:
    """One scope (the run, an agent, a step) with its limits and what it has used."""

    name: str
    limits: Limits
    clock: Callable[[], float] = time.monotonic
    used: Usage = field(default_factory=Usage)
    reserved: Usage = field(default_factory=Usage)
    started: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def remaining_s(self) -> float | None:
        if self.limits.max_wall_s is None:
            return None
        return self.limits.max_wall_s - (self.clock() - self.started)

    def check(self, want: Usage, step: str | None) -> None:
        """Raise BudgetExceeded if `want` more, on top of use and reservations, breaks a limit."""
        remaining = self.remaining_s()
        if remaining is not None and remaining <= 0:
            raise BudgetExceeded(self.name, "max_wall_s", self.limits.max_wall_s,
                                 round(self.clock() - self.started, 3), step)
        for dim, limit_name in _LIMIT_OF.items():
            extra = getattr(want, dim)
            if not extra:
                continue
            limit = getattr(self.limits, limit_name)
            if limit is not None and extra and getattr(self.used, dim) + getattr(self.reserved, dim) + extra > limit:
                raise BudgetExceeded(self.name, limit_name, limit, getattr(self.used, dim), step)

    def check_spent(self, step: str | None) -> None:
        """After settling: a response that used more than its reservation may overshoot once."""
        for dim, limit_name in _LIMIT_OF.items():
            limit = getattr(self.limits, limit_name)
            if limit is not None and getattr(self.used, dim) > limit:
                raise BudgetExceeded(self.name, limit_name, limit, getattr(self.used, dim), step)


class Budgets:
    """The scopes that apply to one piece of work, checked and charged together."""

    def __init__(self, scopes: tuple[Budget, ...]) -> None:
        self.scopes = scopes

    def nested(self, scope: Budget) -> "Budgets":
        return Budgets(self.scopes + (scope,))

    def remaining_s(self) -> float | None:
        values = [r for r in (s.remaining_s() for s in self.scopes) if r is not None]
        return min(values) if values else None

    def remaining_usd(self) -> float | None:
        left = [s.limits.max_cost_usd - s.used.cost_usd for s in self.scopes if s.limits.max_cost_usd is not None]
        return min(left) if left else None

    def check_before_step(self, step: str) -> None:
        self.charge(Usage(steps=1), step)

    def check_before_tool_call(self, step: str) -> None:
        self.charge(Usage(tool_calls=1), step)

    def charge(self, usage: Usage, step: str | None) -> None:
        for scope in self.scopes:
            scope.check(usage, step)
        for scope in self.scopes:
            scope.used.add(usage)

    def reserve(self, usage: Usage, step: str) -> Usage:
        for scope in self.scopes:
            scope.check(usage, step)
        for scope in self.scopes:
            scope.reserved.add(usage)
        return usage

    def release(self, reservation: Usage) -> None:
        for scope in self.scopes:
            scope.reserved.add(reservation, -1)

    def settle(self, reservation: Usage, actual: Usage, step: str) -> None:
        self.release(reservation)
        for scope in self.scopes:
            scope.used.add(actual)
        for scope in self.scopes:
            scope.check_spent(step)
