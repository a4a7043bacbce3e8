"""HTTP and MCP tools for real: a local HTTP endpoint and an MCP server over stdio, each given
the call's idempotency key (an `Idempotency-Key` header; the MCP request's `_meta`)."""

import json

from tests.support.http_endpoint import HttpEndpoint
from tests.support.openai_server import Behaviour, answer

MCP_PIPELINE = """
env:
  LEDGER: {secret: false}
mcp_servers:
  test:
    command: [@PY@, -m, tests.support.mcp_server]
    env: {LEDGER: "${env:LEDGER}", PYTHONPATH: "@REPO@"}
tools:
  book: {mcp: test, side_effects: true}
  shout: {mcp: test}
agents:
  a: {model: m, prompt: prompts/p.prompt, tools: [shout], max_iterations: 3}
steps:
  - {id: reserve, tool: book, with: {item: room}}
  - {id: talk, agent: a, needs: [reserve]}
outputs:
  booking: ${{ steps.reserve.output }}
  said: ${{ steps.talk.output }}
"""


def test_mcp_tools_over_stdio_get_the_key_in_meta(project, server, tmp_path, monkeypatch):
    import sys

    from tests.conftest import REPO

    ledger = tmp_path / "ledger.jsonl"
    monkeypatch.setenv("LEDGER", str(ledger))
    server.push(Behaviour(content=None, tool_calls=[("shout", '{"text": "hi"}')]), answer("done"))
    body = MCP_PIPELINE.replace("@PY@", sys.executable).replace("@REPO@", str(REPO))
    result = project.run(body)
    assert result.status == "succeeded", result.error
    key = f"{result.run_id}:reserve:0"
    assert result.outputs["booking"] == {"booked": "room", "key": key}
    assert [json.loads(line)["key"] for line in ledger.read_text().splitlines()] == [key]
    offered = server.requests[0][1]["tools"][0]["function"]
    assert offered["name"] == "shout" and offered["parameters"]["properties"]["text"]["type"] == "string"
    assert json.loads(server.requests[1][1]["messages"][-1]["content"]) == {"text": "HI"}


def test_a_missing_mcp_tool_fails_before_any_step(project, server, tmp_path, monkeypatch):
    import sys

    from tests.conftest import REPO

    monkeypatch.setenv("LEDGER", str(tmp_path / "ledger.jsonl"))
    body = MCP_PIPELINE.replace("@PY@", sys.executable).replace("@REPO@", str(REPO)).replace(
        "shout: {mcp: test}", "shout: {mcp: test, mcp_tool: murmur}")
    result = project.run(body)
    assert result.status == "failed" and "has no tool 'murmur'" in result.error
    assert server.count() == 0 and result.steps["reserve"].status == "pending"


class Endpoint(HttpEndpoint):
    """A JSON API that echoes what it is sent."""

    def __init__(self) -> None:
        super().__init__(self.answer, "/pay")

    def answer(self, path: str, body: bytes) -> tuple[int, str, bytes]:
        return 200, "application/json", json.dumps({"ok": True, "echo": json.loads(body)}).encode()

    @property
    def calls(self) -> list:
        return [(headers, json.loads(body)) for _, headers, body in self.posts]


def test_http_tools_send_json_and_the_idempotency_key_header(project, server, monkeypatch):
    endpoint = Endpoint()
    monkeypatch.setenv("PAY_TOKEN", "tok-123456")
    body = f"""
env:
  PAY_TOKEN: {{secret: true}}
tools:
  pay:
    http: {{url: "{endpoint.url}", headers: {{Authorization: "Bearer ${{env:PAY_TOKEN}}"}}}}
    side_effects: true
steps:
  - {{id: charge, tool: pay, with: {{amount: 12}}}}
"""
    result = project.run(body)
    assert result.status == "succeeded", result.error
    ((headers, sent),) = endpoint.calls
    assert sent == {"amount": 12}
    assert headers["Idempotency-Key"] == f"{result.run_id}:charge:0"
    assert headers["Authorization"] == "Bearer tok-123456"
    assert result.steps["charge"].output == {"ok": True, "echo": {"amount": 12}}
    endpoint.stop()


class Flaky(Endpoint):
    """Answers 503 a given number of times, then 200."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        super().__init__()

    def answer(self, path: str, body: bytes) -> tuple[int, str, bytes]:
        if self.failures > 0:
            self.failures -= 1
            return 503, "application/json", b""
        return super().answer(path, body)


def test_a_tool_retry_policy_retries_retryable_failures_only(project, server):
    flaky = Flaky(failures=2)
    body = f"""
