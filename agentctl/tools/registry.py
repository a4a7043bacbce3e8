"""The tool adapters a compiled pipeline needs, and a preflight for the kinds not runnable yet."""

from __future__ import annotations

from agentctl.compile.ir import CompiledPipeline
from agentctl.errors import AgentctlError
from agentctl.tools.base import Tool
from agentctl.tools.python_tool import PythonTool


def used_tools(pipeline: CompiledPipeline) -> set[str]:
    names = {n.tool for n in pipeline.steps.values() if n.tool}
    for node in pipeline.steps.values():
        if node.agent:
            names.update(pipeline.agents[node.agent].tools)
    return names


def build_tools(pipeline: CompiledPipeline) -> dict[str, Tool]:
    unsupported = sorted(n for n in used_tools(pipeline) if pipeline.tools[n].kind != "python")
    if unsupported:
        kinds = ", ".join(f"{n} ({pipeline.tools[n].kind})" for n in unsupported)
        raise AgentctlError(f"this pipeline uses tools agentctl cannot run yet: {kinds}",
                            "running HTTP and MCP tools is the next milestone; validate and graph work today")
    return {name: PythonTool(spec, pipeline.root) for name, spec in pipeline.tools.items() if spec.kind == "python"}
