"""Standard OpenTelemetry configuration (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER, TRACEPARENT) and one line per export problem, with no
exporter log line on the terminal. Real runs in fresh processes, exported to a local receiver."""

import json
import socket

from tests.record.test_trace import DEMO, Receiver, cli
from tests.support.http_endpoint import HttpEndpoint


def _file(root) -> dict:
    (path,) = (root / ".agentctl" / "traces").glob("*.json")
    return json.loads(path.read_text())


def _resource(document) -> dict:
    (resource_spans,) = document["resourceSpans"] if isinstance(document, dict) else document.resource_spans
    return {a["key"]: a["value"].get("stringValue") for a in resource_spans["resource"]["attributes"]}


def test_service_name_and_resource_attributes_reach_the_file_and_the_export(tmp_path):
    from tests.record.test_journal import copy_project

    root = copy_project(tmp_path)
    receiver = Receiver()
    done, _ = cli(root, *DEMO, env={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_SERVICE_NAME": "ci-evals",
                                    "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=ci,team=ml"})
    assert done.returncode == 0, done.stderr
    in_file = _resource(_file(root))
    ((_, message),) = receiver.requests
    exported = {a.key: a.value.string_value for a in message.resource_spans[0].resource.attributes}
    assert in_file["service.name"] == exported["service.name"] == "ci-evals"
    assert in_file["deployment.environment"] == exported["deployment.environment"] == "ci"
    assert in_file == {k: v for k, v in exported.items() if k in in_file}  # the same resource
    assert in_file["telemetry.sdk.name"] == "opentelemetry"  # the SDK's own detection


def test_service_name_defaults_to_agentctl(tmp_path):
    from tests.record.test_journal import copy_project

    root = copy_project(tmp_path)
    done, _ = cli(root, *DEMO, env={"OTEL_SERVICE_NAME": "", "OTEL_RESOURCE_ATTRIBUTES": ""})
    assert done.returncode == 0 and _resource(_file(root))["service.name"] == "agentctl"


def test_sdk_disabled_writes_and_sends_nothing_and_exporter_none_sends_nothing(tmp_path):
    from tests.record.test_journal import copy_project

    receiver = Receiver()
    root = copy_project(tmp_path / "off")
    done, _ = cli(root, *DEMO, env={"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url})
    assert done.returncode == 0 and not list((root / ".agentctl" / "traces").glob("*.json")) and not receiver.posts
    root = copy_project(tmp_path / "none")
    done, _ = cli(root, *DEMO, env={"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url})
    assert done.returncode == 0 and _file(root) and not receiver.posts


def test_a_traceparent_makes_the_run_a_child_of_the_ci_job(tmp_path):
    from tests.record.test_journal import copy_project

    root = copy_project(tmp_path)
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    done, _ = cli(root, *DEMO, env={"TRACEPARENT": parent, "TRACESTATE": "vendor=1"})
    assert done.returncode == 0, done.stderr
    spans = [s for rs in _file(root)["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    assert {s["traceId"] for s in spans} == {"4bf92f3577b34da6a3ce929d0e0e4736"}
    (root_span,) = [s for s in spans if s["name"].startswith("invoke_workflow")]
    assert root_span["parentSpanId"] == "00f067aa0ba902b7"


def test_an_unreachable_collector_is_one_line_and_no_exporter_output(tmp_path):
    from tests.record.test_journal import copy_project

    root = copy_project(tmp_path)
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    done, _ = cli(root, *DEMO, "--otlp-endpoint", dead)
    assert done.returncode == 0
    (line,) = [line for line in done.stderr.splitlines() if "trace not exported" in line]
    assert f"cannot reach the collector at {dead}" in line
    assert "Transient error" not in done.stderr and "Failed to export" not in done.stderr


def test_a_refusing_collector_says_so_with_its_status(tmp_path):
    from tests.record.test_journal import copy_project

    root = copy_project(tmp_path)
    refusing = HttpEndpoint(lambda path, body: (400, "text/plain", b"bad request"))
    done, _ = cli(root, *DEMO, "--otlp-endpoint", refusing.url)
    assert done.returncode == 0
    (line,) = [line for line in done.stderr.splitlines() if "trace not exported" in line]
    assert f"the collector at {refusing.url} refused the spans (400" in line, done.stderr
    assert "Failed to export" not in done.stderr
