"""MCP tools over stdio (mcp 2.x). One server process per run, shared by its tools, started
before the first step and stopped at the end. A side-effecting tool's call carries its
idempotency key in the request's `_meta`. The only module that imports mcp."""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any, Callable

from agentctl.compile.ir import McpServerDef, ToolDef
from agentctl.tools.base import TRACE_HEADERS, ToolContext, ToolError
from agentctl.tools.env import resolve


class McpServers:
    """The run's MCP server sessions, by server name, started together before the first step and
    stopped together after the last. Each server lives in a task of its own (mcp's stdio client
    holds an anyio task group, which must be left in the task that entered it). What a server
    prints on stderr is relayed line by line to `output` (which masks secrets)."""

    def __init__(self, servers: dict[str, McpServerDef], root: str,
                 output: Callable[[str, str], None] | None = None) -> None:
        self.defs = servers
        self.root = root
        self.output = output or _print
        self.sessions: dict[str, Any] = {}
        self.schemas: dict[str, dict[str, dict]] = {}
        self.starting: dict[str, asyncio.Future] = {}
        self.serving: dict[str, asyncio.Task] = {}
        self.stops: dict[str, asyncio.Event] = {}
        self.relays: dict[str, asyncio.Task] = {}
        self.phases: list[tuple[str, str, float, float, str | None]] = []  # (server, phase, began, ended, error)

    async def start_all(self, names) -> None:
        """Start these servers at once; the first failure is raised when all have settled."""
        outcomes = await asyncio.gather(*(self.start(name) for name in sorted(names)), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def start(self, name: str) -> None:
        if name not in self.starting:
            self.starting[name] = asyncio.ensure_future(self._start(name))
        await asyncio.shield(self.starting[name])

    async def _start(self, name: str) -> None:
        spec, began = self.defs[name], time.monotonic()
        ready: asyncio.Future = asyncio.get_running_loop().create_future()
        self.stops[name] = asyncio.Event()
        self.serving[name] = asyncio.ensure_future(self._serve(name, spec, ready))
        try:
            session, listed = await ready
        except Exception as exc:  # noqa: BLE001 - a server that does not start is a tool error
            self.serving[name].cancel()  # a protocol fault is reported while the session still waits
            await asyncio.gather(self.serving[name], return_exceptions=True)
            await self._drained(name)
            error = ToolError(f"MCP server '{name}' ({' '.join(spec.command)}) did not start: "
                              f"{_reason(exc, name, spec.command[0])}{self.tail(name)}")
            self.phases.append((name, "start", began, time.monotonic(), str(error)))
            raise error from None
        self.sessions[name] = session
        self.schemas[name] = {tool.name: {"schema": tool.input_schema, "description": tool.description,
                                          "wrapped": _wraps_result(tool.name, tool.output_schema)}
                              for tool in listed.tools}
        self.phases.append((name, "start", began, time.monotonic(), None))

    async def _serve(self, name: str, spec: McpServerDef, ready: asyncio.Future) -> None:
        """The server's whole life: started, its session handed over, kept until close()."""
        from mcp import ClientSession
        from mcp.client.stdio import StdioServerParameters, stdio_client

        params = StdioServerParameters(command=spec.command[0], args=list(spec.command[1:]),
                                       env={k: resolve(v) for k, v in spec.env.items()} or None,
                                       cwd=spec.cwd or self.root)
        errlog = await self._relay_stderr(name)

        async def on_message(message) -> None:
            """Transport faults reach here, not the request waiting on them: a line on stdout that
            is not JSON-RPC fails a start at once, and is kept in the server's output later."""
            if not isinstance(message, Exception):
                return
            if not ready.done():
                ready.set_exception(ProtocolFault(_fault(message)))
            else:
                self.output(f"mcp {name}", _fault(message))

        _quiet_sdk_logs()
        try:
            async with stdio_client(params, errlog=errlog) as (read, write):
                errlog.close()  # the server has its own copy: the relay ends when the server does
                async with ClientSession(read, write, read_timeout_seconds=spec.timeout_s,
                                         message_handler=on_message) as session:
                    await session.initialize()
                    listed = await session.list_tools()
                    ready.set_result((session, listed))
                    await self.stops[name].wait()
        except Exception as exc:  # noqa: BLE001 - reported through `ready` when it happens at start
            if not ready.done():
                ready.set_exception(exc)
        except asyncio.CancelledError:  # stopped while starting (close(): Ctrl-C, a failed start)
            ready.cancel()
            raise
        finally:
            errlog.close()  # when the server never got that far (closing twice is harmless)

    async def why_gone(self, name: str, error: Exception) -> str:
        """When a call failed because the server closed its end (it exited, most likely), what it
        printed last; else nothing."""
        from mcp import MCPError
        from mcp_types import CONNECTION_CLOSED

        if not (isinstance(error, MCPError) and error.code == CONNECTION_CLOSED):
            return ""
        await self._drained(name)
        return self.tail(name)

    def tail(self, name: str) -> str:
        """The server's last printed lines, when its output is kept (registry.ServerLogs)."""
        tail = getattr(self.output, "tail", None)
        return tail(f"mcp {name}") if tail is not None else ""

    async def _relay_stderr(self, name: str):
        """A pipe for the server's stderr (the subprocess needs a real file descriptor), read line
        by line until the server and our end of it are closed."""
        read_fd, write_fd = os.pipe()
        errlog = os.fdopen(write_fd, "w")
        reader = asyncio.StreamReader()
        await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                                           os.fdopen(read_fd, "rb"))

        async def relay() -> None:
            async for line in reader:
                self.output(f"mcp {name}", line.decode("utf-8", "replace").rstrip("\n"))
        self.relays[name] = asyncio.ensure_future(relay())
        return errlog

    async def _drained(self, name: str) -> None:
        """After a failed start: until the relay has passed on every line the server printed (1 s
        at most: a child of the server may hold the pipe open)."""
        try:
            await asyncio.wait_for(asyncio.shield(self.relays[name]), 1.0)
        except Exception:  # noqa: BLE001 - a timeout or a broken pipe: what was read so far is shown
            pass

    async def close(self) -> None:
        """Every server told to stop at once; each closes its stdin and waits for its process."""
        began = time.monotonic()
        try:
            for name, stop in self.stops.items():
                stop.set()
                if name not in self.sessions:  # still starting: waiting for it could take its whole timeout
                    self.serving[name].cancel()
            await asyncio.gather(*self.serving.values(), return_exceptions=True)
            await asyncio.gather(*self.relays.values(), return_exceptions=True)
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
            why = await self.servers.why_gone(self.spec.target, exc)
            raise ToolError(f"tool '{self.name}' (MCP): {type(exc).__name__}: {exc}{why}", retryable=timeout) from None
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


