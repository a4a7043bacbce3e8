"""An event loop that does deferred work while it waits on the network, not while it could run.

A run with a fast model spends much of its time with the loop blocked in the selector: a request
is out and nothing else is ready. Work that need not happen at once (the journal's commit of
steps nobody has been told about yet, turning events into spans) is done there instead of on the
critical path. A job may ask not to run before a given time; the loop then blocks no longer than
that.

"Blocked" must mean waiting on I/O: litellm prepares each request in the loop's default thread
pool (`run_in_executor`, ~1.5 ms) while the loop waits, and work done then competes for the GIL
with it. So the default executor keeps its jobs in flight, and idle work waits for them, but for
at most THREAD_WAIT_S each: a Python tool or a question to the terminal runs there too, for
minutes maybe, mostly blocked, and must not hold the work back.
"""

from __future__ import annotations

import asyncio
import selectors
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

THREAD_WAIT_S = 0.05


class IdleWork:
    """Callbacks to run when the loop has nothing else to do. A callback returns True when it has
    more to do (it runs again at the next idle moment), False when it is done."""

    def __init__(self) -> None:
        self.due: dict[Callable[[], bool], float] = {}  # job -> monotonic time it may run from
        self.in_threads: dict[Future, float] = {}  # the default executor's jobs not known to be done

    def add(self, job: Callable[[], bool], not_before: float = 0.0) -> None:
        self.due[job] = min(self.due.get(job, not_before), not_before)

    def delay(self) -> float | None:
        """Seconds until some job may run (0: now), or None when there is none."""
        if not self.due:
            return None
        start = min(self.due.values())
        if self.in_threads:
            self.forget_finished_threads()
            if self.in_threads:
                start = max(start, max(self.in_threads.values()) + THREAD_WAIT_S)
        return max(0.0, start - time.monotonic())

    def thread_started(self, future: Future) -> None:
        self.forget_finished_threads()
        self.in_threads[future] = time.monotonic()

    def forget_finished_threads(self) -> None:
        self.in_threads = {f: at for f, at in self.in_threads.items() if not f.done()}

    def run_due(self) -> None:
        now = time.monotonic()
        for job, not_before in list(self.due.items()):
            if not_before <= now:
                del self.due[job]
                if job():
                    self.add(job)


class _IdleSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    def __init__(self, idle: IdleWork) -> None:
        super().__init__()
        self.idle = idle

    def select(self, timeout: float | None = None):
        if timeout != 0:  # the loop would block: anything ready at all goes first
            delay = self.idle.delay()
            while delay == 0:
                ready = super().select(0)
                if ready:
                    return ready
                self.idle.run_due()
                delay = self.idle.delay()
            if delay is not None and (timeout is None or delay < timeout):
                timeout = delay  # wake up when the next job is due (the loop just selects again)
        return super().select(timeout)


class _CountingExecutor(ThreadPoolExecutor):
    def __init__(self, idle: IdleWork) -> None:
        super().__init__(thread_name_prefix="asyncio")
        self.idle = idle

    def submit(self, fn, /, *args, **kwargs):
        future = super().submit(fn, *args, **kwargs)
        self.idle.thread_started(future)
        return future


def loop_factory(idle: IdleWork) -> Callable[[], asyncio.AbstractEventLoop]:
    def new_loop() -> asyncio.AbstractEventLoop:
        loop = asyncio.SelectorEventLoop(_IdleSelector(idle))
        loop.set_default_executor(_CountingExecutor(idle))
        return loop

    return new_loop
