"""Trace export: an OTLP-JSON file per run, always; OTLP over HTTP or gRPC when configured.

An unreachable collector never fails a run and delays exit by at most 2 s: the export runs in
a daemon thread that is given that long (the OTLP exporters otherwise retry for a minute).
"""

from __future__ import annotations

import math
import os
import threading
from json.encoder import encode_basestring_ascii as _q  # a str as a JSON string literal (C)
from pathlib import Path
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

    provider = TracerProvider(resource=Resource.create(resource), id_generator=Replay())
    tracer = provider.get_tracer(*scope)
    spans = []
    kinds = {"internal": SpanKind.INTERNAL, "client": SpanKind.CLIENT}
    for record in records:
        parent = None
        if record.parent_id is not None:
            parent = trace.set_span_in_context(NonRecordingSpan(SpanContext(
                trace_id, record.parent_id, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))))
        span = tracer.start_span(record.name, context=parent, kind=kinds[record.kind], start_time=record.start_ns,
                                 attributes=record.attributes)
        if record.error is not None:
            span.set_status(Status(StatusCode.ERROR, record.error))
        span.end(end_time=record.end_ns)
        spans.append(span)  # an SDK span is a ReadableSpan: what exporters take
    return tuple(spans)


def write_file(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def collector_settings(endpoint: str | None) -> tuple[str, str] | None:
    """(endpoint, protocol) from --otlp-endpoint or the standard OTEL_EXPORTER_OTLP_* variables."""
    env = os.environ
    protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf"
    if endpoint:
        return endpoint, protocol
    if env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"], protocol
    if env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        base = env["OTEL_EXPORTER_OTLP_ENDPOINT"]
        return (base.rstrip("/") + "/v1/traces" if protocol.startswith("http") else base), protocol
    return None


def _exporter(endpoint: str, protocol: str):
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter,
        )

        return OTLPSpanExporter(endpoint=endpoint, insecure=endpoint.startswith("http://") or "://" not in endpoint,
                                timeout=int(EXPORT_WAIT_S))
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    if "://" in endpoint and endpoint.split("://", 1)[1].count("/") == 0:
        endpoint = endpoint.rstrip("/") + "/v1/traces"
    return OTLPSpanExporter(endpoint=endpoint, timeout=EXPORT_WAIT_S)


def send(spans: Sequence[Any], endpoint: str, protocol: str) -> str | None:
    """Export to a collector; None on success, else why not (never raises, never waits > 2 s)."""
    outcome: dict[str, str | None] = {"error": f"no answer from the collector within {EXPORT_WAIT_S:g} s"}

    def work() -> None:
        try:
            from opentelemetry.sdk.trace.export import SpanExportResult

            result = _exporter(endpoint, protocol).export(spans)
            outcome["error"] = None if result == SpanExportResult.SUCCESS else "the collector refused the spans"
        except Exception as exc:  # noqa: BLE001 - an export problem is reported, never fatal
            outcome["error"] = f"{type(exc).__name__}: {exc}"

    thread = threading.Thread(target=work, name="agentctl-otlp-export", daemon=True)
    thread.start()
    thread.join(EXPORT_WAIT_S)
    return outcome["error"]
