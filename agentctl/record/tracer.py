"""Engine events to OpenTelemetry spans, following the GenAI semantic conventions.

One trace per run: `invoke_workflow {pipeline}` at the root, a span per step (per loop iteration;
an agent step's span is `invoke_agent {name}`, other steps' `step {id}`), `chat {model}` per model
attempt (retries and fallbacks are separate attempts), `execute_tool {name}` per tool call, and
spans for approvals; every step span carries agentctl.step.id and agentctl.step.kind.
Token usage is set on chat spans only, so nothing is counted twice up the tree. Prompt and
completion content is recorded only with `content=True`, and always through the Redactor.
This module and otel_export.py are the only importers of OpenTelemetry.
"""

from __future__ import annotations

import json
import time
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.trace import SpanKind, Status, StatusCode

from agentctl import __version__
from agentctl.compile.ir import CompiledPipeline
from agentctl.record.redact import Redactor
from agentctl.run.events import Event

_FAILED = ("failed", "cancelled")


def _ns(monotonic_at: float, offset: float) -> int:
    return int((monotonic_at + offset) * 1e9)


class RunTracer:
    def __init__(self, pipeline: CompiledPipeline, run_id: str, redactor: Redactor, content: bool = False) -> None:
        self.pipeline = pipeline
        self.run_id = run_id
        self.redact = redactor
        self.content = content
        self.collected = _Collect()
        resource = Resource.create({"service.name": "agentctl", "service.version": __version__,
                                    "agentctl.pipeline": pipeline.name})
        self.provider = TracerProvider(resource=resource)
        self.provider.add_span_processor(self.collected)
        self.tracer = self.provider.get_tracer("agentctl", __version__)
        self.offset = time.time() - time.monotonic()  # events carry monotonic times; spans want epoch
        self.root: Any = None
        self.steps: dict[tuple[str, str], Any] = {}
        self.open: dict[str, Any] = {}  # attempts and tool calls in flight, by id
        self.scope_of: dict[str, str] = {}  # the scope a step is running in now

    # ------------------------------------------------------------------------------------------
    def __call__(self, event: Event) -> None:
        handler = getattr(self, "on_" + event.kind, None)
        if handler is not None:
            handler(event, event.data)

    def start(self, name: str, parent: Any, at: float, kind: SpanKind = SpanKind.INTERNAL, **attributes: Any):
        context = trace.set_span_in_context(parent) if parent is not None else None
        clean = {k: v for k, v in attributes.items() if v is not None}
        return self.tracer.start_span(name, context=context, kind=kind, start_time=_ns(at, self.offset),
                                      attributes=clean)

    def end(self, span: Any, at: float, error: str | None = None, error_type: str | None = None) -> None:
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, self.redact.text(error)[:500]))
            span.set_attribute("error.type", error_type or "error")
        span.end(end_time=_ns(at, self.offset))

    def on_run_started(self, event: Event, d: dict) -> None:
        self.root = self.start(f"invoke_workflow {self.pipeline.name}", None, event.at,
                               **{"gen_ai.operation.name": "invoke_workflow", "agentctl.run_id": self.run_id,
                                  "agentctl.pipeline.version": self.pipeline.version})

    def on_step_started(self, event: Event, d: dict) -> None:
        scope = d.get("scope", "")
        self.scope_of[event.step] = scope
        node = self.pipeline.steps[event.step]
        parent = self.steps.get((node.parent, _outer(scope))) if node.parent else self.root
        attributes = {"agentctl.step.id": event.step, "agentctl.step.kind": d["step_kind"],
                      "agentctl.step.scope": scope or None}
        name = f"step {event.step}"
        if node.kind == "agent":
            prompt = self.pipeline.agents[node.agent].prompt
            name = f"invoke_agent {node.agent}"
            attributes.update({"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": node.agent,
                               "agentctl.prompt.name": prompt.name, "agentctl.prompt.version": prompt.version})
        self.steps[(event.step, scope)] = self.start(name, parent or self.root, event.at, **attributes)

    def on_step_finished(self, event: Event, d: dict) -> None:
        scope = d.get("scope", "")
        span = self.steps.pop((event.step, scope), None)
        if span is None:
            if not d.get("restored") and d["status"] == "skipped":
                self.end(self.start(f"step {event.step}", self.root, event.at, **{
                    "agentctl.step.id": event.step, "agentctl.step.status": "skipped"}), event.at)
            return
        error = d.get("error") if d["status"] in _FAILED else None
        usage = d.get("usage") or {}
        span.set_attribute("agentctl.step.status", d["status"])
        span.set_attribute("agentctl.cost_usd", float(usage.get("cost_usd", 0.0)))
        self.end(span, event.at, error, "step_failed")

    def on_llm_attempt(self, event: Event, d: dict) -> None:
        key = d["attempt_id"]
        if d["state"] == "started":
            scope = self.scope_of.get(event.step, "")
            parent = self.steps.get((event.step, scope)) or self.root
            provider, _, _ = d["model"].partition("/")
            span = self.start(f"chat {d['model']}", parent, event.at, SpanKind.CLIENT, **{
                "gen_ai.operation.name": "chat", "gen_ai.provider.name": provider or "openai",
                "gen_ai.request.model": d["model"], "agentctl.attempt": d["attempt"]})
            if self.content and d.get("messages") is not None:
                span.set_attribute("gen_ai.input.messages", self.redact.text(json.dumps(d["messages"], default=str)))
            self.open[key] = span
            return
        span = self.open.pop(key, None)
        if span is None:
            return
        if d["state"] == "failed":
            self.end(span, event.at, d.get("error"), d.get("error_kind") or "error")
            return
        span.set_attribute("gen_ai.response.model", d.get("response_model") or d["model"])
        span.set_attribute("gen_ai.usage.input_tokens", d["input_tokens"])
        span.set_attribute("gen_ai.usage.output_tokens", d["output_tokens"])
        if d.get("finish_reason"):
            span.set_attribute("gen_ai.response.finish_reasons", [d["finish_reason"]])
        span.set_attribute("agentctl.cost_usd", float(d["cost_usd"]))
        if d.get("remaining_usd") is not None:
            span.set_attribute("agentctl.budget.remaining_usd", float(d["remaining_usd"]))
        if self.content and d.get("content") is not None:
            span.set_attribute("gen_ai.output.messages", self.redact.text(json.dumps(
                [{"role": "assistant", "content": d["content"]}], default=str)))
        self.end(span, event.at)

    def on_tool_call(self, event: Event, d: dict) -> None:
        key = d["call_id"]
        if d["state"] in ("started", "restored"):
            scope = self.scope_of.get(event.step, "")
            parent = self.steps.get((event.step, scope)) or self.root
            span = self.start(f"execute_tool {d['tool']}", parent, event.at, **{
                "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": d["tool"],
                "gen_ai.tool.call.id": key, "agentctl.tool.restored": d["state"] == "restored" or None})
            if d["state"] == "restored":
                self.end(span, event.at)
            else:
                self.open[key] = span
            return
        span = self.open.pop(key, None)
        if span is not None:
            self.end(span, event.at, d.get("error") if d["state"] == "failed" else None, "tool_error")

    def on_approval(self, event: Event, d: dict) -> None:
        parent = self.steps.get((event.step, self.scope_of.get(event.step, ""))) or self.root
        span = self.start(f"approval {event.step}", parent, event.at, **{
            "agentctl.approval.approved": d["approved"], "agentctl.approval.by": d["by"],
            "agentctl.approval.role": d.get("role"), "gen_ai.tool.name": d.get("tool")})
        self.end(span, event.at)

    def on_run_finished(self, event: Event, d: dict) -> None:
        for span in list(self.open.values()) + list(self.steps.values()):
            self.end(span, event.at, "cancelled", "cancelled")
        self.open.clear(), self.steps.clear()
        if self.root is None:
            return
        usage = d.get("usage") or {}
        self.root.set_attribute("agentctl.run.status", d["status"])
        self.root.set_attribute("agentctl.cost_usd", float(usage.get("cost_usd", 0.0)))
        if self.pipeline.limits.max_cost_usd is not None:
            self.root.set_attribute("agentctl.budget.remaining_usd",
                                    self.pipeline.limits.max_cost_usd - float(usage.get("cost_usd", 0.0)))
        error = d.get("error") if d["status"] != "succeeded" else None
        self.end(self.root, event.at, error, d["status"] if error else None)

    def spans(self) -> tuple[ReadableSpan, ...]:
        return tuple(self.collected.finished)


class _Collect(SpanProcessor):
    """Keeps finished spans for the exports at the end of the run (the in-memory exporter's
    per-span locking cost more, and nothing reads spans while the run is going)."""

    def __init__(self) -> None:
        self.finished: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.finished.append(span)


def _outer(scope: str) -> str:
    """The scope of the loop that holds a body step: 'a#1/b#2/' -> 'a#1/'."""
    parts = [p for p in scope.split("/") if p]
    return "/".join(parts[:-1]) + "/" if len(parts) > 1 else ""
