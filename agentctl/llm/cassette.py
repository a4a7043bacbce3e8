"""Cassettes: record each canonical request with its response; replay them without a network.

Replay serves identical requests in recorded order and fails loudly on a request it has not
seen (ReplayMiss is not an LlmError: no retry or fallback can hide it).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict, deque
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

from agentctl.errors import StepError
from agentctl.files import write_whole
from agentctl.llm.client import ChatModel, ChatRequest, ChatResponse, ToolCall, WrappedModel, estimate_tokens

VERSION = 1


class ReplayMiss(StepError):
    pass


def request_key(request: ChatRequest) -> str:
    canonical = json.dumps(request.canonical(), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class RecordingModel(WrappedModel):
    """Records every answer. What is written passes through `redact` (the run's secrets masked):
    the key is computed from the request as it was, so replay still finds it; a response that
    held a secret replays masked."""

    def __init__(self, inner: ChatModel, path: Path, redact: Callable[[Any], Any] = lambda value: value) -> None:
        super().__init__(inner)
        self.path = path
        self.redact = redact
        self.entries: list[dict] = []
        self.unsaved = False  # the last save failed (a full disk): said once; the next call saves it all again

    async def complete(self, request: ChatRequest) -> ChatResponse:
        response = await self.inner.complete(request)
        recorded = {**asdict(response), "tool_calls": [asdict(c) for c in response.tool_calls]}
        self.entries.append({"key": request_key(request), "request": self.redact(request.canonical()),
                             "response": self.redact(recorded)})
        self._save()  # after every call: an interrupted run keeps what it recorded
        return response

    def _save(self) -> None:
        """A paid answer is returned even when the cassette cannot be written: the run, and its
        journal, keep it."""
        from agentctl import console

        try:
            write_whole(self.path, json.dumps({"version": VERSION, "entries": self.entries}, indent=1,
                                              ensure_ascii=False))
        except OSError as exc:
            if not self.unsaved:
                console.print_warning(f"could not write the cassette {self.path} ({exc.strerror}); the run goes on, "
                                      "and the whole cassette is written again after the next call")
            self.unsaved = True
        else:
            self.unsaved = False


class ReplayModel:
    def __init__(self, path: Path) -> None:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != VERSION:
            raise ValueError(f"{path}: cassette version {data.get('version')} is not {VERSION}")
        self.path = path
        self.responses: dict[str, deque] = defaultdict(deque)
        for entry in data["entries"]:
            self.responses[entry["key"]].append(entry["response"])

    async def complete(self, request: ChatRequest) -> ChatResponse:
        queue = self.responses.get(request_key(request))
        if not queue:
            first = next((m.get("content") for m in request.messages if m.get("role") == "user"), "")
            raise ReplayMiss(f"{self.path} has no recorded response for this request to {request.model} "
                             f"(user message starts: {str(first)[:60]!r}); record it again with --record")
        data = dict(queue.popleft())
        data["tool_calls"] = tuple(ToolCall(**c) for c in data["tool_calls"])
        return ChatResponse(**data)

    def count_tokens(self, request: ChatRequest) -> int:
        return estimate_tokens(request)
