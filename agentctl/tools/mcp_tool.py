"""MCP tools over stdio (mcp 2.x). One server process per run, shared by its tools, started
before the first step and stopped at the end. A side-effecting tool's call carries its
idempotency key in the request's `_meta`. The only module that imports mcp."""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from typing import Any

from agentctl.compile.ir import McpServerDef, ToolDef
from agentctl.tools.base import ToolContext, ToolError
from agentctl.tools.env import resolve


class McpServers:
    """The run's MCP server sessions, by server name."""

    def __init__(self, servers: dict[str, McpServerDef], root: str) -> None:
        self.defs = servers
        self.root = root
        self.sessions: dict[str, Any] = {}
        self.schemas: dict[str, dict[str, dict]] = {}
        self.stack = AsyncExitStack()

    async def start(self, name: str) -> None:
        if name in self.sessions:
            return
        from mcp import ClientSession
        from mcp.client.stdio import StdioServerParameters, stdio_client

        spec = self.defs[name]
        params = StdioServerParameters(command=spec.command[0], args=list(spec.command[1:]),
                                       env={k: resolve(v) for k, v in spec.env.items()} or None,
                                       cwd=spec.cwd or self.root)
        try:
            read, write = await self.stack.enter_async_context(stdio_client(params, errlog=_server_stderr()))
            session = await self.stack.enter_async_context(ClientSession(read, write,
                                                                         read_timeout_seconds=spec.timeout_s))
            await session.initialize()
            listed = await session.list_tools()
        except ToolError:
            raise
        except Exception as exc:  # noqa: BLE001 - a server that does not start is a tool error
            raise ToolError(f"MCP server '{name}' ({' '.join(spec.command)}) did not start: "
                            f"{type(exc).__name__}: {exc}") from None
        self.sessions[name] = session
        self.schemas[name] = {tool.name: {"schema": tool.input_schema, "description": tool.description}
                              for tool in listed.tools}

    async def close(self) -> None:
        await self.stack.aclose()


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
        meta = {"idempotency_key": ctx.idempotency_key} if self.spec.side_effects else None
        try:
            result = await session.call_tool(self.spec.remote_name, args, read_timeout_seconds=self.spec.timeout_s,
                                             meta=meta)
        except Exception as exc:  # noqa: BLE001 - protocol errors and timeouts end the call
            timeout = "timeout" in type(exc).__name__.lower() or "timed out" in str(exc).lower()
            raise ToolError(f"tool '{self.name}' (MCP): {type(exc).__name__}: {exc}", retryable=timeout) from None
        text = "\n".join(getattr(block, "text", "") for block in result.content)
        if result.is_error:
            raise ToolError(f"tool '{self.name}' (MCP) reported an error: {text[:300]}")
        if result.structured_content is not None:
            return result.structured_content
        try:
            return json.loads(text)
        except ValueError:
            return text


def _server_stderr():
    """Where a server's stderr goes: ours, as it is now. mcp's stdio_client binds its default
    (sys.stderr) when mcp is imported, and the subprocess needs a real file descriptor."""
    import sys

    try:
        sys.stderr.fileno()
        return sys.stderr
    except (AttributeError, OSError, ValueError):
        return sys.__stderr__
