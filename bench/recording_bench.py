"""Journal + trace on versus off (issue 4). Prints figures; asserts nothing.

    .venv/bin/python bench/recording_bench.py

The 50-step sequential benchmark of run_bench.py, run with the journal, the trace and its file
export (runs.execute) and without (the bare Executor), back to back with the order alternating.
Target: at most 5% more wall time. Also the absolute cost measured with a model that answers
instantly, which litellm's and the machine's noise cannot blur.
"""

from __future__ import annotations

import statistics

from harness import CHAIN_BUDGETS, Instant, ServerProcess, chain, compile_path, project, timed_run


def recording(rounds: int = 31) -> None:
    from agentctl.llm.litellm_client import LitellmModel

    server = ServerProcess()
    try:
        compiled = compile_path(project(server, chain(50), CHAIN_BUDGETS))
        timed_run(compiled, LitellmModel(), False), timed_run(compiled, LitellmModel(), True)  # warm up
        times_off, times_on, paired = [], [], []
        for r in range(rounds):
            order = (False, True) if r % 2 == 0 else (True, False)
            results = {recorded: timed_run(compiled, LitellmModel(), recorded) for recorded in order}
            times_off.append(results[False])
            times_on.append(results[True])
            paired.append(results[True] / results[False])  # the same round: the same machine weather
    finally:
        server.stop()
    m_off, m_on = statistics.median(times_off), statistics.median(times_on)
    print(f"journal + trace, 50-step sequential, {rounds} rounds, on and off back to back, order alternating:")
    print(f"  median off {m_off * 1000:7.1f} ms, on {m_on * 1000:7.1f} ms; median of per-round ratios "
          f"{(statistics.median(paired) - 1) * 100:+.1f}% (target <= 5%)")
    cost = recording_cost(compiled)
    print(f"  recording's own cost, with a model that answers instantly: {cost:.1f} ms per 50 steps "
          f"({cost / (m_off * 1000) * 100:.1f}% of the median run above)")


def recording_cost(compiled, rounds: int = 20) -> float:
    """Journal + trace in absolute ms, without litellm's noise: on minus off, instant model."""
    timed_run(compiled, Instant(), True), timed_run(compiled, Instant(), False)
    times: dict[bool, list[float]] = {True: [], False: []}
    for r in range(rounds):
        for recorded in ((True, False) if r % 2 else (False, True)):
            times[recorded].append(timed_run(compiled, Instant(), recorded))
    return (statistics.median(times[True]) - statistics.median(times[False])) * 1000


if __name__ == "__main__":
    recording()
