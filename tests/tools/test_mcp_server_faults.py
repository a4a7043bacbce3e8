"""MCP servers that misbehave on the protocol, as agentctl users meet them: what the run says."""

import subprocess
import sys

from tests.support.cli import scratch_project

PIPELINE = """apiVersion: agentctl/v1
name: p
version: 1
mcp_servers:
  chatty: {command: [@PY@, -c, "print('Server ready on stdio!', flush=True); import sys; sys.stdin.read()"],
           timeout_s: 20}
tools:
  t: {mcp: chatty, mcp_tool: anything}
steps:
  - {id: use, tool: t}
"""


def test_a_server_that_prints_to_stdout_fails_its_start_at_once_with_the_line_and_no_traceback(tmp_path):
    """Found by trying a server that prints a banner on stdout, which belongs to the protocol: the
    MCP SDK logged "Failed to parse JSONRPC message" with a traceback, the start waited its whole
    timeout_s, and the error read "ExceptionGroup: unhandled errors in a TaskGroup"."""
    root = scratch_project(tmp_path, {"pipelines/p.yaml": PIPELINE.replace("@PY@", sys.executable)})
    done = subprocess.run([sys.executable, "-m", "agentctl", "run", "pipelines/p.yaml", "--no-live"], cwd=root,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "mcp chatty       failed to start in " in done.stderr  # it said "started in 2.1 s: ... did not start"
    assert "Traceback" not in done.stderr and "ExceptionGroup" not in done.stdout + done.stderr, done.stderr
    assert ("MCP server 'chatty' (" in done.stdout and "did not start: it wrote a line to stdout that is not an MCP "
            "message: 'Server ready on stdio!' (a stdio server writes only JSON-RPC there; its logs go to stderr)"
            in done.stdout), done.stdout


def test_a_server_command_that_does_not_exist_says_where_to_fix_it(tmp_path):
    root = scratch_project(tmp_path, {"pipelines/p.yaml": PIPELINE.replace(
        '[@PY@, -c, "print(\'Server ready on stdio!\', flush=True); import sys; sys.stdin.read()"]',
        "[npx-not-installed-here, -y, some-server]")})
    done = subprocess.run([sys.executable, "-m", "agentctl", "run", "pipelines/p.yaml", "--no-live"], cwd=root,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert ("did not start: its command 'npx-not-installed-here' was not found (not on PATH, and no such file): "
            "install it, or give its path in mcp_servers.chatty.command") in done.stdout, done.stdout
