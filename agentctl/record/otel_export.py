"""Trace export: an OTLP-JSON file per run, always; OTLP over HTTP or gRPC when configured.

An unreachable collector never fails a run and delays exit by at most 2 s: the export runs in
a daemon thread that is given that long (the OTLP exporters otherwise retry for a minute).
"""

from __future__ import annotations

import base64
import json
import os
import threading
from pathlib import Path
from typing import Any, Sequence

EXPORT_WAIT_S = 2.0
_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


def otlp_json(spans: Sequence[Any]) -> dict:
    """ExportTraceServiceRequest as OTLP/JSON: ids in hex, enums as integers, lowerCamelCase."""
    from google.protobuf.json_format import MessageToDict
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    data = MessageToDict(encode_spans(spans), use_integers_for_enums=True)
    _hex_ids(data)
    return data


def _hex_ids(node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_FIELDS and isinstance(value, str):
                node[key] = base64.b64decode(value).hex()
            else:
                _hex_ids(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids(item)


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
