"""Budgets: usage counting (dimensions.Usage) kept apart from the limits policy (Budget.check_*).

Everything is reserved before it is used and settled after: a model call reserves its worst case
(a bound on its input tokens plus the maximum output tokens, at the model's price) and settles
with the real usage; a step reserves one step while it runs and settles when it succeeds (a step
that fails or is stopped is not counted, since a resume runs it again). Reservations are held
while work is in flight, so concurrent branches cannot jointly overshoot.

A model call that does not fit only because of other calls' reservations waits for them to settle
(they are leaf calls bounded by timeouts, so the wait ends) rather than stopping a run that may
still fit. A response that used more than its reservation shows the provider counts differently
from the bound: later reservations are scaled by what it showed, and so are the reservations of
the calls still in flight, so nothing new starts on the old assumption (docs/run.md "Budgets").
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from typing import Callable

from agentctl.dimensions import COUNTED, Limits, Usage
from agentctl.errors import RunStopped

ONE_STEP = Usage(steps=1)
ONE_TOOL_CALL = Usage(tool_calls=1)


class BudgetExceeded(RunStopped):
    status = "budget_exceeded"

    def __init__(self, scope: str, dimension: str, limit: float, used: float, step: str | None,
                 wanted: float = 0) -> None:
        self.scope, self.dimension, self.limit, self.used, self.step = scope, dimension, limit, used, step
        where = f" at step '{step}'" if step else ""
        # A worst case that cannot fit is not "spent": say what the next piece of work needed.
        needed = f" and {wanted:g} more needed at worst" if used + wanted > limit >= used else ""
        super().__init__(f"{scope} budget {dimension} ({limit:g}) spent{where}: {used:g} used{needed}")


@dataclass
class Budget:
    """One scope (the run, an agent, a step) with its limits and what it has used."""

    name: str
    limits: Limits
    clock: Callable[[], float] = time.monotonic
    used: Usage = field(default_factory=Usage)
    reserved: Usage = field(default_factory=Usage)
    started: float = field(default=0.0)
    cut_off: Usage = field(default_factory=Usage)  # the run's: worst cases of calls a stop cut off in flight

    def __post_init__(self) -> None:
        self.started = self.clock()
        self.counted = [(d.name, d.limit, getattr(self.limits, d.limit)) for d in COUNTED
                        if getattr(self.limits, d.limit) is not None]

    def remaining_s(self) -> float | None:
        if self.limits.max_wall_s is None:
            return None
        return self.limits.max_wall_s - (self.clock() - self.started)

    def check(self, want: Usage, step: str | None, reserved: bool = True) -> None:
        """Raise BudgetExceeded if `want` more, on top of use (and reservations), breaks a limit."""
        remaining = self.remaining_s()
        if remaining is not None and remaining <= 0:
            raise BudgetExceeded(self.name, "max_wall_s", self.limits.max_wall_s,
                                 round(self.clock() - self.started, 3), step)
        for name, limit_name, limit in self.counted:
            extra = getattr(want, name)
            held = getattr(self.reserved, name) if reserved else 0
            if extra and getattr(self.used, name) + held + extra > limit:
                raise BudgetExceeded(self.name, limit_name, limit, getattr(self.used, name), step, held + extra)

    def fits(self, want: Usage) -> bool:
        return all(not getattr(want, name) or getattr(self.used, name) + getattr(self.reserved, name)
                   + getattr(want, name) <= limit for name, _, limit in self.counted)

    def check_spent(self, step: str | None) -> None:
        """After settling: a response that used more than its reservation may overshoot once."""
        for name, limit_name, limit in self.counted:
            if getattr(self.used, name) > limit:
                raise BudgetExceeded(self.name, limit_name, limit, getattr(self.used, name), step)


@dataclass
class Calls:
    """The model calls in flight in a run and what responses showed of the reservation bound."""

    in_flight: list[tuple["Budgets", Usage]] = field(default_factory=list)
    scale: float = 1.0  # how far the provider's counts went beyond the bound, at most
    settled: asyncio.Event | None = None

    def changed(self) -> None:
        if self.settled is not None:
            self.settled.set()
            self.settled = None

    async def wait_for_change(self) -> None:
        if self.settled is None:
            self.settled = asyncio.Event()
        await self.settled.wait()


class Budgets:
    """The scopes that apply to one piece of work, checked and charged together."""

    def __init__(self, scopes: tuple[Budget, ...], calls: Calls | None = None) -> None:
        self.scopes = scopes
        self.calls = calls or Calls()

    def nested(self, scope: Budget) -> "Budgets":
        return Budgets(self.scopes + (scope,), self.calls)

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

    async def reserve_call(self, worst: Usage, step: str | None) -> Usage:
        """Reserve a model call's worst case (scaled by what responses showed); wait while only
        the reservations of calls in flight stand in the way."""
        want = _scaled(worst, self.calls.scale)
        while True:
            for scope in self.scopes:
                scope.check(want, step, reserved=False)
            if not self.calls.in_flight or all(scope.fits(want) for scope in self.scopes):
                break
            await self.calls.wait_for_change()
        self.reserve_unchecked(want)
        self.calls.in_flight.append((self, want))
        return want

    def end_call(self, reservation: Usage, actual: Usage | None, step: str | None, check: bool = True,
                 cut_off: bool = False) -> None:
        """Settle a model call with what it used (None: it failed and used nothing; `cut_off`: a stop
        ended it in flight, and `actual` is its worst case, since the provider may bill it)."""
        in_flight = self.calls.in_flight
        del in_flight[next(i for i, (_, held) in enumerate(in_flight) if held is reservation)]
        if actual is None:
            self.release(reservation)
        else:
            self._reconcile(reservation, actual)
            self.settle(reservation, actual, step, check=False)
            if cut_off:  # the run's scope (the outermost) keeps them, for its summary
                self.scopes[0].cut_off.add(actual)
        self.calls.changed()
        if actual is not None and check:
            for scope in self.scopes:
                scope.check_spent(step)

    def _reconcile(self, reservation: Usage, actual: Usage) -> None:
        ratio = max(_ratio(actual.tokens, reservation.tokens), _ratio(actual.cost_usd, reservation.cost_usd))
        if ratio <= 1:
            return
        self.calls.scale *= ratio
        for budgets, held in self.calls.in_flight:  # they were sized on the same wrong assumption
            extra = _scaled(held, ratio)
            extra.add(held, -1)
            extra.llm_calls = 0
            budgets.reserve_unchecked(extra)
            held.add(extra)

    def reserve_unchecked(self, usage: Usage) -> None:
        for scope in self.scopes:
            scope.reserved.add(usage)


def _ratio(actual: float, reserved: float) -> float:
    return actual / reserved if reserved > 0 else 1.0


def _scaled(usage: Usage, factor: float) -> Usage:
    if factor == 1:
        return replace(usage)
    return replace(usage, tokens=int(usage.tokens * factor + 0.999), cost_usd=usage.cost_usd * factor)
