"""Model answers a resumed run already paid for: an agent step run again by a resume asks the same
questions first, and gets the journaled answers back for identical requests, in order, without a
call; from the first request that differs (or was never answered) it goes on live."""

from __future__ import annotations

from typing import Mapping

from agentctl.llm.cassette import request_key
from agentctl.llm.client import ChatRequest, ChatResponse, ToolCall


def call_key(messages: list[dict], tools: list[dict], params: Mapping) -> str:
    """What identifies a request within its work, whichever model of the chain answers it: the
    request's canonical form (no credentials, endpoints or timeouts), without the model."""
    return request_key(ChatRequest("", tuple(messages), tuple(tools), dict(params)))


def response_record(content: str | None, tool_calls: tuple[ToolCall, ...], input_tokens: int, output_tokens: int,
                    model: str | None, finish_reason: str | None) -> dict:
    """An answer as the journal keeps it (response_from turns it back)."""
    return {"content": content, "tool_calls": [[c.id, c.name, c.arguments] for c in tool_calls],
            "input_tokens": input_tokens, "output_tokens": output_tokens, "model": model,
            "finish_reason": finish_reason}


def response_from(record: dict) -> ChatResponse:
    return ChatResponse(record["content"], tuple(ToolCall(*c) for c in record["tool_calls"]), record["input_tokens"],
                        record["output_tokens"], record["model"], record["finish_reason"])


class JournaledAnswers:
    def __init__(self, answers: Mapping[tuple[str, int], tuple[str, str, dict]] | None = None) -> None:
        self.answers = dict(answers or {})  # (work, index) -> (request key, target model, response record)
        self.count: dict[str, int] = {}
        self.live: set[str] = set()  # works that asked something new: no more replays for them

    def next_index(self, work: str) -> int:
        index = self.count.get(work, 0)
        self.count[work] = index + 1
        return index

    def replay(self, work: str, index: int, key: str) -> tuple[str, ChatResponse] | None:
        """(the model that answered, its answer) for the same request at the same position."""
        known = self.answers.get((work, index)) if work not in self.live else None
        if known is None or known[0] != key:
            self.live.add(work)
            return None
        return known[1], response_from(known[2])
