"""The model protocol the runner depends on, and the values that cross it."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

# HTTP statuses worth another attempt; everything else (400, 401, 403, 404, 422) is final.
RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, exactly as the model produced it


# Credential-like params: api_key, access_token, client_secret, password... but not max_tokens.
CREDENTIAL_PARAM = re.compile(r"(?:^|_)(?:key|token|secret|password|passwd|credentials?)$", re.IGNORECASE)


def with_env(value: Any) -> Any:
    """`${env:NAME}` in model params (api_base, api_key, headers) replaced by the variable's value,
    at the last moment: requests, cassette keys and journals keep the reference. An unset variable
    is an LlmError no retry can fix."""
    from agentctl.spec.models import ENV_REF  # the format's syntax, declared there

    if isinstance(value, str) and "${env:" in value:
        missing = [m.group(1) for m in ENV_REF.finditer(value) if m.group(1) not in os.environ]
        if missing:
            raise LlmError(f"environment variable {missing[0]} is not set (a model param reads it)", kind="auth")
        return ENV_REF.sub(lambda m: os.environ[m.group(1)], value)
    if isinstance(value, dict):
        return {k: with_env(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [with_env(v) for v in value]
    return value


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: tuple[dict, ...]
    tools: tuple[dict, ...] = ()
    params: dict = field(default_factory=dict)
    timeout_s: float = 60.0

    def canonical(self) -> dict:
        """What identifies a request for cassettes: no credentials, endpoints or timeouts."""
        params = {k: v for k, v in sorted(self.params.items())
                  if k not in ("api_base", "base_url") and not (isinstance(v, str) and CREDENTIAL_PARAM.search(k))}
        return {"model": self.model, "messages": list(self.messages), "tools": list(self.tools), "params": params}


@dataclass(frozen=True)
class ChatResponse:
    content: str | None
    tool_calls: tuple[ToolCall, ...]
    input_tokens: int
    output_tokens: int
    model: str  # the model that answered, as reported
    finish_reason: str | None = None


class LlmError(Exception):
    """A failed model call. `retryable` decides whether the same model is tried again."""

    def __init__(self, message: str, *, kind: str, status: int | None = None, retryable: bool = False,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind  # rate_limit, server, timeout, connection, malformed, client, auth, not_found, replay
        self.status = status
        self.retryable = retryable
        self.retry_after_s = retry_after_s


class ChatModel(Protocol):
    async def complete(self, request: ChatRequest) -> ChatResponse: ...

    def count_tokens(self, request: ChatRequest) -> int: ...


class NoModel:
    """The model of a pipeline without agents: nothing calls it (and litellm is never loaded)."""

    async def complete(self, request: ChatRequest) -> ChatResponse:
        from agentctl.errors import StepError

        raise StepError("this pipeline has no agents, so no model is set up to answer")

    def count_tokens(self, request: ChatRequest) -> int:
        return estimate_tokens(request)


class WrappedModel:
    """A model around another (recording, caching): counting and credential checks are the inner one's."""

    def __init__(self, inner: ChatModel) -> None:
        self.inner = inner

    def count_tokens(self, request: ChatRequest) -> int:
        return self.inner.count_tokens(request)

    def check_credentials(self, routes) -> None:
        check = getattr(self.inner, "check_credentials", None)
        if check is not None:
            check(routes)


def estimate_tokens(request: ChatRequest) -> int:
    """A cautious token count without a tokenizer: about 3 characters per token."""
    import json

    size = sum(len(json.dumps(m, ensure_ascii=False)) for m in request.messages)
    size += sum(len(json.dumps(t)) for t in request.tools)
    return size // 3 + 8 * len(request.messages) + 16


def token_bound(request: ChatRequest) -> int:
    """At least as many tokens as any provider counts for `request`: byte-level BPE and
    byte-fallback tokenizers never make a token of less than one UTF-8 byte, so the size of the
    messages and tool schemas in bytes, plus each message's and tool's framing, bounds the count
    (about 4x the real count for English, 1-3x for CJK text, which estimate_tokens undercounts)."""
    import json

    size = sum(len(json.dumps(m, ensure_ascii=False).encode()) for m in request.messages)
    size += sum(len(json.dumps(t, ensure_ascii=False).encode()) for t in request.tools)
    return size + 8 * len(request.messages) + 32 * len(request.tools) + 16


def message_for(response: ChatResponse) -> dict[str, Any]:
    """The assistant message to append to the conversation after `response`."""
    message: dict[str, Any] = {"role": "assistant", "content": response.content}
    if response.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in response.tool_calls
        ]
    return message
