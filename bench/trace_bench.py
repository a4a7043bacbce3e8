"""What building a trace costs per step (issue 13). Prints figures; asserts nothing.

    .venv/bin/python bench/trace_bench.py                  # this tree
    PYTHONPATH=/path/to/other/checkout .venv/bin/python bench/trace_bench.py   # another commit

The events of one 50-step run of agent steps (captured once from the
real engine with the scripted model shipped in the package) are fed to a fresh RunTracer, then
the OTLP/JSON file text is built from its spans: the tracer's whole cost, without the engine's.
Median of ROUNDS, per step, content off and on. Target: content off adds at most 0.05 ms per step
to what the tracer cost before issue 13 (compare two checkouts' figures).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

from harness import ServerProcess, compile_path, project

STEPS, ROUNDS = 50, 200


def agent_steps(n: int) -> str:
    return "".join(f'  - {{id: s{i}, agent: a, with: {{text: "step {i}"}}}}\n' for i in range(n))


def captured_events(compiled) -> list:
    from agentctl.llm.fake import ScriptedModel, reply
    from agentctl.run.approvals import FixedApprover
    from agentctl.run.events import EventBus
    from agentctl.run.executor import Executor

    events = EventBus()
    seen: list = []
    events.subscribe(seen.append)
    model = ScriptedModel([reply(f"answer {i}") for i in range(STEPS)])
    result = asyncio.run(Executor(compiled, model, inputs={}, approver=FixedApprover(None), tools={},
                                  events=events).run())
    assert result.status == "succeeded", result.error
    return seen


def per_step_ms(compiled, events: list, content: bool) -> float:
    from agentctl.record import otel_export
    from agentctl.record.redact import Redactor
    from agentctl.record.tracer import RunTracer

    redactor = Redactor.for_pipeline(compiled)
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        tracer = RunTracer(compiled, "run1", redactor, content=content)
        for event in events:
            tracer(event)
        otel_export.otlp_json(tracer.records(), tracer.trace_id, tracer.resource, tracer.scope)
        times.append(time.perf_counter() - start)
    return statistics.median(times[ROUNDS // 10:]) / STEPS * 1000


def main() -> None:
    server = ServerProcess()
    try:
        compiled = compile_path(project(server, agent_steps(STEPS), "{max_llm_calls: 60, max_cost_usd: 1.0}"))
    finally:
        server.stop()
    events = captured_events(compiled)
    import agentctl

    print(f"trace building, {STEPS} agent steps ({len(events)} events), median of {ROUNDS} rounds, "
          f"agentctl from {agentctl.__file__}:")
    print(f"  content off: {per_step_ms(compiled, events, False):.4f} ms per step")
    print(f"  content on:  {per_step_ms(compiled, events, True):.4f} ms per step")


if __name__ == "__main__":
    sys.exit(main())