tools:
  fetch:
    http: {{url: "{flaky.url}"}}
    retry: {{max_attempts: 3, initial_s: 0.01, max_s: 0.05}}
  fetch_once:
    http: {{url: "{flaky.url}"}}
steps:
  - {{id: a, tool: fetch, with: {{q: 1}}}}
"""
    result = project.run(body)
    assert result.status == "succeeded" and len(flaky.calls) == 3  # 503, 503, 200
    flaky.failures = 1
    flaky.posts.clear()
    once = project.run(body.replace("tool: fetch,", "tool: fetch_once,"))
    assert once.status == "failed" and "HTTP 503" in once.error and len(flaky.calls) == 1
    flaky.stop()


def test_mcp_tools_in_a_journaled_run(project, server, tmp_path, monkeypatch):
    """The MCP server's subprocess works in a journaled run, as `agentctl run` makes it."""
    import sys

    from agentctl import runs
    from agentctl.llm.litellm_client import LitellmModel
    from agentctl.run.approvals import FixedApprover
    from agentctl.tools.registry import build_tools
    from tests.conftest import REPO

    ledger = tmp_path / "ledger.jsonl"
    monkeypatch.setenv("LEDGER", str(ledger))
    server.push(Behaviour(content=None, tool_calls=[("shout", '{"text": "hi"}')]), answer("done"))
    compiled = project.compile(project.pipeline(MCP_PIPELINE.replace("@PY@", sys.executable).replace("@REPO@", str(REPO))))
    result = runs.execute(runs.Prepared(compiled, {}, build_tools(compiled), LitellmModel()), FixedApprover(None))
    assert result.status == "succeeded", result.error
    key = f"{result.run_id}:reserve:0"
    assert result.outputs["booking"] == {"booked": "room", "key": key}
    journal = runs.journal_for(project.root, create=False)
    assert journal.journaled_call(result.run_id, key, "book", {"item": "room"}) == ("done", {"booked": "room", "key": key})
    journal.close()


def test_an_mcp_server_starts_while_stderr_has_no_file_descriptor(project, server, monkeypatch):
    """mcp binds stdio_client's stderr when it is imported (under capsys in one test, then used by
    the next): a server's stderr is ours as it is when the server starts, or the real one."""
    import io
    import sys

    from tests.conftest import REPO

    monkeypatch.setattr(sys, "stderr", io.StringIO())  # like capsys: no fileno()
    monkeypatch.setenv("LEDGER", str(project.root / "ledger.jsonl"))
    server.push(Behaviour(content=None, tool_calls=[("shout", '{"text": "hi"}')]), answer("done"))
    result = project.run(MCP_PIPELINE.replace("@PY@", sys.executable).replace("@REPO@", str(REPO)))
    assert result.status == "succeeded", result.error


def test_an_mcp_text_result_is_text_and_its_server_stderr_is_logged_masked(project, server, capsys, monkeypatch):
    # Was: {"result": "hi"} as the output, and the server's stderr, key included, passed straight through.
    import sys

    from tests.conftest import REPO

    secret = "kSEC-7f3a9b1e2c4d"
    body = """
env:
  API_TOKEN: {secret: true}
mcp_servers:
  test:
    command: [@PY@, -m, tests.support.mcp_server]
    env: {API_TOKEN: "${env:API_TOKEN}", PYTHONPATH: "@REPO@"}
tools:
  whisper: {mcp: test}
steps:
  - {id: quiet, tool: whisper, with: {text: HI}}
outputs:
  said: ${{ steps.quiet.output }}
""".replace("@PY@", sys.executable).replace("@REPO@", str(REPO))
    monkeypatch.setenv("API_TOKEN", secret)
    result = project.run(body)
    assert result.status == "succeeded", result.error
    assert result.outputs == {"said": "hi"}
    err = capsys.readouterr().err
    assert "[mcp test]" not in err and secret not in err  # kept out of the progress display
    log = (project.root / ".agentctl" / "logs" / "mcp-test.log").read_text()
    assert "debug: whispering with ***" in log and secret not in log
    assert project.run(body).status == "succeeded"  # a second run: its lines under a header of their own
    blocks = (project.root / ".agentctl" / "logs" / "mcp-test.log").read_text().split("--- ")[1:]
    assert len(blocks) == 2 and all(" mcp test, pipeline t ---\n" in b and "whispering" in b for b in blocks)