class ProtocolFault(Exception):
    """The server broke the protocol (a line on stdout that is not JSON-RPC)."""


def _fault(exc: Exception) -> str:
    errors = exc.errors() if callable(getattr(exc, "errors", None)) else []  # pydantic's: the line it could not read
    line = errors[0].get("input") if errors else None
    if isinstance(line, str):
        return (f"it wrote a line to stdout that is not an MCP message: {line[:200]!r} (a stdio server writes only "
                "JSON-RPC there; its logs go to stderr)")
    return f"a message could not be read: {type(exc).__name__}: {exc}"


def _reason(exc: BaseException, name: str, program: str) -> str:
    """Why a start failed, without anyio's wrapping ("unhandled errors in a TaskGroup")."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    if isinstance(exc, FileNotFoundError) and exc.filename == program:
        return (f"its command '{program}' was not found (not on PATH, and no such file): install it, or give its "
                f"path in mcp_servers.{name}.command")
    return str(exc) if isinstance(exc, ProtocolFault) else f"{type(exc).__name__}: {exc}"


def _quiet_sdk_logs() -> None:
    """The SDK logs what it reports to us anyway (a parse failure, with its traceback) through
    logging's last-resort handler on stderr; agentctl says it once, with the server's name."""
    import logging

    logger = logging.getLogger("mcp")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
        logger.propagate = False


def _wraps_result(name: str, schema: dict | None) -> bool:
    """MCP servers built on the SDK wrap a function's plain result (text, a number, a list) as
    {"result": ...}, declaring an output schema titled '<function>Output' with that one field."""
    return (isinstance(schema, dict) and str(schema.get("title", "")).endswith("Output")
            and set(schema.get("properties") or {}) == {"result"})


def _print(source: str, line: str) -> None:
    from agentctl import console

    console.print_tool_output(source, line)
