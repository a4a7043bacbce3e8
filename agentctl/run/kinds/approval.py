"""Running an approval: the first tier whose `when` holds picks who decides; `auto` approves."""

from __future__ import annotations

from typing import Any

from agentctl.compile.kinds import ApprovalStep
from agentctl.run.approvals import ApprovalRequest
from agentctl.run.budget import Budget
from agentctl.run.evaluate import evaluate
from agentctl.run.events import ApprovalAsked, ApprovalDecided
from agentctl.run.kinds.base import Denied, Engine, StepCall


class ApprovalRun:
    holds_slot = False  # may wait for a human for a long time

    def scopes(self, engine: Engine, do: ApprovalStep) -> tuple[Budget, ...]:
        return ()

    async def run(self, engine: Engine, call: StepCall, do: ApprovalStep) -> Any:
        step = call.node.id
        role = next((tier.approver for tier in do.tiers if evaluate(tier.when, call.context)), do.approver)
        message = evaluate(do.message, call.context)
        if role == "auto":
            engine.events.emit(ApprovalDecided(step=step, approved=True, by="auto", role="auto"))
            return {"approved": True, "approver": "auto"}
        # One question per execution: each loop iteration (its scope) is asked on its own.
        request = ApprovalRequest(step, role, message, evaluate(do.context, call.context), call.scope)
        engine.events.emit(ApprovalAsked(step=step, role=role, message=message))
        decision = await engine.approver.decide(request)
        engine.events.emit(ApprovalDecided(step=step, approved=decision.approved, by=decision.by, role=role))
        if not decision.approved:
            raise Denied({"approved": False, "approver": role})
        return {"approved": True, "approver": role}


RUN = ApprovalRun()