def test_a_server_that_does_not_start_shows_its_last_lines(project, server):
    import sys

    body = f"""
mcp_servers:
  broken:
    command: [{sys.executable}, -c, "import sys; print('boom: no config file', file=sys.stderr); sys.exit(3)"]
tools:
  t: {{mcp: broken}}
steps:
  - {{id: use, tool: t}}
"""
    result = project.run(body)
    assert result.status == "failed"
    assert "MCP server 'broken'" in result.error and "did not start" in result.error
    assert "its last lines" in result.error and "boom: no config file" in result.error


def test_missing_credentials_are_a_usage_error_when_the_model_loads_beside_mcp_servers(tmp_path):
    """With MCP servers, litellm loads while they start (llm/loading.py); its credential check still
    stops the run before any step, as a usage error naming the variable."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    (tmp_path / "pipelines").mkdir()
    (tmp_path / "prompts").mkdir()
    (tmp_path / "agentctl.lock").write_text("")
    (tmp_path / "prompts" / "p.prompt").write_text("---\nname: p\nversion: 1\n---\nuser:\nhi\n")
    (tmp_path / "pipelines" / "p.yaml").write_text(f"""apiVersion: agentctl/v1
name: p
version: 1
models:
  m: {{model: anthropic/claude-x, params: {{max_tokens: 10}}}}
mcp_servers:
  test: {{command: [{sys.executable}, -m, tests.support.mcp_server], env: {{PYTHONPATH: "{REPO}", LEDGER: /dev/null}}}}
tools:
  shout: {{mcp: test}}
agents:
  a: {{model: m, prompt: prompts/p.prompt, tools: [shout], max_iterations: 2}}
steps:
  - {{id: s, agent: a}}
""")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC")}
    done = subprocess.run([sys.executable, "-m", "agentctl", "run", "pipelines/p.yaml", "--no-live"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "ANTHROPIC_API_KEY" in done.stderr and "internal error" not in done.stdout + done.stderr


def test_each_mcp_server_is_announced_as_starting_before_it_is_up(project, server, monkeypatch):
    """The live view showed an empty table while the servers started: no event said they were."""
    import sys

    from agentctl.run.events import EventBus, ServerPhase, ServerStarting, StepStarted
    from tests.conftest import REPO

    monkeypatch.setenv("LEDGER", str(project.root / "ledger.jsonl"))
    server.push(Behaviour(content=None, tool_calls=[("shout", '{"text": "hi"}')]), answer("done"))
    seen, bus = [], EventBus()
    bus.subscribe(lambda event: seen.append(event))
    result = project.run(MCP_PIPELINE.replace("@PY@", sys.executable).replace("@REPO@", str(REPO)), events=bus)
    assert result.status == "succeeded", result.error
    kinds = [(type(e).__name__, getattr(e, "server", getattr(e, "step", None))) for e in seen
             if isinstance(e, (ServerStarting, ServerPhase, StepStarted))]
    assert kinds[:3] == [("ServerStarting", "test"), ("ServerPhase", "test"), ("StepStarted", "reserve")]


def test_the_live_view_shows_a_server_starting_until_it_is_up(project, server):
    """At a terminal: an empty table, its clock stopped, for as long as the servers took to start."""
    import sys

    from tests.conftest import REPO
    from tests.support.terminal import Terminal

    gate = project.root / "server-may-start"
    body = MCP_PIPELINE.replace("@PY@", sys.executable).replace("@REPO@", str(REPO)).replace(
        "command: [@PY@, -m, tests.support.mcp_server]".replace("@PY@", sys.executable),
        f'command: [sh, -c, "while [ ! -e {gate} ]; do sleep 0.05; done; exec {sys.executable} -m '
        'tests.support.mcp_server"]')
    server.push(Behaviour(content=None, tool_calls=[("shout", '{"text": "hi"}')]), answer("done"))
    path = project.pipeline(body)
    terminal = Terminal([sys.executable, "-m", "agentctl", "run", path], project.root, columns=100,
                        env={"LEDGER": str(project.root / "ledger.jsonl"), "PYTHONPATH": str(REPO)})
    terminal.expect("mcp test │ … starting │")
    gate.touch()
    code, screen = terminal.finish()
    assert code == 0, screen
    last_frame = screen[screen.rindex("┏"):].splitlines()
    states = {cells[1].strip(): cells[2].strip() for cells in (line.split("│") for line in last_frame)
              if len(cells) > 3}
    assert states == {"mcp test": "✓ stopped", "reserve": "✓ succeeded", "talk": "✓ succeeded"}
    assert "mcp test │ ✓ started" in screen  # before the steps ran


def test_ctrl_c_while_a_server_starts_stops_at_once_without_a_traceback(project, server):
    """Ctrl-C during start-up waited for the server to come up (its whole timeout, for one that
    hangs) and printed an InvalidStateError traceback from the thread loading litellm."""
    import sqlite3
    import sys

    from tests.conftest import REPO
    from tests.support.terminal import Terminal

    never = project.root / "never-created"
    body = MCP_PIPELINE.replace("@PY@", sys.executable).replace("@REPO@", str(REPO)).replace(
        "command: [@PY@, -m, tests.support.mcp_server]".replace("@PY@", sys.executable),
        f'command: [sh, -c, "while [ ! -e {never} ]; do sleep 0.05; done"]\n    timeout_s: 3600')
    terminal = Terminal([sys.executable, "-m", "agentctl", "run", project.pipeline(body)], project.root,
                        columns=100, env={"LEDGER": str(project.root / "ledger.jsonl")})
    terminal.expect("mcp test │ … starting │")
    terminal.interrupt()
    code, screen = terminal.finish()
    assert code == 130, screen
    assert "Traceback" not in screen and "Error" not in screen.replace("interrupted", "")
    assert "│ mcp test │ ✗ cancelled │" in screen[screen.rindex("┏"):]
    (status,) = sqlite3.connect(project.root / ".agentctl" / "journal.db").execute("SELECT status FROM runs").fetchone()
    assert status == "interrupted"


def test_a_server_that_dies_during_a_call_shows_its_last_lines(project, server):
    """It said only "MCPError: Connection closed"; why the server died was in its log alone."""
    import sys

    from tests.conftest import REPO

    body = f"""
