"""Every tool call, from an agent or a tool step, goes through ToolInvoker.invoke: the journal
is asked first (a call whose result is journaled is never issued again), then approval, the
tool-call budget, the call itself (retried when the tool declares a retry policy and the
failure is retryable), and the events the journal and tracer record."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable, Mapping

from agentctl.compile.ir import PolicyRule, ToolDef
from agentctl.errors import StepError
from agentctl.run.approvals import ApprovalRequest, Approver
from agentctl.run.budget import Budgets
from agentctl.run.evaluate import evaluate, why_false
from agentctl.run.permissions import PolicyCheck, PolicyRefused
from agentctl.run.events import (ApprovalAsked, ApprovalDecided, EventBus, ToolCallFailed, ToolCallRefused,
                                  ToolCallRestored, ToolCallStarted, ToolCallSucceeded)
from agentctl.run.retry import with_retries
from agentctl.run.validation import schema_problems
from agentctl.tools.base import Tool, ToolContext, ToolError

# (key, tool, args) -> ("done", result): this very call succeeded before; ("other", None): another
# call was journaled under this key; ("new", None): neither (nothing, or this call failed).
ToolMemory = Callable[[str, str, dict], tuple[str, Any]]


class ToolDenied(Exception):
    """A human said no to this call."""


class ToolInvoker:
    def __init__(self, tools: Mapping[str, Tool], defs: Mapping[str, ToolDef], approver: Approver, events: EventBus,
                 run_id: str, memory: ToolMemory | None = None, permissions: PolicyCheck | None = None) -> None:
        self.tools = tools
        self.permissions = permissions or PolicyCheck(None, None)
        self.defs = defs
        self.approver = approver
        self.events = events
        self.run_id = run_id
        self.memory = memory or (lambda key, tool, args: ("new", None))

    async def invoke(self, step: str, work: str, index: int, name: str, args: dict, budgets: Budgets,
                     context: Mapping[str, Any] | None = None) -> Any:
        """The call's result; raises ToolDenied or ToolError (after recording the failure).
        `context`: the calling step's expression context (inputs, env, steps), for when: and approval:."""
        scope = {**(context or {}), "args": args}
        rule = self.check_policy(name, args, step)
        self.check_precondition(self.defs[name], scope, step)
        ctx = ToolContext(self.run_id, work, index)
        state, result = self.memory(ctx.idempotency_key, name, args)
        if state == "other":  # a resumed agent asks for something else at this index
            ctx = ToolContext(self.run_id, work, index, _variant(name, args))
            state, result = self.memory(ctx.idempotency_key, name, args)
        key = ctx.idempotency_key
        if state == "masked":  # never call it again (it may have side effects), never hand back ***
            raise StepError(f"the journaled result of tool call {key} ({name}) held a secret, which is never "
                            "journaled, so a resume cannot give it back; run the pipeline again from the start")
        if state == "done":  # journaled by an earlier attempt of this run: never issued again
            self.events.emit(ToolCallRestored(step=step, call_id=key, tool=name))
            return self.checked(name, result)
        if not await self.approve(self.defs[name], scope, step, key, rule):
            raise ToolDenied(name)
        if self.defs[name].rate_limit is not None:
            from agentctl.run.rate_limits import wait_for_turn

            await wait_for_turn(name, *self.defs[name].rate_limit)
        budgets.check_before_tool_call(step)
        self.events.emit(ToolCallStarted(step=step, call_id=key, tool=name, args=args, run_usage=budgets.run_usage()))
        try:
            result = await self._call(self.tools[name], self.defs[name], args, ctx)
        except ToolError as exc:
            self.events.emit(ToolCallFailed(step=step, call_id=key, tool=name, args=args, error=str(exc),
                                            allowed_by=rule.name if rule else ""))
            raise
        self.events.emit(ToolCallSucceeded(step=step, call_id=key, tool=name, args=args, result=result,
                                           run_usage=budgets.run_usage(), allowed_by=rule.name if rule else ""))
        return self.checked(name, result)

    def checked(self, name: str, result: Any) -> Any:
        """A result that breaks the tool's output_schema never reaches a step or a model. (The call
        is journaled as done all the same: its side effects happened, a resume must not repeat it.)"""
        schema = self.defs[name].output_schema
        problems = schema_problems(result, schema) if schema else []
        if problems:
            raise ToolError(f"tool '{name}' returned a result that does not match its output_schema: "
                            + "; ".join(problems))
        return result

    def check_policy(self, name: str, args: dict, step: str) -> PolicyRule | None:
        """The run's role against the pipeline's policy: refused (and the model told which rule), or
        the rule that allows the call or asks for it."""
        try:
            return self.permissions.check_call(name, args)
        except PolicyRefused as exc:
            self.events.emit(ToolCallRefused(step=step, tool=name, reason=str(exc)))
            raise ToolError(str(exc)) from None

    def check_precondition(self, spec: ToolDef, scope: Mapping[str, Any], step: str) -> None:
        """A tool's `when:`: a call for which it is false is refused (the model is told why)."""
        if spec.when is None or evaluate(spec.when, scope):
            return
        reason = f"precondition of {spec.name} not met: {why_false(spec.when, scope)}"
        self.events.emit(ToolCallRefused(step=step, tool=spec.name, reason=reason))
        raise ToolError(reason)

    async def approve(self, spec: ToolDef, scope: Mapping[str, Any], step: str, key: str,
                      rule: PolicyRule | None = None) -> bool:
        """A policy rule that says ask asks its approver; then `permission: ask` always asks, and
        `approval:` asks when its expression holds for this call. Every approver must say yes."""
        asked = []
        if rule is not None and rule.decision == "ask":
            asked.append((rule.approver, f"Allow {spec.name} with these arguments? ({rule.name} asks)"))
        if spec.permission == "ask" or evaluate(spec.approval, scope):
            asked.append((spec.approver, f"Allow {spec.name} with these arguments?"))
        for n, (role, message) in enumerate(asked):
            subject = key if n == 0 else f"{key}/{role}"  # one journaled answer per approver
            if not await self._ask(spec.name, step, role, message, scope["args"], subject):
                return False
        return True

    async def _ask(self, tool: str, step: str, role: str, message: str, args: dict, subject: str) -> bool:
        request = ApprovalRequest(step, role, message, {"tool": tool, "args": args}, subject)
        self.events.emit(ApprovalAsked(step=step, role=role, message=message, tool=tool))
        decision = await self.approver.decide(request)
        self.events.emit(ApprovalDecided(step=step, approved=decision.approved, by=decision.by, role=role, tool=tool))
        return decision.approved

    @staticmethod
    async def _call(tool: Tool, spec: ToolDef, args: dict, ctx: ToolContext) -> Any:
        # A side-effecting tool cannot declare a retry policy (the compiler refuses it, E504).
        if spec.retry is None or spec.side_effects:
            return await tool.call(args, ctx)
        return await with_retries(lambda attempt: tool.call(args, ctx), spec.retry, retryable=_retryable)


def _variant(tool: str, args: dict) -> str:
    text = json.dumps([tool, args], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _retryable(error: BaseException) -> bool:
    return isinstance(error, ToolError) and error.retryable
