"""Journal + trace on versus off (issue 4). Prints figures; asserts nothing.

    .venv/bin/python bench/recording_bench.py [ROUNDS]

The 50-step sequential benchmark of run_bench.py (server latency 0, the real litellm path), run
with the journal, the trace and its file export (runs.execute) and without (the bare Executor),
back to back in the same round with the order alternating. Target: at most 5% more wall time.
241 rounds (about 3 minutes): with 61, the median's standard error is 1.5-2 points here.

On this shared VM one run's wall time swings by +-20% from round to round, more than the effect,
so the script reports the median of per-round ratios (the two runs of a round share the machine's
weather) with the interquartile range, and the same for CPU time. Most of that noise is in
litellm's own time, which recording does not change; so it also reports the time spent outside
the model calls (wall minus the time inside `complete()`), on minus off, paired per round: the
sharpest measure of what recording adds to a run's wall time. Then where that time goes,
measured inside recorded runs.
"""

from __future__ import annotations

import statistics
import sys
import time

from harness import (
    CHAIN_BUDGETS,
    ServerProcess,
    chain,
    compile_path,
    measured_run,
    project,
)


def timed_model():
    """litellm's model, counting the seconds spent inside its calls."""
    from agentctl.llm.litellm_client import LitellmModel

    class Timed(LitellmModel):
        inside = 0.0

        async def complete(self, request):
            start = time.perf_counter()
            try:
                return await super().complete(request)
            finally:
                self.inside += time.perf_counter() - start

    return Timed()


def recording(rounds: int = 241) -> None:
    from agentctl.llm.litellm_client import LitellmModel

    server = ServerProcess()
    try:
        compiled = compile_path(project(server, chain(50), CHAIN_BUDGETS))
        measured_run(compiled, LitellmModel(), False), measured_run(compiled, LitellmModel(), True)  # warm up
        runs: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
        outside: dict[bool, list[float]] = {False: [], True: []}
        for r in range(rounds):
            for recorded in ((False, True) if r % 2 == 0 else (True, False)):
                model = timed_model()
                runs[recorded].append(measured_run(compiled, model, recorded))
                outside[recorded].append(runs[recorded][-1][0] - model.inside)
        parts = breakdown(compiled, LitellmModel)
    finally:
        server.stop()
    print(f"journal + trace, 50-step sequential, latency 0, {rounds} rounds, on and off back to back:")
    for index, label in ((0, "wall"), (1, "CPU ")):
        off = statistics.median(x[index] for x in runs[False])
        on = statistics.median(x[index] for x in runs[True])
        ratios = sorted(b[index] / a[index] for a, b in zip(runs[False], runs[True]))
        q1, q3 = ratios[len(ratios) // 4], ratios[(3 * len(ratios)) // 4]
        print(f"  {label}: median off {off * 1000:6.1f} ms, on {on * 1000:6.1f} ms; per-round ratio: median "
              f"{(statistics.median(ratios) - 1) * 100:+5.1f}% +- {_median_error(q1, q3, len(ratios)) * 100:.1f} "
              f"(quartiles {(q1 - 1) * 100:+.1f}% .. {(q3 - 1) * 100:+.1f}%)"
              + ("  (target <= +5%)" if index == 0 else ""))
    off_wall = statistics.median(x[0] for x in runs[False]) * 1000
    inside = sorted((b[0] - b_out) - (a[0] - a_out) for a, b, a_out, b_out in
                    zip(runs[False], runs[True], outside[False], outside[True]))
    print(f"  inside the model calls (litellm and the server): per-round difference, on minus off: median "
          f"{statistics.median(inside) * 1000:+.1f} ms (quartiles {inside[len(inside) // 4] * 1000:+.1f} .. "
          f"{inside[3 * len(inside) // 4] * 1000:+.1f})")
    added = sorted(on - off for off, on in zip(outside[False], outside[True]))
    print(f"  outside the model calls: median off {statistics.median(outside[False]) * 1000:.1f} ms, on "
          f"{statistics.median(outside[True]) * 1000:.1f} ms; per-round difference: median "
          f"{statistics.median(added) * 1000:.1f} ms (quartiles {added[len(added) // 4] * 1000:.1f} .. "
          f"{added[3 * len(added) // 4] * 1000:.1f}) = {statistics.median(added) * 1000 / off_wall * 100:.1f}% "
          "of the off median wall time (target <= 5%)")
    print("  where recording's time goes, inside recorded runs (median ms per run; % of the off median):")
    for name, ms in parts.items():
        print(f"    {name:<44} {ms:6.2f} ms  {ms / off_wall * 100:4.1f}%")


def _median_error(q1: float, q3: float, n: int) -> float:
    """The standard error of a median of n samples, its spread taken from the quartiles (normal)."""
    return 1.2533 * (q3 - q1) / 1.349 / n ** 0.5


def breakdown(compiled, model_class, rounds: int = 15) -> dict[str, float]:
    """Times the recording parts of runs.execute by wrapping them (in this process only)."""
    from agentctl import runs
    from agentctl.record import journal, recorder

    spent: dict[str, float] = {}

    def timed(owner, name: str, label: str) -> None:
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - start

        setattr(owner, name, wrapper)

    timed(journal.Journal, "__init__", "open the journal")
    timed(journal.Journal, "start_run", "record the run's start")
    timed(recorder.JournalRecorder, "__call__", "journal: every event, results encoded")
    timed(runs._JournalCloser, "close_while", "trace file, while the journal closes")
    samples = []
    for _ in range(rounds):
        spent.clear()
        measured_run(compiled, model_class(), True)
        samples.append(dict(spent))
    return {label: statistics.median(s.get(label, 0.0) for s in samples) * 1000 for label in samples[0]}


if __name__ == "__main__":
    recording(int(sys.argv[1]) if len(sys.argv) > 1 else 241)
