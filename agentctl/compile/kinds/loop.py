"""`loop: {max_iterations, until, steps}`: repeat the nested steps until a check holds, at most
`max_iterations` times. A loop without a bound does not compile."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from agentctl.compile import ir
from agentctl.compile.bounds import plus, scaled, total
from agentctl.compile.expressions import Expr
from agentctl.compile.kinds.base import BOOLEAN, Parts
from agentctl.compile.references import UNTIL, Reader
from agentctl.dimensions import Bounds
from agentctl.spec.models import Loop


@dataclass(frozen=True, kw_only=True)
class LoopStep(ir.StepDefBase):
    kind = "loop"
    max_iterations: int
    until: bool | Expr


class LoopKind:
    name = "loop"
    definition = LoopStep
    takes_args = False

    def nested(self, value: Loop) -> list:
        return list(value.steps)

    def output_schema(self, value: Loop, parts: Parts) -> dict | None:
        return {"type": "object", "properties": {"iterations": {"type": "integer"}, "passed": BOOLEAN},
                "required": ["iterations", "passed"]}

    def compile(self, sc, info, value: Loop) -> LoopStep | None:
        if value.max_iterations is None:
            sc.ctx.sink.error("E502", f"loop '{info.spec.id}' has no max_iterations",
                              sc.ctx.smap.key(info.path + ("loop",)),
                              "every loop declares its bound, e.g. max_iterations: 3")
        until = sc.ctx.expr(value.until, info.path + ("loop", "until"))
        sc.read(info, until, Reader(info.lineage + (UNTIL,), sc.base_roots))
        return LoopStep(max_iterations=value.max_iterations or 1, until=until)

    def bounds(self, do: LoopStep, parts: Parts, done: Mapping[str, ir.StepNode]) -> Bounds:
        body = total(done[s].bounds for s in do.body if s in done)
        return plus(scaled(body, do.max_iterations), Bounds(steps=1))

    def describe(self, pipeline: ir.CompiledPipeline, do: LoopStep) -> str:
        return f"loop (≤ {do.max_iterations} iterations)"

    def subject(self, do: LoopStep) -> str | None:
        return None

    def tools(self, pipeline: ir.CompiledPipeline, do: LoopStep) -> tuple[str, ...]:
        return ()


KIND = LoopKind()
