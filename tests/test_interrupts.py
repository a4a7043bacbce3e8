"""Signals stop a run at a point where the run can take it: never inside its synchronous work (a
journal commit), however many arrive."""

import asyncio
import os
import signal
import time

from agentctl.interrupts import stopped_by_signals


def test_a_second_ctrl_c_does_not_raise_inside_synchronous_work():
    """asyncio.run's own handler raises KeyboardInterrupt at the second Ctrl-C wherever the code
    is, a journal commit included. Under stopped_by_signals the run is cancelled once, at its next
    await, and the work in hand finishes."""
    # as in `agentctl` at a terminal (pytest-xdist's workers ignore SIGINT)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    finished = []

    async def run():
        for _ in range(3):  # Ctrl-C three times in the middle of synchronous work ("a commit")
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)
        finished.append("commit")
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            finished.append("cancelled")
            raise

    try:
        asyncio.run(stopped_by_signals(run()))
    except (asyncio.CancelledError, KeyboardInterrupt):
        pass
    finally:
        signal.signal(signal.SIGINT, previous)
    assert finished == ["commit", "cancelled"]
