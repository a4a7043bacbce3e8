"""What the run benchmarks share: the test server in a process of its own, generated projects,
a model that answers instantly, and one way to time a whole run with recording on or off."""

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
CHAIN_BUDGETS = "{max_llm_calls: 60, max_cost_usd: 1.0}"


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


class Instant:
    """A model that answers at once: what is left is agentctl's own cost."""

    async def complete(self, request):
        from agentctl.llm.fake import reply

        return reply("ok")

    def count_tokens(self, request):
        return 10


def compile_path(path: Path):
    from agentctl import api

    result = api.compile_file(str(path))
    compiled = result.pipeline
    assert compiled is not None, result.diagnostics
    return compiled


def measured_run(compiled, model, recorded: bool, inputs: dict | None = None) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds, all threads) for one whole run in a fresh event
    loop, progress lines on (to a buffer); with `recorded`, through runs.execute: journal, trace and
    the trace file included."""
    from agentctl import console, runs
    from agentctl.run.approvals import FixedApprover
    from agentctl.run.events import EventBus
    from agentctl.run.executor import Executor
    from agentctl.run_display import Progress

    progress = console.LiveProgress(Progress(compiled), lambda text: text, live=False)
    events = EventBus()
    events.subscribe(progress)
    start, cpu = time.perf_counter(), time.process_time()
    with redirect_stderr(io.StringIO()):
        if recorded:
            result = runs.execute(runs.Prepared(compiled, inputs or {}, {}, model), FixedApprover(None), [progress])
        else:
            result = asyncio.run(Executor(compiled, model, inputs=inputs or {}, approver=FixedApprover(None),
                                          tools={}, events=events).run())
    assert result.status == "succeeded", result.error
    return time.perf_counter() - start, time.process_time() - cpu


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


