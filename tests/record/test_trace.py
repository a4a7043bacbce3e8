"""Traces: span structure per the GenAI conventions, OTLP export end to end, a dead collector,
and secrets kept out of every record."""

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time

from agentctl.record.redact import Redactor
from agentctl.record.tracer import RunTracer
from agentctl.run.approvals import FixedApprover
from agentctl.run.events import EventBus
from agentctl.run.executor import Executor
from agentctl.tools.registry import build_tools
from tests.support.http_endpoint import HttpEndpoint
from tests.support.openai_server import Behaviour, FakeOpenAI, fault

AGENT_WITH_TOOL = """
tools:
  lookup: {python: "tools.lookup:lookup"}
agents:
  a: {model: m, prompt: prompts/p.prompt, tools: [lookup], max_iterations: 3}
steps:
  - {id: s, agent: a, with: {text: "${{ inputs.q }}"}}
  - {id: t, tool: lookup, with: {query: x}, needs: [s]}
inputs:
  q: {type: string}
"""


def traced_run(project, body, inputs, content=False, **options):
    from agentctl.llm.litellm_client import LitellmModel

    compiled = project.compile(project.pipeline(body, **options))
    events = EventBus()
    tracer = RunTracer(compiled, "run1", Redactor.for_pipeline(compiled), content=content)  # sk-test, env secrets
    events.subscribe(tracer)
    result = asyncio.run(Executor(compiled, LitellmModel(), inputs=inputs, approver=FixedApprover(None),
                                  tools=build_tools(compiled), events=events, run_id="run1").run())
    traced_run.tracer = tracer
    return result, {s.name: s for s in tracer.spans()}, tracer.spans()


def test_spans_follow_the_genai_conventions(project, server):
    server.push(fault(500), Behaviour(content=None, tool_calls=[("lookup", '{"query": "q"}')]), Behaviour(content="done"))
    result, named, spans = traced_run(project, AGENT_WITH_TOOL, {"q": "hello"})
    assert result.status == "succeeded"
    root = named["invoke_workflow t"]
    agent = named["invoke_agent a"]  # the agent step's own span
    assert agent.parent.span_id == root.context.span_id and agent.attributes["agentctl.step.id"] == "s"
    assert named["step t"].attributes["agentctl.step.kind"] == "tool"
    chats = [s for s in spans if s.name == "chat primary"]  # the provider's model name, not litellm's route
    assert len(chats) == 3  # the failed attempt is a span of its own
    failed = [c for c in chats if c.status.status_code.name == "ERROR"]
    assert len(failed) == 1 and failed[0].attributes["error.type"] == "server"
    ok = [c for c in chats if c not in failed][0]
    assert ok.attributes["gen_ai.operation.name"] == "chat" and ok.attributes["gen_ai.provider.name"] == "openai"
    assert ok.attributes["gen_ai.request.model"] == "primary" and ok.attributes["gen_ai.usage.input_tokens"] == 12
    assert ok.attributes["agentctl.model.route"] == "openai/primary"
    assert ok.attributes["llm.cost.total"] == ok.attributes["agentctl.cost_usd"]  # Phoenix shows agentctl's price
    assert all(c.parent.span_id == agent.context.span_id for c in chats)
    # token usage on chat spans only: no double counting up the tree
    assert not [s for s in spans if "gen_ai.usage.input_tokens" in s.attributes and not s.name.startswith("chat")]
    tools = [s for s in spans if s.name == "execute_tool lookup"]
    assert len(tools) == 2 and {t.attributes["gen_ai.tool.call.id"] for t in tools} == {"run1:s:0", "run1:t:0"}
    assert "agentctl.cost_usd" in root.attributes and "gen_ai.input.messages" not in ok.attributes
    kinds = {s.name: s.attributes["openinference.span.kind"] for s in spans}
    assert (kinds["invoke_workflow t"], kinds["invoke_agent a"], kinds["step t"], kinds["chat primary"],
            kinds["execute_tool lookup"]) == ("CHAIN", "AGENT", "CHAIN", "LLM", "TOOL")
    assert {s.attributes["gen_ai.conversation.id"] for s in spans} == {"run1"}  # every span names its run
    assert {s.attributes["session.id"] for s in spans} == {"run1"}


