"""Engine events to trace spans, following the OpenTelemetry GenAI semantic conventions.

One trace per run: `invoke_workflow {pipeline}` at the root, a span per step (per loop iteration;
an agent step's span is `invoke_agent {name}`, other steps' `step {id}`), `chat {model}` per model
attempt (retries and fallbacks are separate attempts), `execute_tool {name}` per tool call, and
spans for approvals; every step span carries agentctl.step.id and agentctl.step.kind.
Token usage is set on chat spans only, so nothing is counted twice up the tree. Prompt and
completion content is recorded only with `content=True`, and always through the Redactor.

Spans are built from the events, which carry their own times, while the loop waits on the network
(`idle`; without it, when the run is over), never on the run's critical path: built in the middle
of a step, between litellm calls that evict our code from the CPU caches, they cost three times
as much. They are plain SpanRecords; otel_export.py writes the OTLP/JSON file
straight from them and hands them to the OpenTelemetry SDK for a collector (the only importer of
OpenTelemetry).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

from agentctl import __version__
from agentctl.compile.ir import CompiledPipeline
from agentctl.record.redact import Redactor
from agentctl.run.events import Event

_FAILED = ("failed", "cancelled")


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


def _ns(monotonic_at: float, offset: float) -> int:
    return int((monotonic_at + offset) * 1e9)


def _new_id(bits: int) -> int:
    return random.getrandbits(bits) or 1  # zero is the invalid id


class RunTracer:
    def __init__(self, pipeline: CompiledPipeline, run_id: str, redactor: Redactor, content: bool = False,
                 idle=None) -> None:
        self.pipeline = pipeline
        self.idle = idle  # an IdleWork: events become spans while the loop waits on the network
        self.run_id = run_id
        self.redact = redactor
        self.content = content
        self.trace_id = _new_id(128)
        self.resource = {"service.name": "agentctl", "service.version": __version__,
                         "agentctl.pipeline": pipeline.name}
        self.scope = ("agentctl", __version__)
        self.offset = time.time() - time.monotonic()  # events carry monotonic times; spans want epoch
        self.started: list[SpanRecord] = []  # in start order: a parent before its children
        self.root: SpanRecord | None = None
        self.steps: dict[tuple[str, str], SpanRecord] = {}
        self.open: dict[str, SpanRecord] = {}  # attempts and tool calls in flight, by id
        self.scope_of: dict[str, str] = {}  # the scope a step is running in now
        self.pending: list[Event] = []

    # ------------------------------------------------------------------------------------------
    def __call__(self, event: Event) -> None:
        self.pending.append(event)
        if self.idle is not None:
            self.idle.add(self.digest)

    def digest(self, most: int = 16) -> bool:
        """Turns up to `most` events into spans; True while some are left."""
        pending = self.pending
        count = min(most, len(pending))
        for event in pending[:count]:
            handler = getattr(self, "on_" + event.kind, None)
            if handler is not None:
                handler(event, event.data)
        del pending[:count]
        return bool(pending)

    def records(self) -> list[SpanRecord]:
        """The finished spans, parents first (a span never ended, as in a killed run, is left out)."""
        self.digest(len(self.pending))
        return [record for record in self.started if record.end_ns is not None]

    def spans(self) -> tuple:
        """The finished spans as the OpenTelemetry SDK's ReadableSpans (what exporters take)."""
        from agentctl.record import otel_export

        return otel_export.sdk_spans(self.records(), self.trace_id, self.resource, self.scope)

    def start(self, name: str, parent: SpanRecord | None, at: float, kind: str = "internal",
              **attributes: Any) -> SpanRecord:
        record = SpanRecord(name, _new_id(64), parent.span_id if parent is not None else None,
                            _ns(at, self.offset), {k: v for k, v in attributes.items() if v is not None}, kind)
        self.started.append(record)
        return record

    def end(self, span: SpanRecord, at: float, error: str | None = None, error_type: str | None = None) -> None:
        if error is not None:
            span.error = self.redact.text(error)[:500]
            span.attributes["error.type"] = error_type or "error"
        span.end_ns = _ns(at, self.offset)

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
        span.attributes.update({"agentctl.step.status": d["status"],
                                "agentctl.cost_usd": float(usage.get("cost_usd", 0.0))})
        self.end(span, event.at, error, "step_failed")

    def on_llm_attempt(self, event: Event, d: dict) -> None:
        key = d["attempt_id"]
        if d["state"] == "started":
            scope = self.scope_of.get(event.step, "")
            parent = self.steps.get((event.step, scope)) or self.root
            provider, _, _ = d["model"].partition("/")
            span = self.start(f"chat {d['model']}", parent, event.at, "client", **{
                "gen_ai.operation.name": "chat", "gen_ai.provider.name": provider or "openai",
                "gen_ai.request.model": d["model"], "agentctl.attempt": d["attempt"]})
            if self.content and d.get("messages") is not None:
                span.attributes["gen_ai.input.messages"] = self.redact.json(d["messages"])
            self.open[key] = span
            return
        span = self.open.pop(key, None)
        if span is None:
            return
        if d["state"] == "failed":
            self.end(span, event.at, d.get("error"), d.get("error_kind") or "error")
            return
        attributes = span.attributes
        attributes.update({"gen_ai.response.model": d.get("response_model") or d["model"],
                           "gen_ai.usage.input_tokens": d["input_tokens"],
                           "gen_ai.usage.output_tokens": d["output_tokens"],
                           "agentctl.cost_usd": float(d["cost_usd"])})
        if d.get("finish_reason"):
            attributes["gen_ai.response.finish_reasons"] = (d["finish_reason"],)
        if d.get("remaining_usd") is not None:
            attributes["agentctl.budget.remaining_usd"] = float(d["remaining_usd"])
        if self.content and d.get("content") is not None:
            attributes["gen_ai.output.messages"] = self.redact.json([{"role": "assistant", "content": d["content"]}])
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
        cost = float(usage.get("cost_usd", 0.0))
        self.root.attributes.update({"agentctl.run.status": d["status"], "agentctl.cost_usd": cost})
        if self.pipeline.limits.max_cost_usd is not None:
            self.root.attributes["agentctl.budget.remaining_usd"] = self.pipeline.limits.max_cost_usd - cost
        error = d.get("error") if d["status"] != "succeeded" else None
        self.end(self.root, event.at, error, d["status"] if error else None)


def _outer(scope: str) -> str:
    """The scope of the loop that holds a body step: 'a#1/b#2/' -> 'a#1/'."""
    parts = [p for p in scope.split("/") if p]
    return "/".join(parts[:-1]) + "/" if len(parts) > 1 else ""
