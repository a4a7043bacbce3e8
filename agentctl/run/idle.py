"""An event loop that does deferred work while it waits on the network, not while it could run.

A run with a fast model spends much of its time with the loop blocked in the selector: a request
is out and nothing else is ready. Work that need not happen at once (the journal's commit of a
step nobody has been told about yet, turning events into spans) is done there, in short turns,
instead of on the critical path.

"Blocked" must mean waiting on I/O: litellm prepares each request in the loop's default thread
pool (`run_in_executor`) while the loop waits, and work done then competes for the GIL with it.
So the default executor counts the jobs in flight, and idle work waits for none.
"""

from __future__ import annotations

import asyncio
import selectors
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable


class IdleWork:
    """Callbacks to run when the loop has nothing else to do. Each returns True when it has
    more to do (it is called again at the next idle moment), False when it is done."""

    def __init__(self) -> None:
        self.jobs: list[Callable[[], bool]] = []
        self.in_threads: set[Future] = set()  # the default executor's jobs not known to be done

    def add(self, job: Callable[[], bool]) -> None:
        if job not in self.jobs:
            self.jobs.append(job)

    def run_one_turn(self) -> None:
        jobs, self.jobs = self.jobs, []
        for index, job in enumerate(jobs):
            try:
                more = job()
            except BaseException:
                self.jobs[:0] = jobs[index + 1:]  # the others keep their turn
                raise
            if more:
                self.add(job)

    @property
    def ready(self) -> bool:
        if not self.jobs:
            return False
        if self.in_threads:
            self.in_threads = {f for f in self.in_threads if not f.done()}
        return not self.in_threads


class _IdleSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    def __init__(self, idle: IdleWork) -> None:
        super().__init__()
        self.idle = idle

    def select(self, timeout: float | None = None):
        if timeout == 0 or not self.idle.ready:
            return super().select(timeout)
        while self.idle.ready:
            ready = super().select(0)
            if ready:
                return ready
            self.idle.run_one_turn()
        return super().select(timeout)


class _CountingExecutor(ThreadPoolExecutor):
    def __init__(self, idle: IdleWork) -> None:
        super().__init__(thread_name_prefix="asyncio")
        self.idle = idle

    def submit(self, fn, /, *args, **kwargs):
        future = super().submit(fn, *args, **kwargs)
        self.idle.in_threads = {f for f in self.idle.in_threads if not f.done()}
        self.idle.in_threads.add(future)
        return future


def loop_factory(idle: IdleWork) -> Callable[[], asyncio.AbstractEventLoop]:
    def new_loop() -> asyncio.AbstractEventLoop:
        loop = asyncio.SelectorEventLoop(_IdleSelector(idle))
        loop.set_default_executor(_CountingExecutor(idle))
        return loop

    return new_loop