def test_the_trace_file_is_what_the_sdk_exporters_send(project, server):
    """The OTLP/JSON file is written from the span records directly; it must equal the SDK's own
    OTLP encoding of the same spans (ids aside: OTLP/JSON writes them in hex, protobuf's JSON in
    base64)."""
    import base64

    from google.protobuf.json_format import MessageToDict
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    from agentctl.record import otel_config, otel_export

    server.push(fault(500), Behaviour(content=None, tool_calls=[("lookup", '{"query": "q"}')]), Behaviour(content="done"))
    traced_run(project, AGENT_WITH_TOOL, {"q": "hello"})
    tracer = traced_run.tracer
    ours = json.loads(otel_export.otlp_json(tracer.records(), tracer.trace_id, tracer.resource, tracer.scope))
    sdk = MessageToDict(encode_spans(tracer.spans()), use_integers_for_enums=True)

    def spans(document, ids):
        (resource_spans,) = document["resourceSpans"]
        (scope_spans,) = resource_spans["scopeSpans"]
        out = {}
        for span in scope_spans["spans"]:
            span = {**span, **{k: ids(span[k]) for k in ("traceId", "spanId", "parentSpanId") if k in span}}
            span["attributes"] = {a["key"]: a["value"] for a in span["attributes"]}
            span["status"] = {"code": 0, **span.get("status", {})}
            out[span["spanId"]] = span
        return out, scope_spans["scope"], {a["key"]: a["value"] for a in resource_spans["resource"]["attributes"]}

    mine, my_scope, my_resource = spans(ours, lambda v: v)
    theirs, their_scope, their_resource = spans(sdk, lambda v: base64.b64decode(v).hex())
    assert len(mine) == 8 and mine.keys() == theirs.keys()
    for span_id, span in mine.items():
        assert span == {k: theirs[span_id][k] for k in span}, span["name"]
    assert my_scope == their_scope and my_resource.items() <= their_resource.items()
    assert sum(s["status"]["code"] == 2 for s in mine.values()) == 1  # the failed attempt


def test_the_trace_file_text_is_json_for_any_attribute_value():
    from agentctl.record import otel_config, otel_export
    from agentctl.record.tracer import SpanRecord

    attributes = {"quote": 'say "hi"\n\tok\\', "unicode": "café ✓", "yes": True, "n": 7, "big": 2**70,
                  "cost": 0.1 + 0.2, "inf": float("inf"), "nan": float("nan"), "list": ("a", 1, 2.5, False),
                  "other": object.__name__}
    record = SpanRecord("chat x", 5, 3, 10, attributes, "client", 20, 'failed: "quoted"')
    (span,) = json.loads(otel_export.otlp_json([record], 1, {"service.name": "s"}, ("agentctl", "1")))[
        "resourceSpans"][0]["scopeSpans"][0]["spans"]
    values = {a["key"]: a["value"] for a in span["attributes"]}
    assert values["quote"] == {"stringValue": 'say "hi"\n\tok\\'} and values["unicode"] == {"stringValue": "café ✓"}
    assert values["yes"] == {"boolValue": True} and values["n"] == {"intValue": "7"}
    assert values["big"] == {"intValue": str(2**70)} and values["cost"] == {"doubleValue": 0.1 + 0.2}
    assert values["inf"] == {"doubleValue": "Infinity"} and values["nan"] == {"doubleValue": "NaN"}
    assert values["list"] == {"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": "1"},
                                                        {"doubleValue": 2.5}, {"boolValue": False}]}}
    assert span["status"] == {"code": 2, "message": 'failed: "quoted"'} and span["kind"] == 3
    assert span["parentSpanId"] == "0000000000000003" and span["traceId"] == "0" * 31 + "1"


def test_content_only_with_the_flag_and_redacted(project, server):
    server.default = lambda body: Behaviour(content="echo sk-test " + body["messages"][-1]["content"])
    _, named, spans = traced_run(project, AGENT_WITH_TOOL.replace("tools: [lookup], ", ""), {"q": "hi"}, content=True)
    chat = [s for s in spans if s.name.startswith("chat")][0]
    assert "hi" in chat.attributes["gen_ai.input.messages"]
    assert "sk-test" not in chat.attributes["gen_ai.output.messages"] and "***" in chat.attributes["gen_ai.output.messages"]


class Receiver(HttpEndpoint):
    """A local OTLP/HTTP receiver: decodes the protobuf it is sent."""

    def __init__(self) -> None:
        super().__init__(lambda path, body: (200, "application/x-protobuf", b""))

    @property
    def requests(self) -> list:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        return [(path, ExportTraceServiceRequest.FromString(body)) for path, _, body in self.posts]


