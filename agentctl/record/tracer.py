"""Engine events to trace spans, following the OpenTelemetry GenAI semantic conventions.

One trace per run: `invoke_workflow {pipeline}` at the root, a span per step (per loop iteration;
an agent step's span is `invoke_agent {name}`, other steps' `step {id}`), `chat {model}` per model
attempt (retries and fallbacks are separate attempts), `execute_tool {name}` per tool call, and
spans for approvals; every step span carries agentctl.step.id and agentctl.step.kind.
Token usage is set on chat spans only, so nothing is counted twice up the tree. Prompt and
completion content is recorded only with `content=True`, and always through the Redactor.

Spans are built as the events arrive, with the events' own times, as plain SpanRecords;
otel_export.py writes the OTLP/JSON file straight from them and hands them to the OpenTelemetry
SDK for a collector (the only importer of OpenTelemetry).
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass
from typing import Any, assert_never

from agentctl import __version__
from agentctl.compile.ir import CompiledPipeline
from agentctl.compile.kinds import AgentStep
from agentctl.record import genai
from agentctl.record.genai import KINDS, provider_and_model
from agentctl.record.otel_config import traceparent_headers
from agentctl.record.redact import Redactor
from agentctl.run.events import (ApprovalAsked, ApprovalDecided, Event, GateWarned, ItemFinished,
                                 LlmAnswerRestored, LlmAttemptFailed, LlmAttemptStarted, LlmAttemptSucceeded,
                                 OutputReasked, RunFinished, RunStarted, ServerPhase, ServerStarting, ServerStopping,
                                 StepFinished, StepStarted, ToolCallFailed, ToolCallRefused, ToolCallRestored,
                                 ToolCallStarted, ToolCallSucceeded)
from agentctl.tools.base import TRACE_HEADERS

_FAILED = ("failed", "cancelled")
_IMPORT_TRACED = False  # litellm's import is shown in the first run of a process only


@dataclass(slots=True)
class SpanRecord:
    name: str
    span_id: int
    parent_id: int | None
    start_ns: int
    attributes: dict[str, Any]
    kind: str = "internal"  # or "client": a call to a model
    end_ns: int | None = None
    error: str | None = None  # the status description of a failed span
    links: tuple = ()  # (trace id, span id) of spans this one follows from


def _ns(monotonic_at: float, offset: float) -> int:
    return int((monotonic_at + offset) * 1e9)


def _new_id(bits: int) -> int:
    return random.getrandbits(bits) or 1  # zero is the invalid id


class RunTracer:
    """`continues`: (trace id, root span id) of the run's first attempt, for a resumed or approved
    run: its spans join that trace under a continuation span (a child of the first root, linked
    to it), so one run is one trace. Otherwise a TRACEPARENT in the environment is the parent."""

    def __init__(self, pipeline: CompiledPipeline, run_id: str, redactor: Redactor, content: bool = False,
                 continues: tuple[int, int] | None = None) -> None:
        from agentctl.record.otel_config import parent_from_environment, resource_attributes

        self.pipeline = pipeline
        self.run_id = run_id
        self.redact = redactor
        self.content = content
        self.continues = continues
        parent = parent_from_environment() if continues is None else None
        self.trace_id = continues[0] if continues else parent[0] if parent else _new_id(128)
        self.root_parent = continues[1] if continues else parent[1] if parent else None
        self.root_id = _new_id(64)
        self.resource = resource_attributes()
        self.scope = ("agentctl", __version__)
        self.offset = time.time() - time.monotonic()  # events carry monotonic times; spans want epoch
        self.started: list[SpanRecord] = []  # in start order: a parent before its children
        self.root: SpanRecord | None = None
        self.steps: dict[tuple[str, str], SpanRecord] = {}
        self.open: dict[str | int, SpanRecord] = {}  # attempts and tool calls in flight, by id
        self.scope_of: dict[str, str] = {}  # the scope a step is running in now
        self.common = {"gen_ai.conversation.id": run_id, "session.id": run_id}

    def __call__(self, event: Event) -> None:
        match event:
            case RunStarted():
                self.run_started(event)
            case StepStarted():
                self.step_started(event)
            case StepFinished():
                self.step_finished(event)
            case LlmAttemptStarted():
                self.attempt_started(event)
            case LlmAttemptSucceeded():
                self.attempt_succeeded(event)
            case LlmAttemptFailed():
                if (span := self.open.pop(event.attempt_id, None)) is not None:
                    self.end(span, event.at, event.error, event.error_kind or "error")
            case ToolCallStarted():
                self.open[event.call_id] = span = self.tool_span(event.step, event.tool, event.call_id, event.at)
                if self.content:
                    span.attributes["gen_ai.tool.call.arguments"] = self.redact.json(event.args)
                if getattr(self.pipeline.tools.get(event.tool), "kind", "python") != "python":  # crosses a process
                    TRACE_HEADERS.set(traceparent_headers(self.trace_id, span.span_id))
            case ToolCallRestored():
                self.end(self.tool_span(event.step, event.tool, event.call_id, event.at, restored=True), event.at)
            case ToolCallSucceeded():
                if (span := self.open.pop(event.call_id, None)) is not None:
                    if event.allowed_by:
                        span.attributes["agentctl.policy.rule"] = event.allowed_by
                    if self.content:
                        span.attributes["gen_ai.tool.call.result"] = self.redact.json(event.result)
                    self.end(span, event.at)
            case ToolCallFailed():
                if (span := self.open.pop(event.call_id, None)) is not None:
                    self.end(span, event.at, event.error, "tool_error")
            case ToolCallRefused():
                span = self.start(f"execute_tool {event.tool}", self.step_span(event.step), event.at, "tool", **{
                    "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": event.tool,
                    "agentctl.tool.refused": event.reason})
                self.end(span, event.at, event.reason, "refused")
            case ApprovalDecided():
                span = self.start(f"approval {event.step}", self.step_span(event.step), event.at, "approval", **{
                    "agentctl.approval.approved": event.approved, "agentctl.approval.by": event.by,
                    "agentctl.approval.role": event.role, "gen_ai.tool.name": event.tool})
                self.end(span, event.at)
            case RunFinished():
                self.run_finished(event)
            case LlmAnswerRestored():
                provider, model = provider_and_model(event.model)
                span = self.start(f"chat {model}", self.step_span(event.step), event.at, "chat", "client", **{
                    "gen_ai.operation.name": "chat", "gen_ai.provider.name": provider, "gen_ai.request.model": model,
                    "agentctl.model.route": event.model, "agentctl.answer.restored": True})
                self.end(span, event.at)
            case ServerPhase():
                span = self.start(f"mcp {event.phase} {event.server}", self.root, event.started_at, "startup", **{
                    "agentctl.mcp.server": event.server, "agentctl.mcp.phase": event.phase})
                self.end(span, event.at, event.error, "mcp_start" if event.error else None)
            case (ItemFinished() | ApprovalAsked() | OutputReasked() | GateWarned() | ServerStarting()
                  | ServerStopping()):
                pass  # a server's start is one span, from ServerPhase, and so is the servers' stop
            case _:
                assert_never(event)

    def records(self) -> list[SpanRecord]:
        """The finished spans, parents first (a span never ended, as in a killed run, is left out)."""
        return [record for record in self.started if record.end_ns is not None]

    def spans(self) -> tuple:
        """The finished spans as the OpenTelemetry SDK's ReadableSpans (what exporters take)."""
        from agentctl.record import otel_export

        return otel_export.sdk_spans(self.records(), self.trace_id, self.resource, self.scope)

    def start(self, name: str, parent: SpanRecord | None, at: float, role: str, kind: str = "internal",
              **attributes: Any) -> SpanRecord:
        """`role` is agentctl's (workflow, step, agent, chat, tool, gate, approval), mapped to the
        OpenInference span kind; every span names its run as the conversation (and session) it belongs to."""
        attributes = {k: v for k, v in attributes.items() if v is not None}
        attributes.update(self.common)
        attributes["openinference.span.kind"] = KINDS[role]
        record = SpanRecord(name, _new_id(64), parent.span_id if parent is not None else None,
                            _ns(at, self.offset), attributes, kind)
        self.started.append(record)
        return record

    def end(self, span: SpanRecord, at: float, error: str | None = None, error_type: str | None = None) -> None:
        if error is not None:
            span.error = self.redact.text(error)[:500]
            span.attributes["error.type"] = error_type or "error"
        span.end_ns = _ns(at, self.offset)

    def step_span(self, step: str) -> SpanRecord | None:
        return self.steps.get((step, self.scope_of.get(step, ""))) or self.root

    def run_started(self, event: RunStarted) -> None:
        name = f"{'continue' if self.continues else 'invoke_workflow'} {self.pipeline.name}"
        self.root = self.start(name, None, event.at, "workflow", **{
            "gen_ai.operation.name": "invoke_workflow", "agentctl.run_id": self.run_id,
            "agentctl.pipeline": self.pipeline.name, "agentctl.pipeline.version": self.pipeline.version,
            "agentctl.continuation": True if self.continues else None})
        self.root.span_id, self.root.parent_id = self.root_id, self.root_parent
        if self.continues:
            self.root.links = (self.continues,)
        self.library_import()

    def library_import(self) -> None:
        """litellm's import (2-3 s) as a span, once per process: before the run (the root then
        starts with it) or during it (loaded while MCP servers start, llm/loading.py); not when it
        happened long before the run."""
        global _IMPORT_TRACED
        imported = getattr(sys.modules.get("agentctl.llm.litellm_client"), "IMPORTED", None)
        root = self.root
        if _IMPORT_TRACED or imported is None or self.continues:
            return
        _IMPORT_TRACED = True
        began, ended = imported
        start_ns, end_ns = _ns(began, self.offset), _ns(ended, self.offset)
        if root.start_ns - end_ns > 5 * 10**9:  # long before the run: not what delayed it
            return
        root.start_ns = min(root.start_ns, start_ns)
        span = self.start("import litellm", root, began, "startup", **{"agentctl.startup": "model library import"})
        span.end_ns = end_ns

    def step_started(self, event: StepStarted) -> None:
        self.scope_of[event.step] = event.scope
        node = self.pipeline.steps[event.step]
        parent = self.steps.get((node.parent, _outer(event.scope))) if node.parent else self.root
        attributes = {"agentctl.step.id": event.step, "agentctl.step.kind": event.kind,
                      "agentctl.step.scope": event.scope or None}
        name, role = f"step {event.step}", event.kind if event.kind in ("gate", "approval") else "step"
        if isinstance(node.do, AgentStep):  # agents get the GenAI agent span; every other kind a step span
            prompt = self.pipeline.agents[node.do.agent].prompt
            name, role = f"invoke_agent {node.do.agent}", "agent"
            attributes.update({"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": node.do.agent,
                               "agentctl.prompt.name": prompt.name, "agentctl.prompt.version": prompt.version})
        self.steps[(event.step, event.scope)] = self.start(name, parent or self.root, event.at, role, **attributes)

    def step_finished(self, event: StepFinished) -> None:
        span = self.steps.pop((event.step, event.scope), None)
        if span is None:
            if not event.restored and event.status == "skipped":
                self.end(self.start(f"step {event.step}", self.root, event.at, "step", **{
                    "agentctl.step.id": event.step, "agentctl.step.status": "skipped"}), event.at)
            return
        error = event.error if event.status in _FAILED else None
        span.attributes.update({"agentctl.step.status": event.status, "agentctl.cost_usd": float(event.usage.cost_usd)})
        self.end(span, event.at, error, "step_failed")

    def attempt_started(self, event: LlmAttemptStarted) -> None:
        provider, model = provider_and_model(event.model)
        span = self.start(f"chat {model}", self.step_span(event.step), event.at, "chat", "client", **{
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": provider, "gen_ai.request.model": model,
            "agentctl.model.route": event.model, "agentctl.attempt": event.attempt})
        if self.content and event.messages is not None:
            instructions = genai.system_instructions(event.messages)
            if instructions:
                span.attributes["gen_ai.system_instructions"] = self.redact.json(instructions)
            span.attributes["gen_ai.input.messages"] = self.redact.json(genai.input_messages(event.messages))
            if event.tools:
                span.attributes["gen_ai.tool.definitions"] = self.redact.json(genai.tool_definitions(event.tools))
        self.open[event.attempt_id] = span

    def attempt_succeeded(self, event: LlmAttemptSucceeded) -> None:
        span = self.open.pop(event.attempt_id, None)
        if span is None:
            return
        span.attributes.update({"gen_ai.response.model": event.response_model or span.attributes["gen_ai.request.model"],
                                "gen_ai.usage.input_tokens": event.input_tokens,
                                "gen_ai.usage.output_tokens": event.output_tokens,
                                "agentctl.cost_usd": float(event.cost_usd),
                                "llm.cost.total": float(event.cost_usd)})  # OpenInference readers: agentctl's price
        if event.finish_reason:
            span.attributes["gen_ai.response.finish_reasons"] = (event.finish_reason,)
        if event.remaining_usd is not None:
            span.attributes["agentctl.budget.remaining_usd"] = float(event.remaining_usd)
        if self.content:
            span.attributes["gen_ai.output.messages"] = self.redact.json(
                genai.output_messages(event.content, event.tool_calls, event.finish_reason))
        self.end(span, event.at)

    def tool_span(self, step: str, tool: str, call_id: str, at: float, restored: bool = False) -> SpanRecord:
        return self.start(f"execute_tool {tool}", self.step_span(step), at, "tool", **{
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool, "gen_ai.tool.call.id": call_id,
            "agentctl.tool.restored": restored or None})

    def run_finished(self, event: RunFinished) -> None:
        paused = event.status == "paused"  # waiting for a human is not an error: the run goes on later
        for span in list(self.open.values()) + list(self.steps.values()):
            if paused:
                span.attributes["agentctl.step.status"] = "paused"
                self.end(span, event.at)
            else:
                self.end(span, event.at, "cancelled", "cancelled")
        self.open.clear(), self.steps.clear()
        if self.root is None:
            return
        self.library_import()  # loaded during the run, in the background
        cost = float(event.usage.cost_usd)
        self.root.attributes.update({"agentctl.run.status": event.status, "agentctl.status": event.status,
                                     "agentctl.cost_usd": cost})
        if self.pipeline.limits.max_cost_usd is not None:
            self.root.attributes["agentctl.budget.remaining_usd"] = self.pipeline.limits.max_cost_usd - cost
        error = event.error if event.status not in ("succeeded", "paused") else None
        self.end(self.root, event.at, error, event.status if error else None)


def _outer(scope: str) -> str:
    """The scope of the loop that holds a body step: 'a#1/b#2/' -> 'a#1/'."""
    parts = [p for p in scope.split("/") if p]
    return "/".join(parts[:-1]) + "/" if len(parts) > 1 else ""
