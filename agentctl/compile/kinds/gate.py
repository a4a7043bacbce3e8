"""`gate: {check, message, on_fail}`: a check that stops, warns or asks a human when false."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Mapping

from agentctl.compile import ir
from agentctl.compile.expressions import Expr
from agentctl.compile.kinds.base import BOOLEAN, Parts
from agentctl.dimensions import Bounds
from agentctl.spec.models import Gate


@dataclass(frozen=True, kw_only=True)
class GateStep(ir.StepDefBase):
    kind = "gate"
    check: bool | Expr
    message: str | Expr | None
    on_fail: Literal["fail", "warn", "approve"]


class GateKind:
    name = "gate"
    definition = GateStep
    takes_args = False

    def nested(self, value: Gate) -> list:
        return []

    def output_schema(self, value: Gate, parts: Parts) -> dict | None:
        return {"type": "object", "properties": {"passed": BOOLEAN, "approved_by": {"type": "string"}},
                "required": ["passed"]}

    def compile(self, sc, info, value: Gate) -> GateStep:
        check = sc.ctx.expr(value.check, info.path + ("gate", "check"))
        message = sc.ctx.expr(value.message, info.path + ("gate", "message"))
        sc.read(info, [check, message], sc.reader(info))
        return GateStep(check=check, message=message, on_fail=value.on_fail)

    def bounds(self, do: GateStep, parts: Parts, done: Mapping[str, ir.StepNode]) -> Bounds:
        return Bounds(steps=1)

    def describe(self, pipeline: ir.CompiledPipeline, do: GateStep) -> str:
        return f"gate (on fail: {do.on_fail})"

    def subject(self, do: GateStep) -> str | None:
        return None

    def tools(self, pipeline: ir.CompiledPipeline, do: GateStep) -> tuple[str, ...]:
        return ()


KIND = GateKind()
