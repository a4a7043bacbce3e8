"""The tool protocol. Every tool call carries a stable idempotency key (run, step, call index)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

from agentctl.errors import StepError

# The W3C trace context of the tool call in progress ({"traceparent": ..., "tracestate": ...}),
# set by the tracer when the call's span starts (record/tracer.py): HTTP tools send it as
# headers, MCP tools in the request's _meta, so the tool's own spans join the run's trace.
TRACE_HEADERS: ContextVar[dict[str, str] | None] = ContextVar("agentctl_trace_headers", default=None)


@dataclass(frozen=True)
class ToolContext:
    run_id: str
    step: str
    call_index: int
    # Set when a resumed agent asks, at this index, for another call than the one journaled:
    # a call of its own, so a tool that honours keys must not answer it with the earlier result.
    variant: str = ""

    @property
    def idempotency_key(self) -> str:
        key = f"{self.run_id}:{self.step}:{self.call_index}"
        return f"{key}~{self.variant}" if self.variant else key


class ToolError(StepError):
    """A tool failed. The message is shown to the model (inside an agent) or ends the step.
    `retryable` failures (timeouts, refused connections, HTTP 429/5xx) may be tried again when
    the tool declares a retry policy."""

    def __init__(self, message: str, retryable: bool = False, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after_s = retry_after_s


class Tool(Protocol):
    name: str

    def input_schema(self) -> dict: ...

    async def call(self, args: dict, ctx: ToolContext) -> Any: ...
