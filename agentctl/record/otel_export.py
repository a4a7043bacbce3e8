"""Trace export: an OTLP-JSON file per run, always; OTLP over HTTP or gRPC when configured.

An unreachable collector never fails a run and delays exit by at most 2 s: the export runs in
a daemon thread that is given that long (the OTLP exporters otherwise retry for a minute).
"""

from __future__ import annotations

import logging
import math
import re
import threading
from json.encoder import encode_basestring_ascii as _q  # a str as a JSON string literal (C)
from typing import Any, Sequence

EXPORT_WAIT_S = 2.0


_OTLP_KIND = {"internal": 1, "client": 3}  # OTLP counts from SPAN_KIND_UNSPECIFIED = 0
_STATUS_ERROR = 2


def otlp_json(records: Sequence[Any], trace_id: int, resource: dict, scope: tuple[str, str]) -> str:
    """An ExportTraceServiceRequest as OTLP/JSON text (hex ids, integer enums, lowerCamelCase),
    written straight from the span records: the document the SDK's spans would give (a test
    checks). Text is built directly: dicts for json.dumps cost three times as much (0.5 ms of
    a 50-step run's 10 ms of recording), and the file is written as the run ends."""
    trace_hex = format(trace_id, "032x")
    spans = ",".join([_span(record, trace_hex) for record in records])
    return (f'{{"resourceSpans":[{{"resource":{{"attributes":{_attributes(resource)}}},"scopeSpans":[{{"scope":'
            f'{{"name":{_q(scope[0])},"version":{_q(scope[1])}}},"spans":[{spans}]}}]}}]}}')


def _span(record: Any, trace_hex: str) -> str:
    parent = f',"parentSpanId":"{record.parent_id:016x}"' if record.parent_id is not None else ""
    if record.links:
        parent += ',"links":[' + ",".join(f'{{"traceId":"{t:032x}","spanId":"{s:016x}"}}' for t, s in record.links) + "]"
    status = f'{{"code":{_STATUS_ERROR},"message":{_q(record.error)}}}' if record.error is not None else '{"code":0}'
    return (f'{{"traceId":"{trace_hex}","spanId":"{record.span_id:016x}"{parent},"name":{_q(record.name)},'
            f'"kind":{_OTLP_KIND[record.kind]},"startTimeUnixNano":"{record.start_ns}",'
            f'"endTimeUnixNano":"{record.end_ns}","attributes":{_attributes(record.attributes)},"status":{status}}}')


def _attributes(attributes: Any) -> str:
    return "[" + ",".join([f'{{"key":{_q(key)},"value":{_value(value)}}}' for key, value in attributes.items()]) + "]"


def _value(value: Any) -> str:
    if isinstance(value, str):
        return f'{{"stringValue":{_q(value)}}}'
    if isinstance(value, bool):
        return '{"boolValue":true}' if value else '{"boolValue":false}'
    if isinstance(value, int):
        return f'{{"intValue":"{int(value)}"}}'
    if isinstance(value, float):
        return f'{{"doubleValue":{_double(value)}}}'
    if isinstance(value, (list, tuple)):
        return '{"arrayValue":{"values":[' + ",".join([_value(v) for v in value]) + "]}}"
    return f'{{"stringValue":{_q(str(value))}}}'


def _double(value: float) -> str:
    if math.isfinite(value):
        return float.__repr__(value)
    # proto3 JSON writes the non-finite doubles as strings
    return '"NaN"' if value != value else '"Infinity"' if value > 0 else '"-Infinity"'


def sdk_spans(records: Sequence[Any], trace_id: int, resource: dict, scope: tuple[str, str]) -> tuple:
    """The records as the OpenTelemetry SDK's spans, with the records' own ids and times (parents
    come before their children in `records`), for the SDK's exporters."""
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.id_generator import IdGenerator
    from opentelemetry.trace import (
        Link,
        NonRecordingSpan,
        SpanContext,
        SpanKind,
        Status,
        StatusCode,
        TraceFlags,
    )

    class Replay(IdGenerator):
        def __init__(self) -> None:
            self.span_ids = iter([r.span_id for r in records])

        def generate_span_id(self) -> int:
            return next(self.span_ids)

        def generate_trace_id(self) -> int:
            return trace_id

    provider = TracerProvider(resource=Resource(resource), id_generator=Replay())  # as in the file
    tracer = provider.get_tracer(*scope)
    spans = []
    kinds = {"internal": SpanKind.INTERNAL, "client": SpanKind.CLIENT}
    for record in records:
        parent = None
        if record.parent_id is not None:
            parent = trace.set_span_in_context(NonRecordingSpan(SpanContext(
                trace_id, record.parent_id, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))))
        links = [Link(SpanContext(t, s, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED)))
                 for t, s in record.links]
        span = tracer.start_span(record.name, context=parent, kind=kinds[record.kind], start_time=record.start_ns,
                                 attributes=record.attributes, links=links)
        if record.error is not None:
            span.set_status(Status(StatusCode.ERROR, record.error))
        span.end(end_time=record.end_ns)
        spans.append(span)  # an SDK span is a ReadableSpan: what exporters take
    return tuple(spans)


