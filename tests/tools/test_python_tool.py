import asyncio
import json

from agentctl.compile.ir import ToolDef
from agentctl.tools.base import ToolContext
from agentctl.tools.python_tool import PythonTool, schema_from_signature


def spec(target, **kw):
    base = dict(name="t", kind="python", target=target, remote_name=None, method=None, headers={}, description=None,
                input_schema=None, output_schema=None, side_effects=False, permission="allow", approval=False,
                timeout_s=2.0, rate_limit=None, retry=None)
    base.update(kw)
    return ToolDef(**base)


def project(root, value):
    (root / "tools").mkdir(parents=True)
    (root / "tools" / "__init__.py").write_text("")
    (root / "tools" / "x.py").write_text(
        f"def f(q: str, n: int = 1, idempotency_key: str = '') -> dict:\n    return {{'v': {value!r}, 'key': idempotency_key}}\n"
        "def slow() -> dict:\n    import time; time.sleep(5)\n")


def test_two_projects_with_a_tools_package_each_load_their_own(tmp_path):
    project(tmp_path / "a", "A")
    project(tmp_path / "b", "B")
    ctx = ToolContext("run1", "step", 0)
    a = asyncio.run(PythonTool(spec("tools.x:f"), str(tmp_path / "a")).call({"q": "x"}, ctx))
    b = asyncio.run(PythonTool(spec("tools.x:f"), str(tmp_path / "b")).call({"q": "x"}, ctx))
    assert (a["v"], b["v"]) == ("A", "B")
    assert a["key"] == "run1:step:0"  # the stable idempotency key reaches the function


def test_schema_from_type_hints_skips_the_idempotency_key(tmp_path):
    project(tmp_path / "a", "A")
    tool = PythonTool(spec("tools.x:f"), str(tmp_path / "a"))
    assert tool.input_schema() == {"type": "object", "properties": {"q": {"type": "string"}, "n": {"type": "integer"}},
                                   "required": ["q"]}
    assert schema_from_signature(lambda a, b=2: None)["required"] == ["a"]


def test_a_slow_tool_times_out(tmp_path):
    import pytest

    from agentctl.tools.base import ToolError

    project(tmp_path / "a", "A")
    tool = PythonTool(spec("tools.x:slow", timeout_s=0.2), str(tmp_path / "a"))
    with pytest.raises(ToolError, match="timed out after 0.2 s"):
        asyncio.run(tool.call({}, ToolContext("r", "s", 0)))


def test_a_tool_gets_a_copy_of_its_arguments(tmp_path):
    """Arguments are often another step's output, by reference: a tool changing them must not change it."""
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "__init__.py").write_text("")
    (tmp_path / "tools" / "x.py").write_text("def f(order: dict) -> dict:\n    order['items'].append('x')\n"
                                              "    return order\n")
    output = {"items": ["a"]}
    result = asyncio.run(PythonTool(spec("tools.x:f"), str(tmp_path)).call({"order": output}, ToolContext("r", "s", 0)))
    assert result == {"items": ["a", "x"]} and output == {"items": ["a"]}


STUBBORN = '''
import os
import time

def chatty(q: str) -> dict:
    print("looking up", q, "with", os.environ.get("API_TOKEN", "no token"))
    return {"found": q}

def never(q: str) -> dict:
    while True:
        try:
            time.sleep(600)
        except BaseException:
            pass
'''


def run_pipeline(tmp_path, steps: str, *args, timeout_s: int = 1, env: dict | None = None):
    import os
    import subprocess
    import sys

    (tmp_path / "agentctl.lock").write_text("")
    (tmp_path / "tools").mkdir(exist_ok=True)
    (tmp_path / "tools" / "__init__.py").write_text("")
    (tmp_path / "tools" / "stubborn.py").write_text(STUBBORN)
    (tmp_path / "pipelines").mkdir(exist_ok=True)
    (tmp_path / "pipelines" / "p.yaml").write_text(
        "apiVersion: agentctl/v1\nname: p\nversion: 1\nenv:\n  API_TOKEN: {secret: true, required: false}\ntools:\n"
        '  chatty: {python: "tools.stubborn:chatty"}\n'
        '  never: {python: "tools.stubborn:never", timeout_s: %d}\n' % timeout_s + steps)
    return subprocess.run([sys.executable, "-m", "agentctl", "run", "pipelines/p.yaml", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})