mcp_servers:
  test:
    command: [{sys.executable}, -m, tests.support.mcp_server]
    env: {{PYTHONPATH: "{REPO}"}}
tools:
  crash: {{mcp: test}}
steps:
  - {{id: use, tool: crash, with: {{text: block 7}}}}
"""
    result = project.run(body)
    assert result.status == "failed"
    assert "Connection closed" in result.error and "its last lines" in result.error
    assert "fatal: index corrupted while reading block 7" in result.error


def test_a_second_ctrl_c_while_the_servers_stop_changes_nothing(project, server):
    """After Ctrl-C nothing showed that the servers were being stopped, so users pressed it again;
    the second one cut the stop short: asyncio printed "Loop ... that handles pid N is closed" and
    the journal kept the run as `running`. Now the live view shows the servers stopping, and a
    second Ctrl-C leaves the stop to end on its own."""
    import sqlite3
    import sys
    import threading

    from tests.conftest import REPO
    from tests.support.openai_server import Behaviour
    from tests.support.terminal import Terminal

    gate, calling = project.root / "server-may-exit", threading.Event()

    def hold(body):
        calling.set()
        return Behaviour(content="slow", delay_s=300)

    server.default = hold
    # the server outlives its closed stdin (as some do) until the test lets it go
    body = MCP_PIPELINE.replace("@REPO@", str(REPO)).replace(
        "command: [@PY@, -m, tests.support.mcp_server]",
        f"command: [sh, -c, \"{sys.executable} -m tests.support.mcp_server; trap '' TERM; "
        f'while [ ! -e {gate} ]; do sleep 0.05; done"]')
    terminal = Terminal([sys.executable, "-m", "agentctl", "run", project.pipeline(body)], project.root,
                        columns=100, env={"LEDGER": str(project.root / "ledger.jsonl")})
    terminal.until(calling.is_set, "the agent's model call")
    terminal.interrupt()
    terminal.expect("mcp test │ … stopping")
    terminal.interrupt()
    gate.touch()
    code, screen = terminal.finish()
    assert code == 130, screen
    assert "that handles pid" not in screen and "Traceback" not in screen
    assert "│ mcp test │ ✓ stopped " in screen[screen.rindex("┏"):]
    (status,) = sqlite3.connect(project.root / ".agentctl" / "journal.db").execute("SELECT status FROM runs").fetchone()
    assert status == "interrupted"