def cli(root, *args, env=None):
    full = {**os.environ, "NO_COLOR": "1", **(env or {})}
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "agentctl", *args], cwd=root, env=full, capture_output=True,
                          text=True, timeout=120)
    return done, time.monotonic() - start


DEMO = ["run", "pipelines/article_review.yaml", "-i", "topic=Idempotency keys in payment APIs",
        "--replay", "pipelines/cassettes/article_review.json"]


def test_export_to_a_local_otlp_receiver_and_the_local_file(tmp_path):
    from tests.record.test_journal import copy_project

    root = copy_project(tmp_path)
    receiver = Receiver()
    done, _ = cli(root, *DEMO, env={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url})
    assert done.returncode == 0, done.stderr
    ((path, message),) = receiver.requests
    assert path == "/v1/traces"
    names = [s.name for rs in message.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert "invoke_workflow article-review" in names and names.count("chat gpt-4o-mini") == 3
    (file,) = (root / ".agentctl" / "traces").glob("*.json")
    document = json.loads(file.read_text())
    spans = document["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert len(spans) == len(names) and all(len(s["traceId"]) == 32 and len(s["spanId"]) == 16 for s in spans)
    run_id = sqlite3.connect(root / ".agentctl" / "journal.db").execute("SELECT id FROM runs").fetchone()[0]
    tree, _ = cli(root, "trace", run_id)
    assert tree.returncode == 0 and "invoke_agent reviewer" in tree.stdout and "310+40 tokens" in tree.stdout


def test_without_a_collector_a_run_imports_no_exporter(tmp_path):
    """The trace file is written from span records; exporters are loaded only to send to a collector."""
    from tests.record.test_journal import copy_project

    root = copy_project(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "agentctl", *DEMO], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    modules = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert {"agentctl.record.tracer", "agentctl.record.otel_export"} <= modules  # the check sees the run
    # the SDK's resource detection is read (OTEL_SERVICE_NAME...), no exporter, gRPC or protobuf
    assert not [m for m in modules if m.startswith(("opentelemetry.exporter", "grpc", "google.protobuf"))]
    assert list((root / ".agentctl" / "traces").glob("*.json"))


def test_a_collector_that_never_answers_is_given_up_after_the_export_wait(monkeypatch):
    """The bound is structural (the export runs on a thread joined for EXPORT_WAIT_S), not timed here."""
    import socket

    from agentctl.record import otel_config, otel_export

    monkeypatch.setattr(otel_export, "EXPORT_WAIT_S", 0.05)
    with socket.socket() as hanging:  # accepts connections, never answers
        hanging.bind(("127.0.0.1", 0))
        hanging.listen()
        url = f"http://127.0.0.1:{hanging.getsockname()[1]}/v1/traces"
        problem = otel_export.send([], otel_config.Collector(url, "http/protobuf"))
    assert problem == f"no answer from the collector at {url} within 0.05 s"


def test_a_secret_reaches_no_journal_row_trace_file_or_log_line(tmp_path):
    from tests.support.project import Project

    secret = "sk-SECRET-9f8e7d6c"
    server = FakeOpenAI(default=lambda body: Behaviour(content="I saw " + body["messages"][-1]["content"])).start()
    try:
        project = Project(tmp_path, server)
        body = """
env:
  API_TOKEN: {secret: true}
agents:
  a: {model: m, prompt: prompts/p.prompt}
steps:
  - {id: s, agent: a, with: {text: "token ${{ env.API_TOKEN }}"}}
outputs:
  said: ${{ steps.s.output }}
"""
        project.pipeline(body)
        done, _ = cli(tmp_path, "run", "pipelines/t.yaml", "--trace-content", env={"API_TOKEN": secret})
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    assert server.requests[0][1]["messages"][-1]["content"] == f"token {secret}"  # the model did get it
    journal = "\n".join(sqlite3.connect(tmp_path / ".agentctl" / "journal.db").iterdump())
    traces = "".join(p.read_text() for p in (tmp_path / ".agentctl" / "traces").glob("*.json"))
    for where, text in (("journal", journal), ("trace", traces), ("stdout", done.stdout), ("stderr", done.stderr)):
        assert secret not in text, where
    assert "***" in journal and "***" in traces and "***" in done.stdout


def test_export_over_grpc_to_a_local_receiver(tmp_path):
    from concurrent import futures

    import grpc
    from opentelemetry.proto.collector.trace.v1 import (
        trace_service_pb2,
        trace_service_pb2_grpc,
    )

    from tests.record.test_journal import copy_project

    received = []

    class Service(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request, context):  # noqa: N802 - the generated service's name
            received.append(request)
            return trace_service_pb2.ExportTraceServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Service(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        root = copy_project(tmp_path)
        done, _ = cli(root, *DEMO, env={"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
                                        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    finally:
        server.stop(0)
    assert done.returncode == 0 and "not exported" not in done.stderr, done.stderr
    names = [s.name for r in received for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert "invoke_workflow article-review" in names and "invoke_agent reviewer" in names


LEAK = '''
import os

def leak(query: str) -> dict:
    raise RuntimeError("upstream said: " + "x" * 280 + " Bearer " + os.environ["API_TOKEN"] + " was refused")
'''


def test_a_secret_in_a_long_tool_error_reaches_no_file_agentctl_writes(tmp_path):
    """Every file agentctl writes (journal, traces, the --record cassette, crash logs) and both
    streams, with a secret beyond any truncation limit, its pieces included."""
    from tests.support.project import Project

    secret = "sk-SECRET-9f8e7d6c5b4a"
    server = FakeOpenAI(default=lambda body: Behaviour(content="I saw " + body["messages"][-1]["content"])).start()
    server.push(Behaviour(content=None, tool_calls=[("leak", '{"query": "q"}')]))
    try:
        project = Project(tmp_path, server)
        (tmp_path / "tools" / "leak.py").write_text(LEAK)
        project.pipeline("""
env:
  API_TOKEN: {secret: true}
tools:
  leak: {python: "tools.leak:leak"}
agents:
  a: {model: m, prompt: prompts/p.prompt, tools: [leak], max_iterations: 2}
steps:
  - {id: s, agent: a, with: {text: "token ${{ env.API_TOKEN }}"}}
outputs:
  said: ${{ steps.s.output }}
""")
        done, _ = cli(tmp_path, "run", "pipelines/t.yaml", "--trace-content", "--json", "--record", "c.json",
                      env={"API_TOKEN": secret})
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file() and ".agentctl" in p.parts or p.name == "c.json"]
    texts = {str(p): p.read_bytes().decode("utf-8", "replace") for p in written if not p.name.endswith("-shm")}
    texts["stdout"], texts["stderr"] = done.stdout, done.stderr
    for piece in (secret, secret[:12], secret[-12:]):
        for where, text in texts.items():
            assert piece not in text, (piece, where)
    assert "***" in texts[str(tmp_path / "c.json")]


def test_a_refused_tool_call_is_asked_of_the_provider_and_shown_in_progress_and_trace(project, server):
    # parallel_tool_calls is 1: the provider is told (parallel_tool_calls: false), and a second call
    # in one answer, refused and told to the model, is an event, a progress line and a span.
    from agentctl import run_display
    from agentctl.run.events import ToolCallRefused

    server.push(Behaviour(content=None, tool_calls=[("lookup", '{"query": "a"}'), ("lookup", '{"query": "b"}')]),
                Behaviour(content="done"))
    result, named, spans = traced_run(project, AGENT_WITH_TOOL.replace("  - {id: t, tool: lookup, with: {query: x}, "
                                                                       "needs: [s]}\n", ""), {"q": "hello"})
    assert result.status == "succeeded" and result.usage.tool_calls == 1
    assert server.requests[0][1]["parallel_tool_calls"] is False
    assert "at most 1 tool call(s) per answer" in server.requests[1][1]["messages"][-1]["content"]
    refused = [s for s in spans if s.attributes.get("agentctl.tool.refused")]
    assert len(refused) == 1 and refused[0].name == "execute_tool lookup"
    assert refused[0].status.status_code.name == "ERROR" and refused[0].attributes["error.type"] == "refused"
    line = run_display.Progress(project.compile(str(project.root / "pipelines" / "t.yaml"))).apply(
        ToolCallRefused(step="s", tool="lookup", reason="at most 1 tool call(s) per answer; this one was not run"))
    assert line == "s                tool lookup refused: at most 1 tool call(s) per answer; this one was not run"
