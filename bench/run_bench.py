"""Run-engine benchmarks (issue 3). Prints figures; asserts nothing.

    bash bench/setup.sh && .venv/bin/python bench/run_bench.py

All sides run in one process, interleaved (the order rotates every round), against the same
local OpenAI-compatible server (tests/support/openai_server.py) running in a process of its own,
through the same litellm path:
1. Overhead per step: a 50-step sequential pipeline at server latency 0, agentctl vs a plain
   loop of the same 50 litellm calls. Target: ratio <= 1.15.
2. LangGraph: the same 50-step chain as a LangGraph StateGraph, each node making the same call.
   Target: agentctl no slower, while enforcing budgets and recording progress.
3. Fan-out: 200 parallel branches at 100 ms latency, agentctl vs asyncio.gather of the same
   200 calls. Target: ratio <= 1.2.
4. Peak memory (max RSS) of a 1,000-step run, in a fresh process, against one that only imports.
"""

from __future__ import annotations

import asyncio
import io
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from contextlib import redirect_stderr
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import agentctl.llm.litellm_client  # noqa: E402,F401 - sets LITELLM_LOCAL_MODEL_COST_MAP before litellm loads

PROMPT = "---\nname: p\nversion: 1\ninputs:\n  text: {type: string}\n---\nuser:\n{{ text }}\n"


class ServerProcess:
    """The test server in its own process, so that it does not share the GIL with the client."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.support.openai_server", "--delay", str(delay_s)],
                                     cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.url = self.proc.stdout.readline().strip()

    def stop(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def project(server, steps: str, budgets: str) -> Path:
    root = Path(tempfile.mkdtemp(prefix="agentctl-run-bench-"))
    for sub in ("pipelines", "prompts"):
        (root / sub).mkdir()
    (root / "agentctl.lock").write_text("")
    (root / "prompts" / "p.prompt").write_text(PROMPT)
    (root / "pipelines" / "b.yaml").write_text(textwrap.dedent(f"""\
        apiVersion: agentctl/v1
        name: bench
        version: 1
        inputs:
          items: {{type: array, default: []}}
        prices:
          openai/bench: {{input_per_mtok: 0.15, output_per_mtok: 0.60}}
        models:
          m:
            model: openai/bench
            params: {{api_base: "{server.url}", api_key: sk-bench, max_tokens: 16}}
            timeout_s: 30
        budgets: {budgets}
        agents:
          a: {{model: m, prompt: prompts/p.prompt, max_input_tokens: 2000}}
        steps:
        """) + steps)
    return root / "pipelines" / "b.yaml"


def chain(n: int) -> str:
    lines = ['  - {id: s0, agent: a, with: {text: "start"}}']
    lines += [f'  - {{id: s{i}, agent: a, with: {{text: "${{{{ steps.s{i - 1}.output }}}} {i}"}}}}' for i in range(1, n)]
    return "\n".join(lines) + "\n"


def fan(n: int) -> str:
    return (f'  - {{id: each, agent: a, for_each: "${{{{ inputs.items }}}}", max_items: {n}, '
            f'max_concurrency: {n}, with: {{text: "${{{{ item }}}}"}}}}\n')


async def agentctl_run(path: Path, inputs: dict, concurrency: int) -> float:
    from agentctl import api
    from agentctl.llm.litellm_client import LitellmModel
    from agentctl.run.approvals import FixedApprover
    from agentctl.run.events import EventBus
    from agentctl.run.executor import Executor
    from agentctl.run_display import RunDisplay

    compiled, _ = api.compile_file(str(path))
    events = EventBus()
    display = RunDisplay(compiled, live=False)  # progress recorded as one line per event
    events.subscribe(display)
    start, cpu = time.perf_counter(), time.process_time()
    with redirect_stderr(io.StringIO()):
        result = await Executor(compiled, LitellmModel(), inputs=inputs, approver=FixedApprover(None), tools={},
                                events=events, concurrency=concurrency).run()
    elapsed = time.perf_counter() - start, time.process_time() - cpu
    assert result.status == "succeeded", result.error
    return elapsed


def call_kwargs(server, text: str) -> dict:
    return dict(model="openai/bench", messages=[{"role": "user", "content": text}], api_base=server.url,
                api_key="sk-bench", max_tokens=16, timeout=30, num_retries=0, max_retries=0)


async def plain_loop(server, n: int) -> float:
    import litellm

    start, cpu = time.perf_counter(), time.process_time()
    previous = "start"
    for i in range(n):
        response = await litellm.acompletion(**call_kwargs(server, previous if i == 0 else f"{previous} {i}"))
        previous = response.choices[0].message.content
    return time.perf_counter() - start, time.process_time() - cpu


async def plain_gather(server, n: int) -> float:
    import litellm

    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(litellm.acompletion(**call_kwargs(server, str(i))) for i in range(n)))
    return time.perf_counter() - start, time.process_time() - cpu


def build_langgraph(server, n: int):
    from typing import TypedDict

    import litellm
    from langgraph.graph import END, START, StateGraph

    class State(TypedDict):
        text: str

    def node(i: int):
        async def run(state: State) -> State:
            text = "start" if i == 0 else f"{state['text']} {i}"
            response = await litellm.acompletion(**call_kwargs(server, text))
            return {"text": response.choices[0].message.content}
        return run

    graph = StateGraph(State)
    for i in range(n):
        graph.add_node(f"s{i}", node(i))
    graph.add_edge(START, "s0")
    for i in range(1, n):
        graph.add_edge(f"s{i - 1}", f"s{i}")
    graph.add_edge(f"s{n - 1}", END)
    return graph.compile()


async def langgraph_run(app) -> float:
    start, cpu = time.perf_counter(), time.process_time()
    await app.ainvoke({"text": ""}, {"recursion_limit": 1000})
    return time.perf_counter() - start, time.process_time() - cpu


class Instant:
    """A model that answers at once: what is left is agentctl's own cost."""

    async def complete(self, request):
        from agentctl.llm.fake import reply

        return reply("ok")

    def count_tokens(self, request):
        return 10


