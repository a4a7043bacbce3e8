"""Worst overshoot of every budget dimension under concurrency (issue 10, item 9). Prints figures.

    .venv/bin/python bench/budget_overshoot.py

The scenarios are the tests' (tests/run/test_budgets.py), run over several limits each:
1. 40 fan-out items, 8 at a time, each a tool round then an answer, from a provider that counts
   one token per character (3,000 CJK characters an item): the counted usage against the limit.
2. A provider that reports 400 output tokens where max_tokens is 50, over the local HTTP server
   with staggered latencies: what it billed (every request it received) against the limit.
"""

from __future__ import annotations

import itertools
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.run.test_budgets import FAN_OUT, LIMITS, counting_every_character, run_fan_out  # noqa: E402
from tests.support.openai_server import Behaviour, FakeOpenAI  # noqa: E402
from tests.support.project import Project  # noqa: E402


def honest_provider(server: FakeOpenAI) -> None:
    print("1. one token per character, 40 items x 8 at a time")
    print(f"   {'limit':<16}{'value':>10}{'used':>12}{'overshoot':>12}")
    for limit, (dimension, value) in sorted(LIMITS.items()):
        worst = None
        for scale in (0.5, 1, 2, 4):
            scaled = type(value)(value * scale)
            project = Project(Path(tempfile.mkdtemp()), server)
            result = run_fan_out(project, f"{{{limit}: {scaled}}}", counting_every_character())
            used = getattr(result.usage, dimension)
            worst = used - scaled if worst is None else max(worst, used - scaled)
            print(f"   {limit:<16}{scaled:>10g}{used:>12g}{used - scaled:>12g}")
        print(f"   worst overshoot of {limit}: {worst:g}")


def misreporting_provider(server: FakeOpenAI) -> None:
    print("2. 400 output tokens reported where max_tokens is 50 (412 a response), billed per request")
    for limit in (1000, 3000, 10000):
        delays = itertools.cycle([0.0, 0.05, 0.1, 0.15])
        server.default = lambda req: Behaviour(content="ok", usage=(12, 400), delay_s=next(delays))
        server.requests.clear()
        project = Project(Path(tempfile.mkdtemp()), server)
        result = project.run(FAN_OUT.replace("{BUDGET}", f"{{max_tokens: {limit}}}").replace("{TOOLS}", "[]"),
                             inputs={"items": ["x"] * 40})
        billed = server.count() * 412
        print(f"   max_tokens {limit:>6}: {server.count()} requests, billed {billed}, counted "
              f"{result.usage.tokens}, overshoot {billed - limit} ({(billed - limit) / 412:.2f} responses)")


if __name__ == "__main__":
    server = FakeOpenAI().start()
    try:
        honest_provider(server)
        misreporting_provider(server)
    finally:
        server.stop()
