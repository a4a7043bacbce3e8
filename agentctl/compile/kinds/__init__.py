"""The step kinds, compile side: one module each, registered here and nowhere else.

`StepDef` is the tagged union the IR holds (`StepNode.do`); `KINDS` maps each kind's YAML key to
its compiler. spec.models.STEP_KINDS (the YAML shapes) and run.kinds.RUNNERS (execution) list the
same kinds; tests/compile/test_kinds.py fails when any of the three lacks one, or a kind lacks a
part. See docs/architecture.md, "Adding a step kind".
"""

from __future__ import annotations

from typing import Union

from agentctl.compile.kinds import agent, approval, gate, loop, tool
from agentctl.compile.kinds.agent import AgentStep
from agentctl.compile.kinds.approval import ApprovalStep, ApprovalTier
from agentctl.compile.kinds.base import CompileKind
from agentctl.compile.kinds.gate import GateStep
from agentctl.compile.kinds.loop import LoopStep
from agentctl.compile.kinds.tool import ToolStep

StepDef = Union[AgentStep, ToolStep, GateStep, ApprovalStep, LoopStep]

KINDS: dict[str, CompileKind] = {k.name: k for k in (agent.KIND, tool.KIND, gate.KIND, approval.KIND, loop.KIND)}

__all__ = ["KINDS", "StepDef", "AgentStep", "ToolStep", "GateStep", "ApprovalStep", "ApprovalTier", "LoopStep"]
