"""What each kind of step does once it runs: agent, tool, gate, approval. (Loops and fan-out
are scheduling, in executor.py.)"""

from __future__ import annotations

from typing import Any

from agentctl.compile.ir import CompiledPipeline, StepNode
from agentctl.run.agent import AgentRunner, StepError, schema_problems
from agentctl.run.approvals import ApprovalRequest, Approver
from agentctl.run.budget import Budgets
from agentctl.run.evaluate import evaluate
from agentctl.run.events import EventBus
from agentctl.run.tool_calls import ToolDenied, ToolInvoker
from agentctl.tools.base import ToolError


class Denied(Exception):
    """A human said no: the step ends as `denied` and what needs it is skipped."""

    def __init__(self, output: dict) -> None:
        super().__init__("denied")
        self.output = output


class StepKinds:
    def __init__(self, pipeline: CompiledPipeline, agents: AgentRunner, invoker: ToolInvoker,
                 approver: Approver, events: EventBus) -> None:
        self.pipeline = pipeline
        self.agents = agents
        self.invoker = invoker
        self.approver = approver
        self.events = events

    async def agent(self, node: StepNode, context: dict, budgets: Budgets, work: str) -> Any:
        args = evaluate(node.args, context)
        return await self.agents.run(node.id, self.pipeline.agents[node.agent], args, budgets, work)

    async def tool(self, node: StepNode, context: dict, budgets: Budgets, work: str) -> Any:
        args = evaluate(node.args, context)
        problems = schema_problems(args, self.invoker.tools[node.tool].input_schema())
        if problems:
            raise StepError(f"arguments for tool '{node.tool}' do not match its schema: {'; '.join(problems)}")
        try:
            return await self.invoker.invoke(node.id, work, 0, node.tool, args, budgets)
        except ToolDenied:
            raise Denied({"approved": False}) from None
        except ToolError as exc:
            raise StepError(str(exc)) from None

    async def gate(self, node: StepNode, context: dict, budgets: Budgets) -> Any:
        gate = node.gate
        if evaluate(gate.check, context):
            return {"passed": True}
        message = evaluate(gate.message, context) if gate.message is not None else "the gate's check is false"
        if gate.on_fail == "warn":
            self.events.emit("warning", node.id, message=message)
            return {"passed": False}
        if gate.on_fail == "approve":
            request = ApprovalRequest(node.id, "human", f"{message}. Continue anyway?", {})
            decision = await self.approver.decide(request)
            self.events.emit("approval", node.id, approved=decision.approved, by=decision.by)
            if decision.approved:
                return {"passed": False, "approved_by": decision.by}
            raise Denied({"passed": False})
        raise StepError(f"gate failed: {message}")

    async def approval(self, node: StepNode, context: dict, budgets: Budgets) -> Any:
        spec = node.approval
        role = spec.approver
        for tier in spec.tiers:
            if evaluate(tier.when, context):
                role = tier.approver
                break
        message = evaluate(spec.message, context)
        if role == "auto":
            self.events.emit("approval", node.id, approved=True, by="auto")
            return {"approved": True, "approver": "auto"}
        request = ApprovalRequest(node.id, role, message, evaluate(spec.context, context))
        decision = await self.approver.decide(request)
        self.events.emit("approval", node.id, approved=decision.approved, by=decision.by, role=role)
        if not decision.approved:
            raise Denied({"approved": False, "approver": role})
        return {"approved": True, "approver": role}
