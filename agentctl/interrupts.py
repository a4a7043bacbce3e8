"""How Ctrl-C, SIGTERM and SIGHUP (what CI runners and containers send) stop a run or a batch: the
first one stops it, through the same path as an error would (work in flight cancelled, the record
written, MCP servers stopped); those that follow while it stops change nothing, so they cannot
cut short what the stop records."""

from __future__ import annotations

import contextlib

_STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")  # Ctrl-C, and what CI runners and containers send


async def stopped_by_signals(run):
    """`run` awaited in a task the first signal cancels, at its next await. asyncio.run's own
    Ctrl-C handler raises KeyboardInterrupt at the second press wherever the code is, in the
    middle of a journal commit or of the MCP servers' stop."""
    import asyncio
    import signal

    loop, task = asyncio.get_running_loop(), asyncio.current_task()

    def stop() -> None:
        if not task.cancelling():
            task.cancel()

    installed = []
    for name in _STOP_SIGNALS:
        try:
            loop.add_signal_handler(getattr(signal, name), stop)
            installed.append(getattr(signal, name))
        except (AttributeError, ValueError, RuntimeError, NotImplementedError):  # not the main thread, or Windows
            pass
    try:
        return await run
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


@contextlib.contextmanager
def interrupted_by_signals():
    """For work outside an event loop (a batch on a Dask cluster): the first signal raises
    KeyboardInterrupt, as Ctrl-C alone would."""
    import signal

    stopped = False

    def interrupt(signum, frame) -> None:
        nonlocal stopped
        if not stopped:
            stopped = True
            raise KeyboardInterrupt

    previous = {}
    for name in _STOP_SIGNALS:
        try:
            previous[name] = signal.signal(getattr(signal, name), interrupt)
        except (AttributeError, ValueError):  # not the main thread, or Windows
            pass
    try:
        yield
    finally:
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)
