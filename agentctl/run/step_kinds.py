"""What each kind of step does once it runs: agent, tool, gate, approval. (Loops and fan-out
are scheduling, in executor.py.)"""

from __future__ import annotations

from typing import Any, Mapping

from agentctl.compile.ir import CompiledPipeline, StepNode, ToolDef
from agentctl.run.agent import AgentRunner, StepError, schema_problems
from agentctl.run.approvals import ApprovalRequest, Approver
from agentctl.run.budget import Budgets
from agentctl.run.evaluate import evaluate
from agentctl.run.events import EventBus
from agentctl.run.tool_calls import call_tool
from agentctl.tools.base import Tool, ToolContext, ToolError


class Denied(Exception):
    """A human said no: the step ends as `denied` and what needs it is skipped."""

    def __init__(self, output: dict) -> None:
        super().__init__("denied")
        self.output = output


class StepKinds:
    def __init__(self, pipeline: CompiledPipeline, agents: AgentRunner, tools: Mapping[str, Tool],
                 approver: Approver, events: EventBus, run_id: str, memory=None) -> None:
        self.memory = memory or (lambda key: (False, None))
        self.pipeline = pipeline
        self.agents = agents
        self.tools = tools
        self.approver = approver
        self.events = events
        self.run_id = run_id

    async def agent(self, node: StepNode, context: dict, budgets: Budgets, work: str) -> Any:
        args = evaluate(node.args, context)
        return await self.agents.run(node.id, self.pipeline.agents[node.agent], args, budgets, work)

    async def tool(self, node: StepNode, context: dict, budgets: Budgets, work: str) -> Any:
        spec = self.pipeline.tools[node.tool]
        tool = self.tools[node.tool]
        args = evaluate(node.args, context)
        problems = schema_problems(args, tool.input_schema())
        if problems:
            raise StepError(f"arguments for tool '{node.tool}' do not match its schema: {'; '.join(problems)}")
        ctx = ToolContext(self.run_id, work, 0)
        found, result = self.memory(ctx.idempotency_key)
        if found:  # journaled by an earlier attempt of this run: never issued again
            self.events.emit("tool_call", node.id, tool=node.tool, call_id=ctx.idempotency_key, state="restored")
            return result
        if not await self.approve_tool(spec, args, node.id, ctx.idempotency_key):
            raise Denied({"approved": False})
        budgets.check_before_tool_call(node.id)
        self.events.emit("tool_call", node.id, tool=node.tool, call_id=ctx.idempotency_key, state="started", args=args)
        try:
            result = await call_tool(tool, spec, args, ctx)
        except ToolError as exc:
            self.events.emit("tool_call", node.id, tool=node.tool, call_id=ctx.idempotency_key, state="failed",
                             args=args, error=str(exc))
            raise StepError(str(exc)) from None
        self.events.emit("tool_call", node.id, tool=node.tool, call_id=ctx.idempotency_key, state="succeeded",
                         args=args, result=result)
        return result

    async def approve_tool(self, spec: ToolDef, args: dict, step: str, key: str) -> bool:
        """`permission: ask` always asks; `approval:` asks when its expression holds for these args."""
        wanted = spec.permission == "ask" or bool(evaluate(spec.approval, {"args": args}))
        if not wanted:
            return True
        request = ApprovalRequest(step, "human", f"Allow {spec.name} with these arguments?", {"args": args}, key)
        decision = await self.approver.decide(request)
        self.events.emit("approval", step, approved=decision.approved, by=decision.by, tool=spec.name)
        return decision.approved

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
