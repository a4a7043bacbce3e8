"""The only module that imports litellm.

Traps handled here (measured on this machine; docs/development.md lists them with the pins):
- litellm fetches its price map over HTTP at import unless LITELLM_LOCAL_MODEL_COST_MAP is set,
  and its table of Anthropic beta headers at the first call that sends one unless
  LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS is set: both use the copies bundled with the pinned version;
- it loads ./.env into the environment at import unless LITELLM_MODE is not DEV, so a run that
  imported it saw variables that validate or a replay did not: LITELLM_MODE=PRODUCTION;
- it prints banners on errors unless suppress_debug_info is set;
- it and the provider SDK retry on their own: every call passes num_retries=0 and max_retries=0,
  because agentctl's retry layer (run/retry.py) is the only one;
- a refused connection surfaces as InternalServerError("Connection error."), not a connection error;
- for OpenAI and the providers litellm calls through the OpenAI SDK, the SDK loads its resources
  (0.3 s of pydantic models) at the first request, not at import: `preload` loads them sooner.
"""

from __future__ import annotations

import email.utils
import functools
import os
import time
from typing import Any

from agentctl.errors import UsageError
from agentctl.llm.client import (CREDENTIAL_PARAM, RETRYABLE_STATUS, ChatRequest, ChatResponse, LlmError, ToolCall,
                                  estimate_tokens, with_env)

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS", "True")
os.environ.setdefault("LITELLM_MODE", "PRODUCTION")  # no .env loaded behind the user's back

_began = time.monotonic()
import litellm  # noqa: E402 - the environment above must be set first

IMPORTED = (_began, time.monotonic())  # the trace shows this import when a run waited for it

litellm.suppress_debug_info = True
litellm.telemetry = False

def _missing_keys(model: str) -> list[str]:
    try:
        return list(litellm.validate_environment(model).get("missing_keys") or [])
    except Exception:  # noqa: BLE001 - a provider litellm cannot check: let the call tell
        return []


_NON_RETRYABLE = {400: "client", 401: "auth", 403: "auth", 404: "not_found", 422: "client"}


def _provider(model: str) -> str | None:
    try:
        return litellm.get_llm_provider(model)[1]
    except Exception:  # noqa: BLE001 - a provider litellm does not know: nothing to preload
        return None


@functools.lru_cache(maxsize=256)
def _supports(model: str, param: str) -> bool:
    try:
        name, provider, _, _ = litellm.get_llm_provider(model)
        return param in (litellm.get_supported_openai_params(model=name, custom_llm_provider=provider) or ())
    except Exception:  # noqa: BLE001 - a provider litellm does not know: do not send what it may refuse
        return False


class LitellmModel:
    async def complete(self, request: ChatRequest) -> ChatResponse:
        kwargs: dict[str, Any] = with_env(dict(request.params))
        if "parallel_tool_calls" in kwargs and not _supports(request.model, "parallel_tool_calls"):
            del kwargs["parallel_tool_calls"]  # the cap is still enforced: extra calls are refused
        kwargs.update(model=request.model, messages=list(request.messages), timeout=request.timeout_s,
                      num_retries=0, max_retries=0)
        if request.tools:
            kwargs["tools"] = list(request.tools)
        try:
            response = await litellm.acompletion(**kwargs)
        except Exception as exc:  # noqa: BLE001 - every provider failure becomes an LlmError
            raise translate(exc) from None
        return _response(response, request.model)

    def check_credentials(self, routes) -> None:
        """Before the first call: every model of every route has what its provider needs (a key,
        an endpoint), from params or the environment. Missing credentials otherwise surface as a
        server error, retried, then a fallback; here they are a usage error naming the variable."""
        for alias, route in routes.items():
            params = route.params
            if any(isinstance(v, str) and CREDENTIAL_PARAM.search(k) for k, v in params.items()):
                continue
            for target in route.chain:
                missing = [key for key in _missing_keys(target.model)
                           if not (key.endswith(("_BASE", "_BASE_URL")) and ("api_base" in params or "base_url" in params))]
                if missing:
                    raise UsageError(f"model '{target.model}' (models.{alias}) needs {missing[0]}, which is not set",
                                     f"export {missing[0]}=..., or set models.{alias}.params.api_key: "
                                     f"\"${{env:{missing[0]}}}\" with {missing[0]} declared under env:")

    def preload(self, routes) -> None:
        """What the first call would load, loaded now: the OpenAI SDK's resources, when a route's
        model goes through that SDK. The loader (llm/loading.py) calls this while MCP servers
        start, so that the first step does not wait for it; other providers do not need it."""
        through_sdk = {"openai", "azure", *litellm.openai_compatible_providers}
        if any(_provider(target.model) in through_sdk for route in routes.values() for target in route.chain):
            import openai.resources  # noqa: F401 - what `AsyncOpenAI.chat` imports on first use

    def count_tokens(self, request: ChatRequest) -> int:
        try:
            return int(litellm.token_counter(model=request.model, messages=list(request.messages),
                                             tools=list(request.tools) or None))
        except Exception:  # noqa: BLE001 - unknown tokenizer: fall back to a cautious estimate
            return estimate_tokens(request)


def _response(response: Any, model: str) -> ChatResponse:
    try:
        choice = response.choices[0]
        message = choice.message
        calls = tuple(ToolCall(c.id or f"call_{i}", c.function.name, c.function.arguments or "{}")
                      for i, c in enumerate(message.tool_calls or []))
        usage = getattr(response, "usage", None)
        return ChatResponse(message.content, calls, int(getattr(usage, "prompt_tokens", 0) or 0),
                            int(getattr(usage, "completion_tokens", 0) or 0), response.model or model,
                            choice.finish_reason)
    except (AttributeError, IndexError, TypeError) as exc:
        raise LlmError(f"malformed response: {exc}", kind="malformed", retryable=True) from None


def translate(exc: BaseException) -> LlmError:
    """A litellm/provider exception as an LlmError that says whether to try again."""
    status = getattr(exc, "status_code", None)
    message = str(getattr(exc, "message", None) or exc).removeprefix("litellm.")
    if isinstance(exc, litellm.Timeout):
        return LlmError(message, kind="timeout", status=status, retryable=True)
    if isinstance(exc, litellm.APIConnectionError) or "Connection error" in message:
        return LlmError(message, kind="connection", status=status, retryable=True)
    if "Expecting value" in message or "JSONDecodeError" in message or "Unterminated string" in message:
        return LlmError(message, kind="malformed", status=status, retryable=True)
    if status in _NON_RETRYABLE:
        return LlmError(message, kind=_NON_RETRYABLE[status], status=status)
    if status == 429:
        return LlmError(message, kind="rate_limit", status=429, retryable=True, retry_after_s=retry_after(exc))
    if status in RETRYABLE_STATUS or (isinstance(status, int) and status >= 500):
        return LlmError(message, kind="server", status=status, retryable=True, retry_after_s=retry_after(exc))
    if isinstance(exc, (ValueError, KeyError)) or "JSON" in message or "json" in message:
        return LlmError(message, kind="malformed", status=status, retryable=True)
    return LlmError(message, kind="server" if status is None else "client", status=status, retryable=status is None)


def retry_after(exc: BaseException) -> float | None:
    """Seconds from a Retry-After header (seconds or an HTTP date), wherever litellm kept it."""
    headers: Any = getattr(exc, "litellm_response_headers", None) or getattr(getattr(exc, "response", None), "headers", None)
    value = headers.get("retry-after") if headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None
