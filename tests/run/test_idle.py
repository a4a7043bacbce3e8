"""The event loop that does deferred work only while it waits on I/O."""

import asyncio
import threading
import time

from agentctl.run.idle import THREAD_WAIT_S, IdleWork, loop_factory


def run(idle: IdleWork, main) -> None:
    with asyncio.Runner(loop_factory=loop_factory(idle)) as runner:
        runner.run(main())


def test_idle_work_waits_while_callbacks_are_ready_and_runs_when_the_loop_would_block():
    idle, calls = IdleWork(), []

    async def main():
        asyncio.get_running_loop().call_soon(calls.append, "ready callback")
        idle.add(lambda: calls.append("idle") or False)
        await asyncio.sleep(0)  # something is ready: the selector is only polled
        calls.append("after a yield")
        await asyncio.sleep(0.05)  # nothing is ready for 50 ms: the loop would block
        calls.append("after the wait")

    run(idle, main)
    assert calls == ["ready callback", "after a yield", "idle", "after the wait"]


def in_thread_then_idle(seconds: float) -> list[str]:
    idle, calls = IdleWork(), []

    def job():
        time.sleep(seconds)  # releases the GIL, like a thread waiting on I/O
        calls.append("thread done")

    async def main():
        future = asyncio.get_running_loop().run_in_executor(None, job)
        idle.add(lambda: calls.append("idle") or False)
        await future
        await asyncio.sleep(0.05)

    run(idle, main)
    return calls


def test_idle_work_waits_for_a_short_job_of_the_default_executor():
    """litellm prepares requests in the default thread pool (~1.5 ms) while the loop waits: work
    done then would compete with it for the GIL."""
    assert in_thread_then_idle(THREAD_WAIT_S / 2) == ["thread done", "idle"]


def test_a_long_job_of_the_default_executor_holds_idle_work_back_no_longer_than_thread_wait():
    """A Python tool or a question to the terminal may take minutes there."""
    assert in_thread_then_idle(THREAD_WAIT_S * 6) == ["idle", "thread done"]


def test_a_job_due_later_runs_then_and_the_loop_wakes_up_for_it():
    idle, ran = IdleWork(), []

    async def main():
        loop = asyncio.get_running_loop()
        idle.add(lambda: ran.append(loop.time()) or False, time.monotonic() + 0.05)
        start = loop.time()
        await asyncio.sleep(0.5)  # one long wait: the job must not wait for its end
        return start

    with asyncio.Runner(loop_factory=loop_factory(idle)) as runner:
        start = runner.run(main())
    assert len(ran) == 1 and 0.05 <= ran[0] - start < 0.4


def test_a_job_with_more_to_do_runs_again_at_the_next_idle_moment():
    idle, turns = IdleWork(), []

    def job() -> bool:
        turns.append(threading.get_ident())
        return len(turns) < 3

    async def main():
        idle.add(job)
        for _ in range(5):
            await asyncio.sleep(0.01)

    run(idle, main)
    assert turns == [threading.get_ident()] * 3  # three turns, on the loop's own thread
    assert not idle.due


def test_the_same_job_is_queued_once_at_its_earliest_time():
    idle = IdleWork()
    job = [].copy
    idle.add(job, 5.0), idle.add(job, 3.0), idle.add(job, 4.0)
    assert idle.due == {job: 3.0}