def engine_only(rounds: int = 15) -> None:
    """agentctl's own cost: the same 50-step run with a model that answers instantly."""
    from agentctl import api
    from agentctl.run.approvals import FixedApprover
    from agentctl.run.events import EventBus
    from agentctl.run.executor import Executor
    from agentctl.run_display import RunDisplay

    server = ServerProcess()
    try:
        compiled, _ = api.compile_file(str(project(server, chain(50), "{max_llm_calls: 60, max_cost_usd: 1.0}")))
    finally:
        server.stop()

    async def one() -> float:
        events = EventBus()
        events.subscribe(RunDisplay(compiled, live=False))
        start = time.perf_counter()
        with redirect_stderr(io.StringIO()):
            await Executor(compiled, Instant(), inputs={}, approver=FixedApprover(None), tools={}, events=events).run()
        return time.perf_counter() - start

    async def go() -> list[float]:
        return [await one() for _ in range(rounds)]

    times = asyncio.run(go())[3:]
    per_step = statistics.median(times) / 50 * 1000
    print(f"engine only (instant model, 50 steps, budgets and progress on): median {statistics.median(times) * 1000:.1f} ms,"
          f" {per_step:.3f} ms per step")


def sequential(rounds: int = 15) -> None:
    server = ServerProcess()
    try:
        path = project(server, chain(50), "{max_llm_calls: 60, max_cost_usd: 1.0}")
        try:
            app = build_langgraph(server, 50)
        except ImportError:
            app = None
        ours, plain, lang = [], [], []

        async def go():
            await plain_loop(server, 5)  # warm litellm's client and the connection
            await agentctl_run(path, {}, 8)
            sides = [("plain", lambda: plain_loop(server, 50)), ("ours", lambda: agentctl_run(path, {}, 8))]
            if app is not None:
                sides.append(("lang", lambda: langgraph_run(app)))
            times = {"plain": plain, "ours": ours, "lang": lang}
            for r in range(rounds):
                for name, side in sides[r % len(sides):] + sides[:r % len(sides)]:  # rotate who goes first
                    times[name].append(await side())

        asyncio.run(go())
    finally:
        server.stop()
    print(f"50-step sequential pipeline, latency 0, median of {rounds} interleaved (wall | client CPU):")
    report("plain loop of 50 litellm calls", plain)
    report("agentctl", ours, plain, "1.15")
    if lang:
        report("LangGraph 50-node chain", lang)
        print(f"  {'':<36} agentctl / LangGraph: median {_median(ours, 0) / _median(lang, 0):.3f}, "
              f"min {_min(ours, 0) / _min(lang, 0):.3f}, CPU {_median(ours, 1) / _median(lang, 1):.3f} (target <= 1.0)")
    else:
        print("  LangGraph: not installed (bash bench/setup.sh)")


def _median(samples: list, index: int) -> float:
    return statistics.median(s[index] for s in samples)


def _min(samples: list, index: int) -> float:
    return min(s[index] for s in samples)


def report(label: str, samples: list, against: list | None = None, target: str | None = None) -> None:
    """Median and minimum (the least disturbed round) of wall time, and median client CPU."""
    wall, best, cpu = _median(samples, 0), _min(samples, 0), _median(samples, 1)
    line = f"  {label:<36} median {wall * 1000:7.1f} ms, min {best * 1000:7.1f} ms, CPU {cpu * 1000:7.1f} ms"
    if against:
        line += (f"\n  {'':<36} ratio: median {wall / _median(against, 0):.3f}, min {best / _min(against, 0):.3f}, "
                 f"CPU {cpu / _median(against, 1):.3f} (target <= {target})")
    print(line)