def test_what_a_tool_prints_never_reaches_stdout(tmp_path):
    """print() in a tool used to land on stdout before --json, which then did not parse."""
    done = run_pipeline(tmp_path, "steps:\n  - {id: s, tool: chatty, with: {q: x}}\n", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["steps"]["s"]["output"] == {"found": "x"}
    assert "[tool chatty] looking up x with no token" in done.stderr


def test_what_a_tool_prints_is_masked(tmp_path):
    secret = "kSEC-7f3a9b1e2c4d"
    done = run_pipeline(tmp_path, "steps:\n  - {id: s, tool: chatty, with: {q: x}}\n", env={"API_TOKEN": secret})
    assert done.returncode == 0, done.stderr
    assert "[tool chatty] looking up x with ***" in done.stderr and secret not in done.stderr + done.stdout


def test_a_tool_that_never_returns_is_stopped_at_its_timeout(tmp_path):
    """It used to log the timeout, then keep the process alive for ever (a thread cannot be stopped)."""
    done = run_pipeline(tmp_path, "steps:\n  - {id: s, tool: never, with: {q: x}}\n", "--json")
    assert done.returncode == 1 and "timed out after 1 s" in json.loads(done.stdout)["error"]


def test_a_tool_that_never_returns_is_stopped_by_the_wall_budget(tmp_path):
    steps = "budgets: {max_wall_s: 1}\nsteps:\n  - {id: s, tool: never, with: {q: x}}\n"
    done = run_pipeline(tmp_path, steps, "--json", timeout_s=600)
    assert done.returncode == 3 and "max_wall_s" in json.loads(done.stdout)["error"]


def test_a_result_that_breaks_the_output_schema_fails_the_step(tmp_path):
    """A tool declaring `count: integer` returned "not a number" and the run succeeded."""
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "count.json").write_text(
        '{"type": "object", "properties": {"found": {"type": "integer"}}, "required": ["found"],'
        ' "additionalProperties": false}')
    steps = ("  counted: {python: \"tools.stubborn:chatty\", output_schema: schemas/count.json}\n"
             "steps:\n  - {id: s, tool: counted, with: {q: x}}\n")
    done = run_pipeline(tmp_path, steps, "--json")
    assert done.returncode == 1, done.stdout
    assert "does not match its output_schema: found: 'x' is not of type 'integer'" in json.loads(done.stdout)["error"]


def test_ctrl_c_during_a_python_tool_call_shows_no_traceback_from_its_worker(tmp_path):
    """Ctrl-C reached the tool's worker process too (the terminal signals its whole process group):
    the function was interrupted where it stood and its KeyboardInterrupt traceback was shown
    under `[tool NAME]`. The run decides what stops: it kills the worker."""
    import sys

    from tests.support.cli import scratch_project
    from tests.support.terminal import Terminal

    called = tmp_path / "called"
    scratch_project(tmp_path, {
        "tools/__init__.py": "",
        "tools/slow.py": f"import pathlib, time\n\ndef slow() -> dict:\n    pathlib.Path({str(called)!r}).touch()\n"
                         "    time.sleep(3600)\n    return {}\n",
        "pipelines/s.yaml": "apiVersion: agentctl/v1\nname: s\nversion: 1\ntools:\n  nap: {python: tools.slow:slow}\n"
                            "steps:\n  - {id: a, tool: nap}\n",
    })
    terminal = Terminal([sys.executable, "-m", "agentctl", "run", "pipelines/s.yaml"], tmp_path, columns=100)
    terminal.until(called.exists, "the tool's call")
    terminal.interrupt()
    code, screen = terminal.finish()
    assert code == 130, screen
    assert "KeyboardInterrupt" not in screen and "Traceback" not in screen, screen
    assert "a     cancelled" in screen
