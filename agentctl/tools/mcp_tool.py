"""MCP tools over stdio (mcp 2.x). One server process per run, shared by its tools, started
before the first step and stopped at the end. A side-effecting tool's call carries its
idempotency key in the request's `_meta`. The only module that imports mcp."""

from __future__ import annotations

import asyncio
import json
import os
import time
from contextlib import AsyncExitStack
from typing import Any, Callable

from agentctl.compile.ir import McpServerDef, ToolDef
from agentctl.tools.base import TRACE_HEADERS, ToolContext, ToolError
from agentctl.tools.env import resolve


class McpServers:
    """The run's MCP server sessions, by server name. What a server prints on stderr is relayed
    line by line to `output` (which masks secrets), never passed straight through."""

    def __init__(self, servers: dict[str, McpServerDef], root: str,
                 output: Callable[[str, str], None] | None = None) -> None:
        self.defs = servers
        self.root = root
        self.output = output or _print
        self.sessions: dict[str, Any] = {}
        self.schemas: dict[str, dict[str, dict]] = {}
        self.stack = AsyncExitStack()
        self.relays: list[asyncio.Task] = []
        self.phases: list[tuple[str, str, float, float, str | None]] = []  # (server, phase, began, ended, error)
        self.stderr: dict[str, tuple[Any, asyncio.Task]] = {}  # our end of each server's stderr, its relay

    async def start(self, name: str) -> None:
        if name in self.sessions:
            return
        began = time.monotonic()
        try:
            await self._start(name, self.defs[name])
        except ToolError as exc:
            self.phases.append((name, "start", began, time.monotonic(), str(exc)))
            raise
        self.phases.append((name, "start", began, time.monotonic(), None))

    async def _start(self, name: str, spec: McpServerDef) -> None:
        from mcp import ClientSession
        from mcp.client.stdio import StdioServerParameters, stdio_client

        params = StdioServerParameters(command=spec.command[0], args=list(spec.command[1:]),
                                       env={k: resolve(v) for k, v in spec.env.items()} or None,
                                       cwd=spec.cwd or self.root)
        try:
            errlog = await self._relay_stderr(name)
            read, write = await self.stack.enter_async_context(stdio_client(params, errlog=errlog))
            session = await self.stack.enter_async_context(ClientSession(read, write,
                                                                         read_timeout_seconds=spec.timeout_s))
            await session.initialize()
            listed = await session.list_tools()
        except ToolError:
            raise
        except Exception as exc:  # noqa: BLE001 - a server that does not start is a tool error
            await self._drain(name)
            raise ToolError(f"MCP server '{name}' ({' '.join(spec.command)}) did not start: "
                            f"{type(exc).__name__}: {exc}{self.tail(name)}") from None
        self.sessions[name] = session
        self.schemas[name] = {tool.name: {"schema": tool.input_schema, "description": tool.description,
                                          "wrapped": _wraps_result(tool.name, tool.output_schema)}
                              for tool in listed.tools}

    def tail(self, name: str) -> str:
        """The server's last printed lines, when its output is kept (registry.ServerLogs)."""
        tail = getattr(self.output, "tail", None)
        return tail(f"mcp {name}") if tail is not None else ""

    async def _relay_stderr(self, name: str):
        """A pipe for the server's stderr (the subprocess needs a real file descriptor), read line
        by line until the server and our end of it are closed."""
        read_fd, write_fd = os.pipe()
        errlog = os.fdopen(write_fd, "w")
        self.stack.callback(errlog.close)  # after the server has stopped (the stack unwinds in reverse)
        reader = asyncio.StreamReader()
        await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                                           os.fdopen(read_fd, "rb"))

        async def relay() -> None:
            async for line in reader:
                self.output(f"mcp {name}", line.decode("utf-8", "replace").rstrip("\n"))
        self.relays.append(asyncio.ensure_future(relay()))
        self.stderr[name] = (errlog, self.relays[-1])
        return errlog

    async def _drain(self, name: str) -> None:
        """After a failed start: close our end of the server's stderr and wait (1 s at most, for a
        server still alive) until the relay has passed on every line it printed."""
        if name not in self.stderr:
            return
        errlog, relay = self.stderr.pop(name)
        errlog.close()
        try:
            await asyncio.wait_for(asyncio.shield(relay), 1.0)
        except Exception:  # noqa: BLE001 - a timeout or a broken pipe: what was read so far is shown
            pass

    async def close(self) -> None:
        began = time.monotonic()
        try:
            await self.stack.aclose()
            await asyncio.gather(*self.relays, return_exceptions=True)
        finally:
            if self.sessions:
                self.phases.append((", ".join(sorted(self.sessions)), "stop", began, time.monotonic(), None))


class McpTool:
    def __init__(self, spec: ToolDef, servers: McpServers) -> None:
        self.name = spec.name
        self.spec = spec
        self.servers = servers

    async def prepare(self) -> None:
        await self.servers.start(self.spec.target)
        if self.spec.remote_name not in self.servers.schemas[self.spec.target]:
            offered = ", ".join(sorted(self.servers.schemas[self.spec.target])) or "none"
            raise ToolError(f"MCP server '{self.spec.target}' has no tool '{self.spec.remote_name}' (it offers: {offered})")

    def input_schema(self) -> dict:
        if self.spec.input_schema:
            return dict(self.spec.input_schema)
        return dict(self.servers.schemas[self.spec.target][self.spec.remote_name]["schema"])

    async def call(self, args: dict, ctx: ToolContext) -> Any:
        session = self.servers.sessions[self.spec.target]
        meta = {"idempotency_key": ctx.idempotency_key} if self.spec.side_effects else {}
        meta.update(TRACE_HEADERS.get() or {})
        try:
            result = await session.call_tool(self.spec.remote_name, args, read_timeout_seconds=self.spec.timeout_s,
                                             meta=meta or None)
        except Exception as exc:  # noqa: BLE001 - protocol errors and timeouts end the call
            timeout = "timeout" in type(exc).__name__.lower() or "timed out" in str(exc).lower()
            raise ToolError(f"tool '{self.name}' (MCP): {type(exc).__name__}: {exc}", retryable=timeout) from None
        text = "\n".join(getattr(block, "text", "") for block in result.content)
        if result.is_error:
            raise ToolError(f"tool '{self.name}' (MCP) reported an error: {text[:300]}")
        if result.structured_content is not None:
            wrapped = self.servers.schemas[self.spec.target][self.spec.remote_name]["wrapped"]
            if wrapped and isinstance(result.structured_content, dict) and "result" in result.structured_content:
                return result.structured_content["result"]  # text as text, a list as a list
            return result.structured_content
        try:
            return json.loads(text)
        except ValueError:
            return text


def _wraps_result(name: str, schema: dict | None) -> bool:
    """MCP servers built on the SDK wrap a function's plain result (text, a number, a list) as
    {"result": ...}, declaring an output schema titled '<function>Output' with that one field."""
    return (isinstance(schema, dict) and str(schema.get("title", "")).endswith("Output")
            and set(schema.get("properties") or {}) == {"result"})


def _print(source: str, line: str) -> None:
    from agentctl import console

    console.print_tool_output(source, line)
