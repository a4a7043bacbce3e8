"""`tool: NAME`: call a tool directly, without a model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from agentctl.compile import ir
from agentctl.compile.definitions import check_tool_use
from agentctl.compile.kinds.base import Parts
from agentctl.dimensions import Bounds


@dataclass(frozen=True, kw_only=True)
class ToolStep(ir.StepDefBase):
    kind = "tool"
    tool: str  # a key of CompiledPipeline.tools


class ToolKind:
    name = "tool"
    definition = ToolStep
    takes_args = True

    def nested(self, value: str) -> list:
        return []

    def output_schema(self, value: str, parts: Parts) -> dict | None:
        tool = parts.tools.get(value)
        return tool.output_schema if tool else None

    def compile(self, sc, info, value: str) -> ToolStep | None:
        if not check_tool_use(sc.ctx, value, info.path + ("tool",), f"step '{info.spec.id}'"):
            return None
        tool = sc.tools.get(value)
        schema = (tool.input_schema or {}) if tool else {}
        if isinstance(schema.get("properties"), dict):
            sc.check_arguments(info, set(schema["properties"]), frozenset(schema.get("required") or []),
                               f"tool '{value}'", "whose input_schema")
        sc.read_tool_expressions(info, value)
        return ToolStep(tool=value)

    def bounds(self, do: ToolStep, parts: Parts, done: Mapping[str, ir.StepNode]) -> Bounds:
        return Bounds(steps=1, tool_calls=1)

    def describe(self, pipeline: ir.CompiledPipeline, do: ToolStep) -> str:
        tool = pipeline.tools[do.tool]
        return f"tool {do.tool} ({tool.kind}{', side effects' if tool.side_effects else ''})"

    def subject(self, do: ToolStep) -> str | None:
        return do.tool

    def tools(self, pipeline: ir.CompiledPipeline, do: ToolStep) -> tuple[str, ...]:
        return (do.tool,)


KIND = ToolKind()
