"""Model routing: an alias resolves to a chain of models; each is retried on retryable errors,
guarded by its circuit breaker, and when its attempts are spent the next one takes over."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass
from typing import Awaitable, Callable, Mapping

from agentctl.compile.ir import ModelRoute, ModelTarget
from agentctl.dimensions import Usage
from agentctl.errors import StepError
from agentctl.llm.client import ChatModel, ChatRequest, ChatResponse, LlmError, estimate_tokens, token_bound
from agentctl.run.answers import JournaledAnswers, call_key
from agentctl.run.breaker import CircuitBreaker
from agentctl.run.budget import Budgets
from agentctl.run.events import (EventBus, LlmAnswerRestored, LlmAttemptFailed, LlmAttemptStarted,
                                 LlmAttemptSucceeded)
from agentctl.run.retry import with_retries


@dataclass(frozen=True)
class Attempt:
    model: str
    number: int
    error: str | None
    duration_s: float


class ModelCallFailed(StepError):
    def __init__(self, alias: str, attempts: list[Attempt]) -> None:
        self.alias = alias
        self.attempts = attempts
        lines = [f"  {a.model} attempt {a.number}: {a.error} ({a.duration_s:.2f} s)" for a in attempts]
        super().__init__(f"every model of '{alias}' failed:\n" + "\n".join(lines))


class ModelRouter:
    def __init__(self, routes: Mapping[str, ModelRoute], model: ChatModel, events: EventBus,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 answers: JournaledAnswers | None = None) -> None:
        self.routes = routes
        self.model = model
        self.events = events
        self.sleep = sleep
        self.answers = answers or JournaledAnswers()
        self.breakers: dict[str, CircuitBreaker] = {}
        self.ids = itertools.count(1)

    def breaker(self, target: str, route: ModelRoute) -> CircuitBreaker:
        if target not in self.breakers:
            self.breakers[target] = CircuitBreaker(route.breaker.failures, route.breaker.reset_s)
        return self.breakers[target]

    async def call(self, alias: str, messages: list[dict], tools: list[dict], step: str,
                   budgets: Budgets, work: str, tools_allowed: bool = True,
                   one_call_at_a_time: bool = False) -> tuple[ChatResponse, ModelTarget]:
        """`work` names the execution (a fan-out item, a loop iteration) the attempts are for.
        With `tools_allowed` False the tools are shown but the model is told to answer
        (tool_choice: none): it is the agent's last tool-loop turn. `one_call_at_a_time` asks the
        provider for at most one tool call per answer (the adapter drops it where unsupported)."""
        route = self.routes[alias]
        params = dict(route.params)
        if tools and not tools_allowed:
            params["tool_choice"] = "none"
        elif tools and one_call_at_a_time:
            params.setdefault("parallel_tool_calls", False)
        call = (self.answers.next_index(work), call_key(messages, tools, params))
        known = self.answers.replay(work, *call)
        if known is not None:  # answered before this run was resumed: paid for, not asked again
            self.events.emit(LlmAnswerRestored(step=step, work=work, model=known[0], call_index=call[0]))
            return known[1], next((t for t in route.chain if t.model == known[0]), route.chain[0])
        attempts: list[Attempt] = []
        for target in route.chain:
            breaker = self.breaker(target.model, route)
            if not breaker.check_before_call():
                attempts.append(Attempt(target.model, 0, "circuit open: not called", 0.0))
                continue
            request = ChatRequest(target.model, tuple(messages), tuple(tools), params, route.timeout_s)

            async def attempt(n: int, request=request, target=target, breaker=breaker) -> ChatResponse:
                await _wait_for_turn(route, request, target)
                return await self._attempt(request, target, n, step, budgets, breaker, attempts, work, call)
            try:
                response = await with_retries(attempt, route.retry, sleep=self.sleep)
                return response, target
            except LlmError:
                continue  # attempts are recorded; the next model of the chain takes over
        raise ModelCallFailed(alias, attempts)

    async def _attempt(self, request: ChatRequest, target: ModelTarget, number: int, step: str, budgets: Budgets,
                       breaker: CircuitBreaker, attempts: list[Attempt], work: str, call: tuple[int, str]) -> ChatResponse:
        input_tokens = estimate_tokens(request)
        if target.max_input_tokens and input_tokens > 0.75 * target.max_input_tokens:
            # Near the context window the real tokenizer decides whether it fits (it costs ~0.1-0.7 ms
            # a call, too much for every call of a 200-way fan-out). The reservation below is sized
            # by token_bound, not by either count: the provider's tokenizer may differ from both.
            input_tokens = self.model.count_tokens(request)
        if target.max_input_tokens and input_tokens > target.max_input_tokens:
            error = LlmError(f"prompt is about {input_tokens:,} tokens; {target.model} accepts "
                             f"{target.max_input_tokens:,}", kind="context_window")
            attempts.append(Attempt(target.model, number, error.message, 0.0))
            raise error
        reservation = await budgets.reserve_call(_reservation(target, token_bound(request)), step)
        timeout = _timeout(request.timeout_s, budgets.remaining_s())
        request = ChatRequest(request.model, request.messages, request.tools, request.params, timeout)
        attempt_id = next(self.ids)
        self.events.emit(LlmAttemptStarted(step=step, work=work, attempt_id=attempt_id, model=target.model,
                                           attempt=number, messages=request.messages, tools=request.tools))
        started = time.monotonic()
        # The adapter passes the timeout to the provider; the guard below bounds the call
        # regardless. The call is a task of its own, awaited through a shield: a stop (Ctrl-C,
        # SIGTERM, the wall budget) ends this await at once even when the provider's HTTP stack
        # swallows the cancellation, which aiohttp and anyio are known to do in a race.
        provider_call = asyncio.ensure_future(self.model.complete(request))
        provider_call.add_done_callback(_retrieve)
        try:
            async with asyncio.timeout(timeout + 1.0):
                response = await asyncio.shield(provider_call)
        except (LlmError, asyncio.TimeoutError) as exc:
            provider_call.cancel()
            budgets.end_call(reservation, None, step)
            error = exc if isinstance(exc, LlmError) else LlmError(f"no answer within {timeout:g} s",
                                                                   kind="timeout", retryable=True)
            breaker.record_failure()
            attempts.append(Attempt(target.model, number, f"{error.kind}: {error.message}", time.monotonic() - started))
            self.events.emit(LlmAttemptFailed(step=step, work=work, attempt_id=attempt_id, model=target.model,
                                              attempt=number, error=error.message, error_kind=error.kind,
                                              duration_s=time.monotonic() - started))
            raise error from None
        except asyncio.CancelledError:  # the run stopped; the provider may bill the call all the same
            provider_call.cancel()
            budgets.end_call(reservation, reservation, step, check=False, cut_off=True)
            raise
        except BaseException:
            provider_call.cancel()
            budgets.end_call(reservation, None, step)
            raise
        breaker.record_success()
        actual = Usage(llm_calls=1, tokens=response.input_tokens + response.output_tokens,
                       cost_usd=_cost(target, response.input_tokens, response.output_tokens))
        budgets.end_call(reservation, actual, step)
        attempts.append(Attempt(target.model, number, None, time.monotonic() - started))
        self.events.emit(LlmAttemptSucceeded(
            step=step, work=work, attempt_id=attempt_id, model=target.model, attempt=number,
            input_tokens=response.input_tokens, output_tokens=response.output_tokens, cost_usd=actual.cost_usd,
            duration_s=time.monotonic() - started, response_model=response.model,
            finish_reason=response.finish_reason, content=response.content, remaining_usd=budgets.remaining_usd(),
            run_usage=budgets.run_usage(), call_index=call[0], request_key=call[1], tool_calls=response.tool_calls))
        return response


async def _wait_for_turn(route: ModelRoute, request: ChatRequest, target: ModelTarget) -> None:
    """Each request waits for its turn under the alias's rate limit (retries included)."""
    if route.requests_per_minute or route.tokens_per_minute:
        from agentctl.run.rate_limits import wait_for_model

        await wait_for_model(route.alias, route.requests_per_minute, route.tokens_per_minute,
                             estimate_tokens(request) + (target.max_output_tokens or 0))


def _retrieve(task: asyncio.Future) -> None:
    """A provider call given up on may still fail later: its error is not "never retrieved"."""
    if not task.cancelled():
        task.exception()


def _timeout(route_timeout: float, remaining: float | None) -> float:
    if remaining is None:
        return route_timeout
    return max(0.001, min(route_timeout, remaining))


def _reservation(target: ModelTarget, input_tokens: int) -> Usage:
    max_out = target.max_output_tokens or 0
    return Usage(llm_calls=1, tokens=input_tokens + max_out, cost_usd=_cost(target, input_tokens, max_out))


def _cost(target: ModelTarget, input_tokens: int, output_tokens: int) -> float:
    if target.price is None:
        return 0.0  # only reachable without a USD budget: the compiler fails closed otherwise
    return input_tokens * target.price.input_per_token + output_tokens * target.price.output_per_token
