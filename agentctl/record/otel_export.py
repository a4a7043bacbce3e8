"""Trace export: an OTLP-JSON file per run, always; OTLP over HTTP or gRPC when configured.

An unreachable collector never fails a run and delays exit by at most 2 s: the export runs in
a daemon thread that is given that long (the OTLP exporters otherwise retry for a minute).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Sequence

EXPORT_WAIT_S = 2.0


def otlp_json(spans: Sequence[Any]) -> dict:
    """An ExportTraceServiceRequest in OTLP/JSON (hex ids, integer enums, lowerCamelCase), built
    straight from the SDK's spans: going through protobuf and MessageToDict cost 5x as much."""
    groups: dict[tuple, dict] = {}
    for span in spans:
        scope = span.instrumentation_scope
        key = (id(span.resource), scope.name if scope else "", scope.version if scope else "")
        if key not in groups:
            groups[key] = {"resource": span.resource, "scope": {"name": key[1], "version": key[2] or ""}, "spans": []}
        groups[key]["spans"].append(_span(span))
    by_resource: dict[int, dict] = {}
    for group in groups.values():
        entry = by_resource.setdefault(id(group["resource"]), {
            "resource": {"attributes": _attributes(group["resource"].attributes)}, "scopeSpans": []})
        entry["scopeSpans"].append({"scope": group["scope"], "spans": group["spans"]})
    return {"resourceSpans": list(by_resource.values())}


def _span(span: Any) -> dict:
    context = span.context
    out = {
        "traceId": format(context.trace_id, "032x"), "spanId": format(context.span_id, "016x"),
        "name": span.name, "kind": span.kind.value + 1,  # OTLP counts from SPAN_KIND_UNSPECIFIED = 0
        "startTimeUnixNano": str(span.start_time), "endTimeUnixNano": str(span.end_time),
        "attributes": _attributes(span.attributes),
        "status": {"code": span.status.status_code.value},
    }
    if span.parent is not None:
        out["parentSpanId"] = format(span.parent.span_id, "016x")
    if span.status.description:
        out["status"]["message"] = span.status.description
    return out


def _attributes(attributes: Any) -> list[dict]:
    return [{"key": key, "value": _value(value)} for key, value in (attributes or {}).items()]


def _value(value: Any) -> dict:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [_value(v) for v in value]}}
    return {"stringValue": str(value)}


def write_file(path: Path, spans: Sequence[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(otlp_json(spans)), encoding="utf-8")
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
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=endpoint, insecure=endpoint.startswith("http://") or "://" not in endpoint,
                                timeout=int(EXPORT_WAIT_S))
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    if "://" in endpoint and endpoint.split("://", 1)[1].count("/") == 0:
        endpoint = endpoint.rstrip("/") + "/v1/traces"
    return OTLPSpanExporter(endpoint=endpoint, timeout=EXPORT_WAIT_S)


def send(spans: Sequence[Any], endpoint: str, protocol: str) -> str | None:
    """Export to a collector; None on success, else why not (never raises, never waits > 2 s)."""
    outcome: dict[str, str | None] = {"error": "no answer from the collector within 2 s"}

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