def fan_out(rounds: int = 9, n: int = 200) -> None:
    server = ServerProcess(delay_s=0.1)
    try:
        path = project(server, fan(n), f"{{max_llm_calls: {n}, max_steps: {n + 1}}}")
        ours, plain = [], []

        async def go():
            await plain_gather(server, 20)
            items = {"items": [f"item {i}" for i in range(n)]}
            for r in range(rounds):  # alternate who goes first: the first side opens the connections
                if r % 2:
                    ours.append(await agentctl_run(path, items, n))
                    plain.append(await plain_gather(server, n))
                else:
                    plain.append(await plain_gather(server, n))
                    ours.append(await agentctl_run(path, items, n))

        asyncio.run(go())
    finally:
        server.stop()
    print(f"fan-out of {n} branches, latency 100 ms, median of {rounds} interleaved (wall | client CPU):")
    report(f"asyncio.gather of {n} litellm calls", plain)
    report("agentctl for_each", ours, plain, "1.2")
    print(f"    every round, wall ms: gather {[round(x[0] * 1000) for x in plain]}, "
          f"agentctl {[round(x[0] * 1000) for x in ours]}")


PEAK = """
import asyncio, resource, sys, tracemalloc
sys.path.insert(0, {repo!r})
from agentctl.llm.litellm_client import LitellmModel
from agentctl import api
from agentctl.run.approvals import FixedApprover
from agentctl.run.executor import Executor
traced = 0
if {run}:
    tracemalloc.start()
    compiled, _ = api.compile_file({path!r})
    result = asyncio.run(Executor(compiled, LitellmModel(), inputs={{}}, approver=FixedApprover(None), tools={{}}).run())
    assert result.status == "succeeded", result.error
    traced = tracemalloc.get_traced_memory()[1]
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, traced)
"""


def peak_memory(n: int = 1000) -> None:
    server = ServerProcess()
    try:
        path = project(server, chain(n), f"{{max_steps: {n}, max_llm_calls: {n}}}")
        rss, traced = {}, 0
        for run in (False, True):
            out = subprocess.run([sys.executable, "-c", PEAK.format(repo=str(REPO), run=run, path=str(path))],
                                 capture_output=True, text=True, cwd=path.parent.parent, check=True)
            kb, traced_bytes = out.stdout.strip().splitlines()[-1].split()
            rss[run], traced = int(kb) / 1024, max(traced, int(traced_bytes))
    finally:
        server.stop()
    print(f"peak memory, fresh process: max RSS {rss[False]:.0f} MB after imports only, {rss[True]:.0f} MB with a "
          f"{n}-step run; Python allocations during compile + run peak at {traced / 1e6:.1f} MB (tracemalloc)")


def recording(rounds: int = 31) -> None:
    """Journal and trace on versus off: the same 50-step run, each round in a fresh event loop."""
    from agentctl import api, runs
    from agentctl.llm.litellm_client import LitellmModel
    from agentctl.run.approvals import FixedApprover
    from agentctl.run.events import EventBus
    from agentctl.run.executor import Executor
    from agentctl.run_display import RunDisplay

    server = ServerProcess()
    try:
        path = project(server, chain(50), "{max_llm_calls: 60, max_cost_usd: 1.0}")
        compiled, _ = api.compile_file(str(path))

        def display_events():
            events = EventBus()
            events.subscribe(RunDisplay(compiled, live=False))
            return events

        def off() -> float:
            start = time.perf_counter()
            with redirect_stderr(io.StringIO()):
                result = asyncio.run(Executor(compiled, LitellmModel(), inputs={}, approver=FixedApprover(None),
                                              tools={}, events=display_events()).run())
            assert result.status == "succeeded"
            return time.perf_counter() - start

        def on() -> float:
            start = time.perf_counter()
            with redirect_stderr(io.StringIO()):
                result = runs.execute(runs.Prepared(compiled, {}, {}, LitellmModel()), FixedApprover(None),
                                      display_events())
            assert result.status == "succeeded"
            return time.perf_counter() - start

        off(), on()  # warm up
        times_off, times_on, paired = [], [], []
        for r in range(rounds):
            first, second = (off, on) if r % 2 == 0 else (on, off)
            results = {first: first(), second: second()}
            times_off.append(results[off])
            times_on.append(results[on])
            paired.append(results[on] / results[off])  # the same round: the same machine weather
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
    """Journal + trace in absolute ms, measured without litellm's noise: on minus off, instant model."""
    from agentctl import runs
    from agentctl.run.approvals import FixedApprover
    from agentctl.run.executor import Executor

    def on():
        runs.execute(runs.Prepared(compiled, {}, {}, Instant()), FixedApprover(None), None)

    def off():
        asyncio.run(Executor(compiled, Instant(), inputs={}, approver=FixedApprover(None), tools={}).run())

    on(), off()
    times: dict = {on: [], off: []}
    for r in range(rounds):
        for side in ((on, off) if r % 2 else (off, on)):
            start = time.perf_counter()
            side()
            times[side].append(time.perf_counter() - start)
    return (statistics.median(times[on]) - statistics.median(times[off])) * 1000


if __name__ == "__main__":
    if sys.argv[1:] == ["recording"]:
        recording()
        sys.exit()
    engine_only()
    sequential()
    fan_out()
    peak_memory()
    recording()
