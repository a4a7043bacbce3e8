"""`--cache DIR`: answers kept on disk by request, so re-running an unchanged eval costs nothing.

The key is the canonical request cassettes use (model, messages, tools, params; no credentials
or endpoints) plus the pipeline's tool and MCP server definitions: a different MCP server can
give the model different tool results for the same request (promptfoo's cache once ignored its
MCP configuration, promptfoo #7467). Only answers are stored; an error is never cached. A cached
answer reports no tokens: the run's usage and the batch budget count what was paid for.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, replace
from pathlib import Path

from agentctl.files import write_whole
from agentctl.llm.client import ChatModel, ChatRequest, ChatResponse, ToolCall, WrappedModel

VERSION = 1


def context_of(pipeline) -> dict:
    """What besides the request decides an answer's meaning: the tools and MCP servers (their
    commands and environment as written, never a resolved secret)."""
    return {"tools": sorted([t.name, t.kind, t.target] for t in pipeline.tools.values()),
            "mcp": sorted([s.name, list(s.command), sorted(s.env.items()), s.cwd]
                          for s in pipeline.mcp_servers.values())}


def cache_key(request: ChatRequest, context: dict) -> str:
    canonical = json.dumps({"v": VERSION, "request": request.canonical(), "context": context},
                           sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class CachedModel(WrappedModel):
    def __init__(self, inner: ChatModel, directory: Path, context: dict, redact=lambda value: value) -> None:
        super().__init__(inner)
        self.directory, self.context, self.redact = directory, context, redact
        self.hits = self.misses = 0
        self.unwritable = False  # an answer could not be kept (a full disk): said once

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    async def complete(self, request: ChatRequest) -> ChatResponse:
        key = cache_key(request, self.context)
        found = self._read(self._path(key))
        if found is not None:
            self.hits += 1
            return replace(found, input_tokens=0, output_tokens=0)
        self.misses += 1
        response = await self.inner.complete(request)  # raises on an error: nothing is written
        self._write(self._path(key), response)
        return response

    def _read(self, path: Path) -> ChatResponse | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            data["tool_calls"] = tuple(ToolCall(**c) for c in data["tool_calls"])
            return ChatResponse(**data)
        except (OSError, ValueError, TypeError, KeyError):  # absent, or unreadable: asked again, then rewritten
            return None

    def _write(self, path: Path, response: ChatResponse) -> None:
        """An answer the cache cannot keep (a full disk) still goes to the run: a warning, once."""
        from agentctl import console

        recorded = self.redact({**asdict(response), "tool_calls": [asdict(c) for c in response.tool_calls]})
        try:
            write_whole(path, json.dumps(recorded, ensure_ascii=False))  # a reader never sees half an answer
        except OSError as exc:
            if not self.unwritable:
                console.print_warning(f"could not keep an answer in the cache {self.directory} ({exc.strerror}); "
                                      "the batch goes on, and such answers are asked again next time")
            self.unwritable = True

    def summary(self) -> str:
        return f"cache {self.directory}: {self.hits} answer(s) from the cache, {self.misses} asked"