def _exporter(collector):
    """The SDK's OTLP exporter for `collector` (otel_config.Collector); without an endpoint of ours
    it reads OTEL_EXPORTER_OTLP_* (endpoint, headers, certificates, compression) itself."""
    endpoint = collector.endpoint
    if collector.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter,
        )

        if endpoint is None:
            return OTLPSpanExporter(timeout=int(EXPORT_WAIT_S))
        return OTLPSpanExporter(endpoint=endpoint, insecure=endpoint.startswith("http://") or "://" not in endpoint,
                                timeout=int(EXPORT_WAIT_S))
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    if endpoint is None:
        return OTLPSpanExporter(timeout=EXPORT_WAIT_S)
    if "://" in endpoint and endpoint.split("://", 1)[1].count("/") == 0:
        endpoint = endpoint.rstrip("/") + "/v1/traces"
    return OTLPSpanExporter(endpoint=endpoint, timeout=EXPORT_WAIT_S)


class _Captured(logging.Handler):
    """The exporters' log lines, kept per export thread instead of reaching the terminal: they
    explain a failure (a status code, a refused connection) and become one line of ours."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[int, list[str]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.setdefault(record.thread, []).append(record.getMessage())


_CAPTURED = _Captured()
_UNREACHABLE = ("Connection refused", "ConnectionError", "NewConnectionError", "Failed to establish", "UNAVAILABLE",
                "Name or service not known", "nodename nor servname")


def _quiet_exporters() -> None:
    logger = logging.getLogger("opentelemetry")
    if _CAPTURED not in logger.handlers:
        logger.addHandler(_CAPTURED)
        logger.propagate = False


def explain(lines: list[str], shown: str) -> str:
    """One line for what the exporter logged: the collector refused (a status), could not be
    reached, or something else (its last line)."""
    for line in lines:
        status = re.search(r"code: (\d{3}), reason: (.*)", line) or re.search(r"(StatusCode\.[A-Z_]+)", line)
        if status and "UNAVAILABLE" not in line:
            return f"the collector at {shown} refused the spans ({' '.join(g for g in status.groups() if g)})"
    if any(marker in line for line in lines for marker in _UNREACHABLE):
        return f"cannot reach the collector at {shown} (connection refused or no such host)"
    return f"the collector at {shown} did not take the spans" + (f": {lines[-1][:200]}" if lines else "")


def send(spans: Sequence[Any], collector) -> str | None:
    """Export to a collector; None on success, else why not, in one line (never raises, never
    waits more than EXPORT_WAIT_S, prints nothing itself)."""
    _quiet_exporters()
    outcome: dict[str, str | None] = {"error": f"no answer from the collector at {collector.shown} within "
                                               f"{EXPORT_WAIT_S:g} s"}

    def work() -> None:
        try:
            from opentelemetry.sdk.trace.export import SpanExportResult

            result = _exporter(collector).export(spans)
            outcome["error"] = None if result == SpanExportResult.SUCCESS else explain(
                _CAPTURED.lines.pop(threading.get_ident(), []), collector.shown)
        except Exception as exc:  # noqa: BLE001 - an export problem is reported, never fatal
            outcome["error"] = f"the collector at {collector.shown}: {type(exc).__name__}: {exc}"

    thread = threading.Thread(target=work, name="agentctl-otlp-export", daemon=True)
    thread.start()
    thread.join(EXPORT_WAIT_S)
    if thread.is_alive():  # still retrying: what it logged so far may say why
        lines = _CAPTURED.lines.pop(thread.ident, [])
        if any(marker in line for line in lines for marker in _UNREACHABLE):
            return explain(lines, collector.shown)
    return outcome["error"]
