"""Budgets: usage counting (dimensions.Usage) kept apart from the limits policy (Budget.check_*).

Everything is reserved before it is used and settled after: a model call reserves its worst case
(input tokens plus the maximum output tokens, at the model's price) and settles with the real
usage; a step reserves one step while it runs and settles when it succeeds (a step that fails or
is stopped is not counted, since a resume runs it again). Reservations are held while work is in
flight, so concurrent branches cannot jointly overshoot: steps, LLM calls and tool calls are never
exceeded, and tokens and USD only by what one response used beyond its reservation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Callable

from agentctl.dimensions import COUNTED, Limits, Usage
from agentctl.errors import RunStopped

ONE_STEP = Usage(steps=1)
ONE_TOOL_CALL = Usage(tool_calls=1)


class BudgetExceeded(RunStopped):
    status = "budget_exceeded"

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
        self.counted = [(d.name, d.limit, getattr(self.limits, d.limit)) for d in COUNTED
                        if getattr(self.limits, d.limit) is not None]

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
        for name, limit_name, limit in self.counted:
            extra = getattr(want, name)
            if extra and getattr(self.used, name) + getattr(self.reserved, name) + extra > limit:
                raise BudgetExceeded(self.name, limit_name, limit, getattr(self.used, name), step)

    def check_spent(self, step: str | None) -> None:
        """After settling: a response that used more than its reservation may overshoot once."""
        for name, limit_name, limit in self.counted:
            if getattr(self.used, name) > limit:
                raise BudgetExceeded(self.name, limit_name, limit, getattr(self.used, name), step)


class Budgets:
    """The scopes that apply to one piece of work, checked and charged together."""

    def __init__(self, scopes: tuple[Budget, ...]) -> None:
        self.scopes = scopes

    def nested(self, scope: Budget) -> "Budgets":
        return Budgets(self.scopes + (scope,))

    def run_usage(self) -> Usage:
        """A copy of what the whole run has used so far (the outermost scope is the run's)."""
        return replace(self.scopes[0].used)

    def remaining_s(self) -> float | None:
        values = [r for r in (s.remaining_s() for s in self.scopes) if r is not None]
        return min(values) if values else None

    def remaining_usd(self) -> float | None:
        left = [s.limits.max_cost_usd - s.used.cost_usd for s in self.scopes if s.limits.max_cost_usd is not None]
        return min(left) if left else None

    def check_before_tool_call(self, step: str) -> None:
        self.charge(ONE_TOOL_CALL, step)

    def charge(self, usage: Usage, step: str | None) -> None:
        for scope in self.scopes:
            scope.check(usage, step)
        for scope in self.scopes:
            scope.used.add(usage)

    def reserve(self, usage: Usage, step: str | None) -> Usage:
        for scope in self.scopes:
            scope.check(usage, step)
        for scope in self.scopes:
            scope.reserved.add(usage)
        return usage

    def release(self, reservation: Usage) -> None:
        for scope in self.scopes:
            scope.reserved.add(reservation, -1)

    def settle(self, reservation: Usage, actual: Usage, step: str | None, check: bool = True) -> None:
        self.release(reservation)
        for scope in self.scopes:
            scope.used.add(actual)
        if check:
            for scope in self.scopes:
                scope.check_spent(step)
