"""Eval soak (issue 12): RSS over a long batch. Prints figures; asserts nothing. The goal is flat.

    bash bench/setup.sh && .venv/bin/python bench/eval_soak.py [--rows 100000] [--every 10000]

A 2-agent-step pipeline over ROWS rows at concurrency 64 against the local server (its own
process, latency 0), through litellm, journaled, one trace file: `agentctl eval` in this process,
its resident set size printed every EVERY finished rows, with the growth per row after warm-up.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import time
from contextlib import redirect_stderr

from eval_bench import make_eval
from harness import ServerProcess


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=10_000)
    args = parser.parse_args()
    from agentctl.evals import command, live

    server = ServerProcess(delay_s=0.0)
    samples: list[tuple[int, float, float]] = []
    started = time.perf_counter()
    original = live.BatchView.row

    def sampled(view, record):
        original(view, record)
        if view.done % args.every == 0:
            samples.append((view.done, rss_mb(), time.perf_counter() - started))
            print(f"  {view.done:>7} rows  RSS {samples[-1][1]:7.1f} MB  {samples[-1][2]:7.1f} s", flush=True)

    live.BatchView.row = sampled
    try:
        root = make_eval(server, args.rows, 64)
        os.chdir(root)
        compiled = command.load("evals/b.eval.yaml", root)
        print(f"soak: {args.rows} rows x 2 agent steps, concurrency 64, latency 0; RSS before: {rss_mb():.1f} MB")
        with redirect_stderr(io.StringIO()):
            command.run(compiled, command.Options())
    finally:
        live.BatchView.row = original
        server.stop()
    if len(samples) >= 3:
        (n1, r1, _), (n2, r2, _) = samples[1], samples[-1]
        print(f"growth after warm-up ({n1} -> {n2} rows): {(r2 - r1) * 1024 / (n2 - n1):.2f} KB per row; "
              f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
