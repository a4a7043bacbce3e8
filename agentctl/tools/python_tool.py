"""Python-function tools: `module:function`, imported from the project root at run time only.

The input schema is the declared one, else derived from the signature's type hints. A
side-effecting function that accepts `idempotency_key` receives the call's stable key.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import sys
import typing
from typing import Any, Callable

from agentctl.compile.ir import ToolDef
from agentctl.tools.base import ToolContext, ToolError

_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array", dict: "object"}
_RESERVED = {"idempotency_key"}


def load_function(target: str, root: str) -> Callable[..., Any]:
    module_name, _, name = target.partition(":")
    if sys.path[:1] != [root]:  # this project's package first, not another project's of the same name
        if root in sys.path:
            sys.path.remove(root)
        sys.path.insert(0, root)
    _forget_other_projects(module_name.split(".")[0], root)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - user code may raise anything at import
        raise ToolError(f"cannot import {module_name}: {type(exc).__name__}: {exc}") from None
    function = getattr(module, name, None)
    if not callable(function):
        raise ToolError(f"{module_name} has no function {name}")
    return function


def _forget_other_projects(package: str, root: str) -> None:
    """Projects often name their package `tools`; a module cached from another project's root
    (an embedding process, a test session) must not stand in for this project's."""
    from pathlib import Path

    base = Path(root).resolve()
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        location = getattr(sys.modules[name], "__file__", None)
        if location and base not in Path(location).resolve().parents:
            del sys.modules[name]


def schema_from_signature(function: Callable[..., Any]) -> dict:
    hints = typing.get_type_hints(function)
    props: dict[str, dict] = {}
    required = []
    for name, param in inspect.signature(function).parameters.items():
        if name in _RESERVED or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        hint = typing.get_origin(hints.get(name)) or hints.get(name)
        props[name] = {"type": _JSON_TYPES[hint]} if hint in _JSON_TYPES else {}
        if param.default is param.empty:
            required.append(name)
    return {"type": "object", "properties": props, "required": required}


class PythonTool:
    """Calls run in worker processes of this tool's own (python_worker.py), one per call in flight,
    reused: a call that times out or is cancelled (a spent wall budget, Ctrl-C) kills its worker,
    so nothing the function does can keep the run from ending. The trade-off: arguments and
    results cross a pipe as JSON (they must be JSON anyway), and each worker costs a process start
    (~50 ms) the first time."""

    def __init__(self, spec: ToolDef, root: str, output: Callable[[str, str], None] | None = None) -> None:
        self.name = spec.name
        self.spec = spec
        self.root = root
        self.output = output or _to_stderr  # (source, line) for what the function prints
        self._function: Callable[..., Any] | None = None
        self.idle: list[_Worker] = []

    @property
    def function(self) -> Callable[..., Any]:
        if self._function is None:
            self._function = load_function(self.spec.target, self.root)
        return self._function

    def input_schema(self) -> dict:
        return dict(self.spec.input_schema) if self.spec.input_schema else schema_from_signature(self.function)

    async def call(self, args: dict, ctx: ToolContext) -> Any:
        worker = self.idle.pop() if self.idle else await _Worker.start(self.root, self.name, self.output)
        request = {"target": self.spec.target, "args": args, "key": ctx.idempotency_key}
        try:
            reply = await asyncio.wait_for(worker.ask(request), self.spec.timeout_s)
        except asyncio.TimeoutError:
            await worker.kill()
            raise ToolError(f"tool '{self.name}' timed out after {self.spec.timeout_s:g} s (stopped)",
                            retryable=True) from None
        except BaseException:
            await worker.kill()
            raise
        self.idle.append(worker)
        return _result(self.name, reply)

    async def close(self) -> None:
        idle, self.idle = self.idle, []
        for worker in idle:
            await worker.kill()


def _result(name: str, reply: dict) -> Any:
    if "ok" in reply:
        return reply["ok"]
    kind, error = reply.get("kind"), reply.get("error")
    if kind == "args":
        raise ToolError(f"tool '{name}' rejected its arguments: {error}")
    if kind == "result":
        raise ToolError(f"tool '{name}' returned {error}, which is not JSON data")
    if kind == "worker":
        raise ToolError(f"tool '{name}': {error}")
    raise ToolError(f"tool '{name}' failed: {error}")


def _to_stderr(source: str, line: str) -> None:
    from agentctl import console

    console.print_tool_output(source, line)


class _Worker:
    def __init__(self, process, name: str, output: Callable[[str, str], None]) -> None:
        self.process = process
        self.reader = asyncio.ensure_future(self._relay(name, output))

    @classmethod
    async def start(cls, root: str, name: str, output: Callable[[str, str], None]) -> "_Worker":
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "agentctl.tools.python_worker", root, cwd=root, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, limit=2**26)
        return cls(process, name, output)

    async def ask(self, request: dict) -> dict:
        self.process.stdin.write((json.dumps(request, ensure_ascii=False) + "\n").encode())
        await self.process.stdin.drain()
        line = await self.process.stdout.readline()
        if not line:
            await self.process.wait()
            return {"error": f"its process ended (exit {self.process.returncode}) before it answered", "kind": "worker"}
        return json.loads(line)

    async def _relay(self, name: str, output: Callable[[str, str], None]) -> None:
        async for line in self.process.stderr:
            output(f"tool {name}", line.decode("utf-8", "replace").rstrip("\n"))

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()
        await asyncio.gather(self.reader, return_exceptions=True)
