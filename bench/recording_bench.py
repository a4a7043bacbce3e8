"""What recording (journal + trace + trace file) costs. Prints figures; asserts nothing.

    .venv/bin/python bench/recording_bench.py [ROUNDS_CPU] [ROUNDS_WALL]

1. CPU per step: a 50-step sequential pipeline with the scripted model shipped in the package
   (llm/fake.py: no network, no litellm), through runs.execute (journal, trace, trace file) and
   through the bare Executor, back to back in each round, the order alternating. Reports the
   median per-round difference of process CPU time, per step. Goal: at most 0.3 ms per step.
2. Wall time with a real model latency: the same 50 steps through the real litellm path against
   the local server answering after 50 ms, recording on versus off, paired per round. Reports the
   median per-round ratio. Goal: at most +1%.
"""

from __future__ import annotations

import statistics
import sys

from harness import CHAIN_BUDGETS, ServerProcess, chain, compile_path, measured_run, project

STEPS = 50


def quartiles(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    return ordered[len(ordered) // 4], statistics.median(ordered), ordered[(3 * len(ordered)) // 4]


def paired(compiled, make_model, rounds: int) -> tuple[list, list]:
    measured_run(compiled, make_model(), False), measured_run(compiled, make_model(), True)  # warm up
    off, on = [], []
    for r in range(rounds):
        for recorded in ((False, True) if r % 2 == 0 else (True, False)):
            (on if recorded else off).append(measured_run(compiled, make_model(), recorded))
    return off, on


def cpu_per_step(rounds: int) -> None:
    from agentctl.llm.fake import ScriptedModel, reply

    server = ServerProcess()  # only for the project's model URL; the scripted model never calls it
    try:
        compiled = compile_path(project(server, chain(STEPS), CHAIN_BUDGETS))
    finally:
        server.stop()
    off, on = paired(compiled, lambda: ScriptedModel(default=reply("ok")), rounds)
    q1, med, q3 = quartiles([(b[1] - a[1]) / STEPS * 1000 for a, b in zip(off, on)])
    print(f"recording, CPU per step ({STEPS}-step chain, scripted model, {rounds} paired rounds):")
    print(f"  run CPU median: off {statistics.median(x[1] for x in off) * 1000:.1f} ms, "
          f"on {statistics.median(x[1] for x in on) * 1000:.1f} ms")
    print(f"  added per step: median {med:.3f} ms (quartiles {q1:.3f} .. {q3:.3f})  (goal <= 0.3 ms)")


def wall_at_latency(rounds: int, latency_s: float = 0.05) -> None:
    from agentctl.llm.litellm_client import LitellmModel

    server = ServerProcess(latency_s)
    try:
        compiled = compile_path(project(server, chain(STEPS), CHAIN_BUDGETS))
        off, on = paired(compiled, LitellmModel, rounds)
    finally:
        server.stop()
    q1, med, q3 = quartiles([(b[0] / a[0] - 1) * 100 for a, b in zip(off, on)])
    print(f"recording, wall time ({STEPS}-step chain, litellm, server latency {latency_s * 1000:.0f} ms, "
          f"{rounds} paired rounds):")
    print(f"  run wall median: off {statistics.median(x[0] for x in off) * 1000:.1f} ms, "
          f"on {statistics.median(x[0] for x in on) * 1000:.1f} ms")
    print(f"  per-round ratio: median {med:+.2f}% (quartiles {q1:+.2f}% .. {q3:+.2f}%)  (goal <= +1%)")


if __name__ == "__main__":
    cpu_per_step(int(sys.argv[1]) if len(sys.argv) > 1 else 101)
    wall_at_latency(int(sys.argv[2]) if len(sys.argv) > 2 else 31)
