"""Standard OpenTelemetry configuration (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER, TRACEPARENT) and one line per export problem, with no
exporter log line on the terminal. Real runs in fresh processes, exported to a local receiver."""

import json
import socket

from google.protobuf.json_format import Parse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.record.test_trace import DEMO, Receiver, cli
from tests.support.http_endpoint import HttpEndpoint
from tests.support.openai_server import Behaviour


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


def test_a_paused_then_approved_run_is_one_trace_with_one_root_and_no_error(project, server):
    server.default = lambda body: Behaviour(content="drafted")
    project.pipeline("""
agents:
  a: {model: m, prompt: prompts/p.prompt}
steps:
  - {id: draft, agent: a, with: {text: "write"}}
  - {id: sign_off, approval: {message: ship it?}, needs: [draft]}
  - {id: final, agent: a, with: {text: "polish"}, needs: [sign_off]}
""")
    paused, _ = cli(project.root, "run", "pipelines/t.yaml", "--json")
    assert paused.returncode == 4, paused.stderr
    run_id = json.loads(paused.stdout)["run_id"]
    approved, _ = cli(project.root, "approve", run_id)
    assert approved.returncode == 0, approved.stderr
    files = sorted((project.root / ".agentctl" / "traces").glob(f"{run_id}-*.json"))
    assert len(files) == 2  # the first attempt and the continuation
    for f in files:  # strict OTLP/JSON, links included
        Parse(f.read_text(), ExportTraceServiceRequest(), ignore_unknown_fields=False)
    spans = [s for f in files for rs in json.loads(f.read_text())["resourceSpans"] for ss in rs["scopeSpans"]
             for s in ss["spans"]]
    assert len({s["traceId"] for s in spans}) == 1
    roots = [s for s in spans if "parentSpanId" not in s]
    assert [r["name"] for r in roots] == ["invoke_workflow t"]
    (continuation,) = [s for s in spans if s["name"] == "continue t"]
    assert continuation["parentSpanId"] == roots[0]["spanId"]
    assert continuation["links"] == [{"traceId": roots[0]["traceId"], "spanId": roots[0]["spanId"]}]
    assert not [s["name"] for s in spans if s["status"].get("code") == 2]  # a pause is not an error
    attributes = {a["key"]: a["value"] for a in roots[0]["attributes"]}
    assert attributes["agentctl.status"] == {"stringValue": "paused"}


def _with_mcp_book(rest: str) -> str:
    """A pipeline with the test MCP server's side-effecting `book` tool (ledger in $LEDGER); `rest`
    goes on under env: (more variables, then the other sections; a `tools:` section is merged)."""
    import sys

    from tests.conftest import REPO

    text = f"""
env:
  LEDGER: {{secret: false}}
{rest.lstrip(chr(10))}"""
    server = (f"mcp_servers:\n  test:\n    command: [{sys.executable}, -m, tests.support.mcp_server]\n"
              f"    env: {{LEDGER: \"${{env:LEDGER}}\", PYTHONPATH: \"{REPO}\"}}\n")
    book = "  book: {mcp: test, side_effects: true}\n"
    if "tools:\n" in text:
        return text.replace("tools:\n", server + "tools:\n" + book, 1)
    return text.replace("steps:\n", server + "tools:\n" + book + "steps:\n", 1)


def _spans(root) -> dict:
    spans = [s for f in (root / ".agentctl" / "traces").glob("*.json")
             for rs in json.loads(f.read_text())["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    return {s["name"]: s for s in spans}


def test_http_and_mcp_tools_receive_the_calls_trace_context(project, server, tmp_path, monkeypatch):
    def echo_auth(path, body):  # a result holding the secret the request carried: the trace must mask it
        return 200, "application/json", json.dumps({"ok": True, "auth": endpoint.posts[-1][1]["Authorization"]}).encode()

    endpoint = HttpEndpoint(echo_auth, "/pay")
    ledger = tmp_path / "ledger.jsonl"
    secret = "tok-SECRET-77aa88bb"
    project.pipeline(_with_mcp_book(f"""
  PAY_TOKEN: {{secret: true}}
tools:
  pay: {{http: {{url: "{endpoint.url}", headers: {{Authorization: "Bearer ${{env:PAY_TOKEN}}"}}}}}}
steps:
  - {{id: reserve, tool: book, with: {{item: room}}}}
  - {{id: charge, tool: pay, with: {{amount: 12}}, needs: [reserve]}}
"""))
    done, _ = cli(project.root, "run", "pipelines/t.yaml", "--trace-content", env={"LEDGER": str(ledger),
                                                                                  "PAY_TOKEN": secret})
    assert done.returncode == 0, done.stderr
    spans = _spans(project.root)
    result = {a["key"]: a["value"] for a in spans["execute_tool pay"]["attributes"]}["gen_ai.tool.call.result"]
    assert json.loads(result["stringValue"]) == {"ok": True, "auth": "Bearer ***"}  # the tool did get the secret
    assert secret not in "".join(p.read_text() for p in (project.root / ".agentctl" / "traces").glob("*.json"))
    ((_, headers, _),) = endpoint.posts
    pay = spans["execute_tool pay"]
    assert headers["traceparent"] == f"00-{pay['traceId']}-{pay['spanId']}-01"
    (booked,) = [json.loads(line) for line in ledger.read_text().splitlines()]
    book = spans["execute_tool book"]
    assert booked["traceparent"] == f"00-{book['traceId']}-{book['spanId']}-01"
    endpoint.stop()


def test_server_start_stop_and_the_library_import_are_spans(project, server, tmp_path):
    """No unexplained gap: the root starts with litellm's import, the MCP server's start-up is a
    span that ends before the first step begins, and its stop is one too."""
    server.default = lambda body: Behaviour(content="noted")
    project.pipeline(_with_mcp_book("""
agents:
  a: {model: m, prompt: prompts/p.prompt}
steps:
  - {id: reserve, tool: book, with: {item: room}}
  - {id: note, agent: a, with: {text: booked}, needs: [reserve]}
"""))
    done, _ = cli(project.root, "run", "pipelines/t.yaml", env={"LEDGER": str(tmp_path / "ledger.jsonl")})
    assert done.returncode == 0, done.stderr
    spans = _spans(project.root)
    root, started, stopped = spans["invoke_workflow t"], spans["mcp start test"], spans["mcp stop test"]
    imported, step = spans["import litellm"], spans["step reserve"]
    assert {started["parentSpanId"], stopped["parentSpanId"], imported["parentSpanId"]} == {root["spanId"]}
    assert int(root["startTimeUnixNano"]) <= int(imported["startTimeUnixNano"])
    assert int(started["endTimeUnixNano"]) <= int(step["startTimeUnixNano"]) <= int(stopped["startTimeUnixNano"])
    kinds = {a["key"]: a["value"]["stringValue"] for a in started["attributes"] if "stringValue" in a["value"]}
    assert kinds["openinference.span.kind"] == "CHAIN" and kinds["agentctl.mcp.server"] == "test"
