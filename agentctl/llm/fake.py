"""A scripted model for tests: serves queued responses (or errors) in order, without a network.

    model = ScriptedModel([reply('{"answer": "hi"}'), LlmError("busy", kind="rate_limit", retryable=True)])

A script item may also be a function of the request, returning a response or an awaitable of one
(so a test can hold a call until something else has happened). `default` answers once the queue
is empty.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import deque
from typing import Any, Callable, Iterable, Union

from agentctl.llm.client import ChatRequest, ChatResponse, LlmError, ToolCall, estimate_tokens

Script = Union[ChatResponse, LlmError, Callable[[ChatRequest], Any]]


def reply(content: str | None = None, *, tool_calls: Iterable[tuple[str, str]] = (), input_tokens: int = 10,
          output_tokens: int = 5, model: str = "fake") -> ChatResponse:
    calls = tuple(ToolCall(f"call_{i}", name, args) for i, (name, args) in enumerate(tool_calls))
    return ChatResponse(content, calls, input_tokens, output_tokens, model, "tool_calls" if calls else "stop")


class ScriptedModel:
    def __init__(self, script: Iterable[Script] = (), delay_s: float = 0.0, default: Script | None = None) -> None:
        self.script = deque(script)
        self.requests: list[ChatRequest] = []
        self.delay_s = delay_s
        self.default = default

    def add(self, *items: Script) -> None:
        self.script.extend(items)

    async def complete(self, request: ChatRequest) -> ChatResponse:
        self.requests.append(request)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if not self.script and self.default is None:
            raise LlmError("the scripted model has no response left", kind="client")
        item = self.script.popleft() if self.script else self.default
        if callable(item):
            item = item(request)
            if inspect.isawaitable(item):
                item = await item
        if isinstance(item, LlmError):
            raise item
        return item

    def count_tokens(self, request: ChatRequest) -> int:
        return estimate_tokens(request)
