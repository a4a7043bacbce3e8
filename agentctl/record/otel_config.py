"""The standard OpenTelemetry configuration, read the way the SDK reads it: the resource from the
SDK's own `Resource.create` (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES), whether to trace at all
(OTEL_SDK_DISABLED) and to export (OTEL_TRACES_EXPORTER), the collector (the exporter reads its
OTEL_EXPORTER_OTLP_* variables itself), and the parent context a CI job hands down (TRACEPARENT,
TRACESTATE), through OpenTelemetry's W3C propagator."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

from agentctl import __version__

_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def disabled() -> bool:
    """OTEL_SDK_DISABLED=true: no spans at all (no trace file, no export)."""
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


@functools.lru_cache(maxsize=1)
def resource_attributes() -> dict:
    """The resource of every trace, in the file and in the export alike: the SDK's detection
    (OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME, telemetry.sdk.*), with service.name `agentctl`
    where the environment names none."""
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource

    attributes = dict(Resource.create().attributes)
    if str(attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        attributes[SERVICE_NAME] = "agentctl"
        attributes.setdefault("service.version", __version__)
    attributes["agentctl.version"] = __version__
    return attributes


@dataclass(frozen=True)
class Collector:
    endpoint: str | None  # None: the exporter reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT itself
    protocol: str

    @property
    def shown(self) -> str:
        return self.endpoint or next(os.environ[name] for name in _ENDPOINTS if os.environ.get(name))


def collector(endpoint: str | None) -> Collector | None:
    """Where to export, or None: --otlp-endpoint, else the OTEL_EXPORTER_OTLP_* variables, unless
    OTEL_SDK_DISABLED or an OTEL_TRACES_EXPORTER without otlp (none) says not to."""
    env = os.environ
    if disabled():
        return None
    exporters = {e.strip().lower() for e in env.get("OTEL_TRACES_EXPORTER", "otlp").split(",")}
    if "otlp" not in exporters:
        return None
    protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf"
    if endpoint:
        return Collector(endpoint, protocol)
    if any(env.get(name) for name in _ENDPOINTS):
        return Collector(None, protocol)
    return None


def parent_from_environment() -> tuple[int, int, str | None] | None:
    """(trace id, span id, tracestate) of TRACEPARENT/TRACESTATE, or None when absent or invalid."""
    carrier = {key: os.environ[name] for key, name in (("traceparent", "TRACEPARENT"), ("tracestate", "TRACESTATE"))
               if os.environ.get(name)}
    if "traceparent" not in carrier:
        return None
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    context = trace.get_current_span(TraceContextTextMapPropagator().extract(carrier)).get_span_context()
    if not context.is_valid:
        return None
    return context.trace_id, context.span_id, context.trace_state.to_header() or None


def traceparent_headers(trace_id: int, span_id: int) -> dict[str, str]:
    """The W3C headers naming span `span_id` of trace `trace_id` as the parent, written by
    OpenTelemetry's propagator (for HTTP tools' requests and MCP calls' _meta)."""
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    context = trace.set_span_in_context(NonRecordingSpan(SpanContext(
        trace_id, span_id, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))))
    headers: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(headers, context=context)
    return headers
