"""Rate limits (a tool's `rate_limit: {calls, per_s}`, a model's `rate_limit:
{requests_per_minute, tokens_per_minute}`): a call waits for its turn instead of failing. One limiter per name and rate for the whole process (every run and eval row on its event
loop shares it). The only module that imports aiolimiter (a leaky bucket: up to `calls` at once,
then one more every `per_s / calls` seconds)."""

from __future__ import annotations

import asyncio
import weakref

from aiolimiter import AsyncLimiter

_LIMITERS: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict]" = weakref.WeakKeyDictionary()


MINUTE_S = 60.0


async def wait_for_turn(name: str, calls: int, per_s: float, amount: float = 1) -> None:
    """Returns when a call to `name` (using `amount` of its allowance) may start. The wall budget
    bounds the wait (it cancels it)."""
    limiters = _LIMITERS.setdefault(asyncio.get_running_loop(), {})
    limiter = limiters.get((name, calls, per_s))
    if limiter is None:
        limiter = limiters[(name, calls, per_s)] = AsyncLimiter(calls, per_s)
    await limiter.acquire(min(amount, calls))  # more than the whole allowance waits for all of it


async def wait_for_model(alias: str, requests_per_minute: int | None, tokens_per_minute: int | None,
                         tokens: int) -> None:
    if requests_per_minute:
        await wait_for_turn(f"model {alias} requests", requests_per_minute, MINUTE_S)
    if tokens_per_minute:
        await wait_for_turn(f"model {alias} tokens", tokens_per_minute, MINUTE_S, tokens)
