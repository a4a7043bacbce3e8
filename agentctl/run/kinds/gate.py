"""Running a gate: its check passes, or it fails the run, warns, or asks a human to go on."""

from __future__ import annotations

from typing import Any

from agentctl.compile.kinds import GateStep
from agentctl.errors import StepError
from agentctl.run.approvals import ApprovalRequest
from agentctl.run.budget import Budget
from agentctl.run.evaluate import evaluate
from agentctl.run.events import ApprovalAsked, ApprovalDecided, GateWarned
from agentctl.run.kinds.base import Denied, Engine, StepCall


class GateRun:
    holds_slot = True

    def scopes(self, engine: Engine, do: GateStep) -> tuple[Budget, ...]:
        return ()

    async def run(self, engine: Engine, call: StepCall, do: GateStep) -> Any:
        step = call.node.id
        if evaluate(do.check, call.context):
            return {"passed": True}
        message = evaluate(do.message, call.context) if do.message is not None else "the gate's check is false"
        if do.on_fail == "warn":
            engine.events.emit(GateWarned(step=step, message=message))
            return {"passed": False}
        if do.on_fail == "approve":
            request = ApprovalRequest(step, "human", f"{message}. Continue anyway?", {}, call.scope)
            engine.events.emit(ApprovalAsked(step=step, role="human", message=request.message))
            decision = await engine.approver.decide(request)
            engine.events.emit(ApprovalDecided(step=step, approved=decision.approved, by=decision.by, role="human"))
            if decision.approved:
                return {"passed": False, "approved_by": decision.by}
            raise Denied({"passed": False})
        raise StepError(f"gate failed: {message}")


RUN = GateRun()
