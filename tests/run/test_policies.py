"""Unit tests of the policy objects, with a fake clock and a seeded random source."""

import asyncio
import random

import pytest

from agentctl.compile.ir import Limits, RetryPolicy
from agentctl.llm.client import LlmError
from agentctl.run.breaker import CircuitBreaker
from agentctl.dimensions import Usage
from agentctl.run.budget import ONE_STEP, Budget, BudgetExceeded, Budgets
from agentctl.run.retry import backoff_s, with_retries


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_rejects_and_lets_one_probe_through():
    clock = Clock()
    breaker = CircuitBreaker(failures=2, reset_s=10, clock=clock)
    breaker.record_failure()
    assert breaker.check_before_call()
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.check_before_call()
    clock.now = 10
    assert breaker.check_before_call() and not breaker.check_before_call()  # one probe only
    breaker.record_failure()  # the probe failed: open again
    assert not breaker.check_before_call()
    clock.now = 20
    assert breaker.check_before_call()
    breaker.record_success()
    assert breaker.state == "closed" and breaker.check_before_call()


def test_backoff_is_full_jitter_capped_and_respects_retry_after():
    policy = RetryPolicy(max_attempts=10, initial_s=1.0, max_s=8.0)
    rng = random.Random(1)
    waits = [backoff_s(policy, n, None, rng) for n in range(1, 9) for _ in range(50)]
    assert min(waits) >= 0 and max(waits) <= 8.0
    assert max(backoff_s(policy, 1, None, rng) for _ in range(200)) <= 1.0
    assert backoff_s(policy, 1, LlmError("x", kind="rate_limit", retry_after_s=5.0), rng) >= 5.0


def test_with_retries_counts_attempts_and_stops_on_final_errors():
    sleeps = []

    async def sleep(s):
        sleeps.append(s)

    calls = []

    async def flaky(n):
        calls.append(n)
        if n < 3:
            raise LlmError("busy", kind="server", retryable=True)
        return "ok"

    policy = RetryPolicy(5, 0.01, 0.1)
    assert asyncio.run(with_retries(flaky, policy, sleep=sleep)) == "ok"
    assert calls == [1, 2, 3] and len(sleeps) == 2

    async def final(n):
        calls.append(n)
        raise LlmError("bad", kind="client", retryable=False)

    calls.clear()
    with pytest.raises(LlmError):
        asyncio.run(with_retries(final, policy, sleep=sleep))
    assert calls == [1]


def test_a_retry_after_longer_than_max_s_gives_up_so_a_fallback_can_answer():
    calls = []

    async def limited(n):
        calls.append(n)
        raise LlmError("later", kind="rate_limit", retryable=True, retry_after_s=3600)

    with pytest.raises(LlmError):
        asyncio.run(with_retries(limited, RetryPolicy(5, 0.01, 30), sleep=lambda s: asyncio.sleep(0)))
    assert calls == [1]


def test_reservations_stop_concurrent_calls_from_overshooting():
    run = Budget("run", Limits(max_tokens=100))
    budgets = Budgets((run,))
    first = budgets.reserve(Usage(llm_calls=1, tokens=60), "a")
    with pytest.raises(BudgetExceeded):
        budgets.reserve(Usage(llm_calls=1, tokens=60), "b")  # 60 reserved + 60 > 100
    budgets.settle(first, Usage(llm_calls=1, tokens=20), "a")
    budgets.reserve(Usage(llm_calls=1, tokens=60), "b")  # 20 used + 60 fits
    assert run.used.tokens == 20 and run.reserved.tokens == 60


def test_a_call_that_fits_once_calls_in_flight_settle_waits_for_them():
    async def scenario():
        budgets = Budgets((Budget("run", Limits(max_tokens=100)),))
        first = await budgets.reserve_call(Usage(llm_calls=1, tokens=60), "a")
        second = asyncio.create_task(budgets.reserve_call(Usage(llm_calls=1, tokens=60), "b"))
        await asyncio.sleep(0)
        assert not second.done()  # 60 reserved + 60 > 100, but 0 used + 60 fits: wait
        budgets.end_call(first, Usage(llm_calls=1, tokens=20), "a")
        await second  # 20 used + 60 fits
        with pytest.raises(BudgetExceeded):  # 20 used + 60 in flight: even once it settles, 90 cannot fit
            await budgets.reserve_call(Usage(llm_calls=1, tokens=90), "c")
    asyncio.run(scenario())


def test_an_answer_beyond_its_reservation_scales_the_calls_in_flight_and_later_ones():
    async def scenario():
        run = Budget("run", Limits(max_tokens=1000))
        budgets = Budgets((run,))
        first = await budgets.reserve_call(Usage(llm_calls=1, tokens=100), "a")
        await budgets.reserve_call(Usage(llm_calls=1, tokens=100), "b")
        budgets.end_call(first, Usage(llm_calls=1, tokens=300), "a")  # 3x what was reserved
        assert run.reserved.tokens == 300 and budgets.calls.scale == 3
        third = await budgets.reserve_call(Usage(llm_calls=1, tokens=100), "c")
        assert third.tokens == 300
    asyncio.run(scenario())


def test_every_scope_is_checked_and_charged():
    run, step = Budget("run", Limits(max_steps=10)), Budget("step 's'", Limits(max_steps=1))
    budgets = Budgets((run,)).nested(step)
    held = budgets.reserve(ONE_STEP, "s")
    with pytest.raises(BudgetExceeded) as caught:  # the step in flight holds its reservation
        budgets.reserve(ONE_STEP, "s")
    assert caught.value.scope == "step 's'" and run.used.steps == 0 and run.reserved.steps == 1
    budgets.settle(held, held, "s")
    assert run.used.steps == 1 and run.reserved.steps == 0
    with pytest.raises(BudgetExceeded):
        budgets.reserve(ONE_STEP, "s")


def test_wall_time_is_a_budget():
    clock = Clock()
    budget = Budget("run", Limits(max_wall_s=5), clock=clock)
    clock.now = 4
    assert Budgets((budget,)).remaining_s() == 1
    clock.now = 6
    with pytest.raises(BudgetExceeded, match="max_wall_s"):
        Budgets((budget,)).reserve(ONE_STEP, "s")


def test_a_tool_rate_limit_makes_calls_wait_their_turn(tmp_path):
    # `rate_limit: {calls: 1, per_s: 60}` was documented and enforced nowhere: 3 calls in 0.22 s.
    # Only lower bounds on the gaps are asserted: a loaded machine can only make them longer.
    import time

    from agentctl.compile.ir import ToolDef
    from agentctl.run.approvals import FixedApprover
    from agentctl.run.events import EventBus
    from agentctl.run.tool_calls import ToolInvoker

    starts = []

    class Clocked:
        def input_schema(self):
            return {"type": "object"}

        async def call(self, args, ctx):
            starts.append(time.monotonic())
            return {}

    spec = ToolDef(name="t", kind="python", target="x:y", remote_name=None, method=None, headers={}, description=None,
                   input_schema=None, output_schema=None, side_effects=False, permission="allow", approval=False,
                   timeout_s=30, rate_limit=(1, 0.5), retry=None)
    invoker = ToolInvoker({"t": Clocked()}, {"t": spec}, FixedApprover(None), EventBus(), "r")

    async def three_at_once():
        budgets = Budgets((Budget("run", Limits()),))
        await asyncio.gather(*(invoker.invoke("s", "s", i, "t", {}, budgets) for i in range(3)))
    asyncio.run(three_at_once())
    assert starts[1] - starts[0] >= 0.45 and starts[2] - starts[0] >= 0.95
