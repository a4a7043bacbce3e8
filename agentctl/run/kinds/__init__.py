"""The step kinds, run side: one module each, registered here by the compiled definition they
execute. compile.kinds.KINDS lists the same kinds; tests/compile/test_kinds.py checks both."""

from __future__ import annotations

from agentctl.compile.kinds import AgentStep, ApprovalStep, GateStep, LoopStep, ToolStep
from agentctl.run.kinds import agent, approval, gate, loop, tool
from agentctl.run.kinds.base import Denied, RunKind, StepCall

RUNNERS: dict[type, RunKind] = {
    AgentStep: agent.RUN,
    ToolStep: tool.RUN,
    GateStep: gate.RUN,
    ApprovalStep: approval.RUN,
    LoopStep: loop.RUN,
}

__all__ = ["RUNNERS", "Denied", "RunKind", "StepCall"]
