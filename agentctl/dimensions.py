"""Budget dimensions, declared once. Everything else is derived from DIMENSIONS: the `budgets:`
fields of the pipeline format, the compiled Limits and worst-case Bounds, Usage and its
arithmetic, the budget checks, `graph`'s bounds, the live view's totals, `resume --budget`, the
usage restored from the journal and `--json`.

A dimension is either counted (every step, call and token adds to Usage; the compiler bounds the
worst case) or a clock (wall time: measured, not counted, and not bounded at compile time).
Adding one is one line here; the engine still has to charge it where it is spent.
"""

from __future__ import annotations

from dataclasses import dataclass, field, make_dataclass
from typing import Any, Mapping


@dataclass(frozen=True)
class Dimension:
    name: str  # the Usage field; the limit is `max_<name>`
    noun: str  # one unit, for counts: "1 LLM call", "3 LLM calls"
    label: str  # in lists of limits: "LLM calls ≤ 40"
    type: type  # int or float
    minimum: float  # the smallest limit allowed
    exclusive: bool = False  # True: the limit must be above `minimum`
    maximum: float | None = None
    money: bool = False  # shown as $0.0000
    clock: bool = False  # measured against a clock, not counted
    description: str = ""

    @property
    def limit(self) -> str:
        return f"max_{self.name}"

    def format(self, value: float | None) -> str:
        """'3 LLM calls', '$0.0120', '12.0 s'; '?' for an unknown or unbounded value."""
        if self.money:
            return "$?" if value is None else f"${value:.4f}"
        if value is None:
            return f"? {self.noun}s"
        if self.clock:
            return f"{value:.1f} s"
        return f"{value:,} {self.noun}" + ("" if value == 1 else "s")

    def parse(self, raw: str) -> float | int:
        """A limit given on the command line; ValueError when it is not one."""
        value = self.type(raw)
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("must be a finite number")
        if value < self.minimum or (self.exclusive and value == self.minimum):
            raise ValueError(f"must be {'above' if self.exclusive else 'at least'} {self.minimum:g}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"must be at most {self.maximum:g}")
        return value


DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("steps", "step", "steps", int, 1, maximum=10**9,
              description="Steps that succeeded, counting every loop iteration's and fan-out item's"),
    Dimension("llm_calls", "LLM call", "LLM calls", int, 1, maximum=10**9,
              description="Model calls answered, retries and fallbacks included"),
    Dimension("tool_calls", "tool call", "tool calls", int, 0, maximum=10**9, description="Tool calls issued"),
    Dimension("tokens", "token", "tokens", int, 1, maximum=10**15, description="Input plus output tokens"),
    Dimension("cost_usd", "USD", "USD", float, 0, exclusive=True, maximum=10**9, money=True,
              description="USD spent on model calls, at declared or litellm prices"),
    Dimension("wall_s", "second", "seconds", float, 0, exclusive=True, maximum=86_400, clock=True,
              description="Wall-clock seconds of one attempt of the run"),
)
COUNTED = tuple(d for d in DIMENSIONS if not d.clock)
BY_LIMIT = {d.limit: d for d in DIMENSIONS}
_COUNTED_NAMES = tuple(d.name for d in COUNTED)


def _add(self, other, sign: int = 1) -> None:
    for name in _COUNTED_NAMES:
        setattr(self, name, getattr(self, name) + sign * getattr(other, name))


def _as_dict(self) -> dict[str, Any]:
    return {name: getattr(self, name) for name in _COUNTED_NAMES}


def _from_dict(cls, values: Mapping[str, Any]):
    """From a journal row or --json (unknown keys, from a newer agentctl, are ignored)."""
    return cls(**{d.name: d.type(values.get(d.name) or 0) for d in COUNTED})


def _limit_items(self) -> list[tuple[Dimension, float]]:
    return [(d, getattr(self, d.limit)) for d in DIMENSIONS if getattr(self, d.limit) is not None]


# What a run, a step or a call used, in every counted dimension.
Usage = make_dataclass(
    "Usage", [(d.name, d.type, field(default=d.type(0))) for d in COUNTED], slots=True,
    namespace={"add": _add, "as_dict": _as_dict, "from_dict": classmethod(_from_dict), "__module__": __name__})

# Hard limits; None means no limit in that dimension.
Limits = make_dataclass(
    "Limits", [(d.limit, d.type | None, field(default=None)) for d in DIMENSIONS], frozen=True,
    namespace={"items": _limit_items, "__module__": __name__})

# Worst-case usage; None means unbounded or unknown in that dimension.
Bounds = make_dataclass(
    "Bounds", [(d.name, d.type | None, field(default=d.type(0))) for d in COUNTED], frozen=True,
    namespace={"__module__": __name__})


def bounds_of(values: Mapping[str, float | None]) -> Bounds:
    """Bounds from {dimension name: value}; a missing dimension is 0."""
    return Bounds(**{d.name: _typed(d, values.get(d.name, 0)) for d in COUNTED})


def _typed(d: Dimension, value: float | None) -> float | None:
    return None if value is None else d.type(value)

