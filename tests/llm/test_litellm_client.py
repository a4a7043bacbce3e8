"""How provider failures are classified: what is retried and what is not."""

import httpx
import pytest

from agentctl.llm.litellm_client import litellm, translate  # the adapter first: it keeps litellm offline


def response(status: int, headers: dict | None = None) -> httpx.Response:
    return httpx.Response(status, headers=headers or {}, request=httpx.Request("POST", "http://x"))


@pytest.mark.parametrize("error, kind, retryable", [
    (litellm.RateLimitError("slow down", "openai", "m", response=response(429, {"retry-after": "7"})), "rate_limit", True),
    (litellm.InternalServerError("boom", "openai", "m"), "server", True),
    (litellm.ServiceUnavailableError("down", "openai", "m"), "server", True),
    (litellm.Timeout("late", "m", "openai"), "timeout", True),
    (litellm.APIConnectionError("refused", "openai", "m"), "connection", True),
    (litellm.InternalServerError("Connection error.", "openai", "m"), "connection", True),
    (litellm.BadRequestError("bad", "m", "openai"), "client", False),
    (litellm.AuthenticationError("who", "openai", "m"), "auth", False),
    (litellm.PermissionDeniedError("no", "openai", "m", response(403)), "auth", False),
    (litellm.NotFoundError("gone", "m", "openai"), "not_found", False),
    (litellm.UnprocessableEntityError("odd", "m", "openai", response(422)), "client", False),
])
def test_translation(error, kind, retryable):
    translated = translate(error)
    assert (translated.kind, translated.retryable) == (kind, retryable)


def test_retry_after_is_read_from_the_response():
    error = litellm.RateLimitError("slow down", "openai", "m", response=response(429, {"retry-after": "7"}))
    assert translate(error).retry_after_s == 7.0
