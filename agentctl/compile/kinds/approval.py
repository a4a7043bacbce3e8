"""`approval: {message, context, tiers, approver}`: a human (or `auto`) decides whether to go on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from agentctl.compile import ir
from agentctl.compile.expressions import Expr
from agentctl.compile.kinds.base import BOOLEAN, Parts
from agentctl.dimensions import Bounds
from agentctl.spec.models import Approval


@dataclass(frozen=True)
class ApprovalTier:
    when: bool | Expr
    approver: str


@dataclass(frozen=True, kw_only=True)
class ApprovalStep(ir.StepDefBase):
    kind = "approval"
    message: str | Expr
    context: ir.Template
    tiers: tuple[ApprovalTier, ...]
    approver: str


class ApprovalKind:
    name = "approval"
    definition = ApprovalStep
    takes_args = False

    def nested(self, value: Approval) -> list:
        return []

    def output_schema(self, value: Approval, parts: Parts) -> dict | None:
        return {"type": "object", "properties": {"approved": BOOLEAN, "approver": {"type": "string"}},
                "required": ["approved", "approver"]}

    def compile(self, sc, info, value: Approval) -> ApprovalStep:
        path = info.path + ("approval",)
        context = sc.ctx.template(dict(value.context), path + ("context",))
        message = sc.ctx.expr(value.message, path + ("message",))
        sc.read(info, [context, message], sc.reader(info))
        tiers = []
        for i, tier in enumerate(value.tiers):
            when = sc.ctx.expr(tier.when, path + ("tiers", i, "when"))
            sc.read(info, when, sc.reader(info))
            tiers.append(ApprovalTier(when, tier.approver))
        return ApprovalStep(message=message, context=context, tiers=tuple(tiers), approver=value.approver)

    def bounds(self, do: ApprovalStep, parts: Parts, done: Mapping[str, ir.StepNode]) -> Bounds:
        return Bounds(steps=1)

    def describe(self, pipeline: ir.CompiledPipeline, do: ApprovalStep) -> str:
        approvers = [t.approver for t in do.tiers] or [do.approver]
        return f"approval ({' / '.join(approvers)})"

    def subject(self, do: ApprovalStep) -> str | None:
        return None

    def tools(self, pipeline: ir.CompiledPipeline, do: ApprovalStep) -> tuple[str, ...]:
        return ()


KIND = ApprovalKind()
