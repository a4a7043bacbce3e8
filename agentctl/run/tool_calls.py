"""One tool call, retried when the tool declares a retry policy and the failure is retryable.
(A side-effecting tool cannot declare one: the compiler refuses it, E504.)"""

from __future__ import annotations

from typing import Any

from agentctl.compile.ir import ToolDef
from agentctl.run.retry import with_retries
from agentctl.tools.base import Tool, ToolContext, ToolError


async def call_tool(tool: Tool, spec: ToolDef, args: dict, ctx: ToolContext) -> Any:
    if spec.retry is None or spec.side_effects:
        return await tool.call(args, ctx)
    return await with_retries(lambda attempt: tool.call(args, ctx), spec.retry, retryable=_retryable)


def _retryable(error: BaseException) -> bool:
    return isinstance(error, ToolError) and error.retryable
