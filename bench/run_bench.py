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
Journal + trace overhead (issue 4) is recording_bench.py.
"""

from __future__ import annotations

import asyncio
import io
import statistics
import subprocess
import sys
import time
from contextlib import redirect_stderr
from pathlib import Path

from harness import (CHAIN_BUDGETS, REPO, Instant, ServerProcess, _median, _min, chain, compile_path, fan, project,
                     measured_run, report)


async def agentctl_run(path: Path, inputs: dict, concurrency: int) -> float:
    from agentctl import api, console
    from agentctl.llm.litellm_client import LitellmModel
    from agentctl.run.approvals import FixedApprover
    from agentctl.run.events import EventBus
    from agentctl.run.executor import Executor
    from agentctl.run_display import Progress

    compiled = api.compile_file(str(path)).pipeline
    events = EventBus()
    events.subscribe(console.LiveProgress(Progress(compiled), lambda text: text, live=False))  # one line per event
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


def engine_only(rounds: int = 15) -> None:
    """agentctl's own cost: the same 50-step run with a model that answers instantly."""
    server = ServerProcess()
    try:
        compiled = compile_path(project(server, chain(50), CHAIN_BUDGETS))
    finally:
        server.stop()
    times = [measured_run(compiled, Instant(), recorded=False)[0] for _ in range(rounds)][3:]
    median = statistics.median(times)
    print(f"engine only (instant model, 50 steps, budgets and progress on): median {median * 1000:.1f} ms,"
          f" {median / 50 * 1000:.3f} ms per step")


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
    compiled = api.compile_file({path!r}).pipeline
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


if __name__ == "__main__":
    engine_only()
    sequential()
    fan_out()
    peak_memory()
