import asyncio

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
