"""Retrying one model: capped exponential backoff with full jitter, on retryable errors only,
honouring Retry-After. This is the only layer that retries (litellm is told not to)."""

from __future__ import annotations

import asyncio
import random
from typing import Awaitable, Callable, TypeVar

from agentctl.compile.ir import RetryPolicy
from agentctl.llm.client import LlmError

T = TypeVar("T")
_RNG = random.Random()  # one source for all jitter: seeding one per call costs more than the call's bookkeeping


def backoff_s(policy: RetryPolicy, attempt: int, error: BaseException | None, rng: random.Random) -> float:
    """Full jitter: uniform in [0, min(max_s, initial_s * 2^(attempt-1))]; at least Retry-After."""
    ceiling = min(policy.max_s, policy.initial_s * 2 ** (attempt - 1))
    wait = rng.uniform(0, ceiling)
    retry_after = getattr(error, "retry_after_s", None)
    if retry_after is not None:
        wait = max(wait, retry_after)
    return wait


def _retryable(error: BaseException) -> bool:
    return isinstance(error, LlmError) and error.retryable


async def with_retries(call: Callable[[int], Awaitable[T]], policy: RetryPolicy,
                       sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                       rng: random.Random | None = None,
                       retryable: Callable[[BaseException], bool] = _retryable) -> T:
    """Run `call(attempt)` up to max_attempts times. A Retry-After longer than max_s is not
    waited for: the error is raised so the caller can fall back to another model."""
    # Imported here: a run that never retries (no model, or a gate-only pipeline) does not pay for
    # tenacity, which also imports tornado's glue wherever tornado is installed (Dask brings it).
    from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

    rng = rng or _RNG

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        return backoff_s(policy, state.attempt_number, error, rng)

    def stop(state: RetryCallState) -> bool:
        error = state.outcome.exception() if state.outcome else None
        too_long = getattr(error, "retry_after_s", None) is not None and error.retry_after_s > policy.max_s
        return state.attempt_number >= policy.max_attempts or too_long

    retrying = AsyncRetrying(stop=stop, wait=wait, retry=retry_if_exception(retryable), reraise=True, sleep=sleep)
    async for attempt in retrying:
        with attempt:
            return await call(attempt.retry_state.attempt_number)
    raise AssertionError("unreachable: tenacity re-raises the last error")
