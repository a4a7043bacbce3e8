"""The tool adapters a compiled pipeline needs, with the lifecycle some of them have (MCP
servers are started before the first step and stopped after the last)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from agentctl.compile.ir import CompiledPipeline
from agentctl.tools.base import Tool
from agentctl.tools.http_tool import HttpTool
from agentctl.tools.python_tool import PythonTool


def used_tools(pipeline: CompiledPipeline) -> set[str]:
    from agentctl.compile.kinds import KINDS

    return {name for node in pipeline.steps.values() for name in KINDS[node.kind].tools(pipeline, node.do)}


class Tools(Mapping[str, Tool]):
    """Tools by name; `prepare()` starts what needs starting, `close()` stops it."""

    def __init__(self, tools: dict[str, Tool], servers=None) -> None:
        self.tools = tools
        self.servers = servers

    def __getitem__(self, name: str) -> Tool:
        return self.tools[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.tools)

    def __len__(self) -> int:
        return len(self.tools)

    def servers_for(self, names: set[str]) -> list[str]:
        """The MCP servers that prepare(names) starts."""
        if self.servers is None:
            return []
        specs = [getattr(self.tools.get(n), "spec", None) for n in names]
        return sorted({spec.target for spec in specs if spec is not None and spec.kind == "mcp"})

    async def prepare(self, names: set[str]) -> None:
        targets = self.servers_for(names)
        if targets:  # started together: the slowest sets the wait, not the sum
            await self.servers.start_all(targets)
        for name in sorted(names):
            prepare = getattr(self.tools.get(name), "prepare", None)
            if prepare is not None:
                await prepare()

    def servers_to_stop(self) -> list[str]:
        """The MCP servers close() stops: those prepare() started or is starting."""
        return sorted(self.servers.starting) if self.servers is not None else []

    def phases(self) -> list[tuple[str, str, float, float, str | None]]:
        """MCP servers' start and stop times not reported yet (each is reported once)."""
        if self.servers is None:
            return []
        taken, self.servers.phases = self.servers.phases, []
        return taken

    async def close(self) -> None:
        for tool in self.tools.values():
            close = getattr(tool, "close", None)
            if close is not None:
                await close()
        if self.servers is not None:
            await self.servers.close()


Output = Callable[[str, str], None]  # (source: "tool NAME" or "mcp NAME", one printed line)


def build_tools(pipeline: CompiledPipeline, output: Output | None = None) -> Tools:
    """`output` takes what Python tools and MCP servers print; by default it goes to stderr with
    the pipeline's secrets masked (a traceback may hold a key)."""
    given = output
    output = output or masked_stderr(pipeline)
    tools: dict[str, Tool] = {}
    servers = None
    for name, spec in pipeline.tools.items():
        if spec.kind == "python":
            tools[name] = PythonTool(spec, pipeline.root, output)
        elif spec.kind == "http":
            tools[name] = HttpTool(spec)
        else:
            from agentctl.tools.mcp_tool import McpServers, McpTool

            servers = servers or McpServers(dict(pipeline.mcp_servers), pipeline.root,
                                            ServerLogs(pipeline) if given is None else given)
            tools[name] = McpTool(spec, servers)
    return Tools(tools, servers)


def masked_stderr(pipeline: CompiledPipeline) -> Output:
    from agentctl import console
    from agentctl.record.redact import Redactor

    redactor = Redactor.for_pipeline(pipeline)
    return lambda source, line: console.print_tool_output(source, redactor.text(line))


class ServerLogs:
    """What MCP servers print on stderr: kept out of the progress display, in
    .agentctl/logs/mcp-NAME.log (secrets masked), with each server's last lines at hand to show
    when that server fails."""

    KEPT = 20

    def __init__(self, pipeline: CompiledPipeline) -> None:
        from collections import defaultdict, deque

        from agentctl.record.redact import Redactor

        self.redact = Redactor.for_pipeline(pipeline).text
        self.pipeline = pipeline.name
        self.folder = Path(pipeline.root) / ".agentctl" / "logs"
        self.last: dict[str, deque] = defaultdict(lambda: deque(maxlen=self.KEPT))
        self.files: dict[str, Any] = {}

    def __call__(self, source: str, line: str) -> None:
        line = self.redact(line)
        self.last[source].append(line)
        try:
            if source not in self.files:
                self.folder.mkdir(parents=True, exist_ok=True)
                self.files[source] = open(self.folder / f"{source.replace(' ', '-')}.log", "a", encoding="utf-8")
                # one file per server across runs: each run's lines under a header with its start
                started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
                self.files[source].write(f"--- {started} {source}, pipeline {self.pipeline} ---\n")
            self.files[source].write(line + "\n")
            self.files[source].flush()
        except OSError:  # a read-only project: the last lines are still kept in memory
            pass

    def tail(self, source: str) -> str:
        lines = list(self.last.get(source, ()))
        where = self.folder / f"{source.replace(' ', '-')}.log"
        return ("\n  its last lines (all in " + str(where) + "):\n    " + "\n    ".join(lines)) if lines else ""
