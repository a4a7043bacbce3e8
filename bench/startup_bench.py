"""Start-up and shutdown of `agentctl run` (issue 14). Prints figures; asserts nothing.

    .venv/bin/python bench/startup_bench.py [ROUNDS]

Each figure is the median of ROUNDS fresh processes, side by side in one run:
1. From `agentctl run` to the first request at the local server (a 1-agent pipeline), against
   `python -c "import litellm"`. Target: at most 1.15x.
2. The same with three MCP servers used by the pipeline, against max(litellm import, one server's
   start) + 0.3 s.
3. A gate-only pipeline: `agentctl run` against a cold `agentctl validate` of the same file.
   Target: at most 1.2x.
4. Process exit after the last event (RunFinished's time in --events, to the process's exit).
   Target: at most 0.5 s. With three MCP servers the run stops them before RunFinished, so there
   the figure runs from the last step's StepFinished: it includes stopping the servers.
5. One MCP server slower to start than litellm's import (3 s of sleep first, as an npx server
   may take): the first request should follow the server's start closely, because what the first
   call loads was loaded while waiting for it (LitellmModel.preload).

Then the floors of 2 and 3: what a run must do on this process's one GIL, imported in one process
and timed inside it (no interpreter start-up or teardown), so no ordering of the work can beat it.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.openai_server import Behaviour, FakeOpenAI  # noqa: E402

PROMPT = "---\nname: p\nversion: 1\ninputs:\n  text: {type: string}\n---\nuser:\n{{ text }}\n"
MCP = """mcp_servers:
{servers}
tools:
{tools}
"""


def project(url: str, mcp_servers: int = 0, gate_only: bool = False, server_prefix: str = "") -> Path:
    root = Path(tempfile.mkdtemp(prefix="agentctl-startup-"))
    (root / "pipelines").mkdir()
    (root / "prompts").mkdir()
    (root / "agentctl.lock").write_text("")
    (root / "prompts" / "p.prompt").write_text(PROMPT)
    if gate_only:
        body = "inputs:\n  n: {type: number, default: 1}\nsteps:\n  - {id: g, gate: {check: \"${{ inputs.n < 5 }}\"}}\n"
    else:
        servers = "\n".join(f"  s{i}: {{command: [{server_prefix}{sys.executable}, -m, tests.support.mcp_server], "
                            f"env: {{PYTHONPATH: \"{REPO}\", LEDGER: /dev/null}}}}" for i in range(mcp_servers))
        tools = "\n".join(f"  shout{i}: {{mcp: s{i}, mcp_tool: shout}}" for i in range(mcp_servers))
        uses = f", tools: [{', '.join(f'shout{i}' for i in range(mcp_servers))}], max_iterations: 2" if mcp_servers else ""
        body = (f"models:\n  m: {{model: openai/m, params: {{api_base: \"{url}\", api_key: sk-x, max_tokens: 8}}}}\n"
                + (MCP.format(servers=servers, tools=tools) if mcp_servers else "")
                + f"agents:\n  a: {{model: m, prompt: prompts/p.prompt{uses}}}\n"
                + "steps:\n  - {id: s, agent: a, with: {text: hi}}\n")
    (root / "pipelines" / "p.yaml").write_text("apiVersion: agentctl/v1\nname: p\nversion: 1\n" + body)
    return root


def to_first_request(root: Path, server: FakeOpenAI, prefix: tuple[str, ...] = ()) -> float:
    before = len(server.requests)
    start = time.monotonic()
    proc = subprocess.run([*prefix, sys.executable, "-m", "agentctl", "run", "pipelines/p.yaml", "--no-live"], cwd=root,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return server.requests[before][0] - start  # time.monotonic is one clock for every process here


def wall(*args: str, cwd: Path) -> float:
    start = time.monotonic()
    subprocess.run(list(args), cwd=cwd, capture_output=True, timeout=120)
    return time.monotonic() - start


def exit_after_last_event(root: Path, event: str = "RunFinished") -> float:
    """From the last `event` in --events (its wall-clock `time`) to the process's exit."""
    proc = subprocess.Popen([sys.executable, "-m", "agentctl", "run", "pipelines/p.yaml", "--no-live", "--events", "-"],
                            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out, _ = proc.communicate(timeout=120)
    ended = time.time()
    events = [json.loads(line) for line in out.splitlines() if line.startswith('{"version"')]
    return ended - [e for e in events if e["type"] == event][-1]["time"]


SLOW_S = 3.0
PIN = shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
FLOOR_MCP = ("agentctl.llm.litellm_client", "agentctl.cli", "mcp.client.stdio", "agentctl.service", "agentctl.tools.mcp_tool",
             "openai.resources")  # the OpenAI SDK loads its resources at the first request, not at import
FLOOR_GATE = ("asyncio", "agentctl.run.events", "opentelemetry.sdk.resources", "sqlite3", "agentctl.service")


def imported(*modules: str, after: tuple[str, ...] = ()) -> list[float]:
    """Seconds to import each module in turn, in one fresh process, after `after` is imported."""
    code = ("import importlib, json, sys, time\n"
            f"for m in {list(after)!r}: importlib.import_module(m)\n"
            "times = []\n"
            f"for m in {list(modules)!r}:\n"
            "    t = time.perf_counter(); importlib.import_module(m); times.append(time.perf_counter() - t)\n"
            "print(json.dumps(times))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True,
                          env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
    return json.loads(done.stdout.splitlines()[-1])


def floors(rounds: int, bound_s: float, validate_s: float) -> None:
    m = statistics.median
    mcp = [imported(*FLOOR_MCP) for _ in range(rounds)]
    start_s = m(wall(sys.executable, "-c", "pass", cwd=REPO) for _ in range(rounds))
    litellm_s, rest = m(t[0] for t in mcp), m(sum(t[1:]) for t in mcp)
    print(f"floors, median of {rounds} processes, imports timed inside the process:")
    print(f"  3 MCP servers: python start-up {start_s:.2f} s + litellm {litellm_s:.2f} s + agentctl (command line, "
          f"run modules), the MCP client SDK and the OpenAI SDK's resources {rest:.2f} s = "
          f"{start_s + litellm_s + rest:.2f} s (target {bound_s:.2f} s)")
    gate = [imported(*FLOOR_GATE, after=("agentctl.cli", "agentctl.api")) for _ in range(rounds)]
    parts = [m(t[i] for t in gate) * 1000 for i in range(len(FLOOR_GATE))]
    named = ", ".join(f"{name} {ms:.0f} ms" for name, ms in zip(FLOOR_GATE, parts))
    print(f"  gate-only: imports a run adds to a validate's: {named}; {sum(parts):.0f} ms "
          f"(allowance 0.2 x validate = {validate_s * 200:.0f} ms)")


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    server = FakeOpenAI(default=Behaviour(content="ok")).start()
    try:
        plain, mcp3, gate = project(server.url), project(server.url, 3), project(server.url, gate_only=True)
        pinned = project(server.url, 3, server_prefix="taskset, -c, '1', ") if PIN else None
        slow = project(server.url, 1, server_prefix=f"sh, -c, 'sleep {SLOW_S:g}; exec \"$0\" \"$@\"', ")
        import_s, first, first_mcp, server_start, run_gate, validate_gate, exits, exits_mcp, first_pinned, first_slow = (
            [] for _ in range(10))
        for _ in range(rounds):
            import_s.append(wall(sys.executable, "-c", "import litellm", cwd=plain))
            first.append(to_first_request(plain, server))
            first_mcp.append(to_first_request(mcp3, server))
            if pinned is not None:
                first_pinned.append(to_first_request(pinned, server, ("taskset", "-c", "0")))
            server_start.append(wall(sys.executable, "-c", "import mcp.server.mcpserver", cwd=REPO))
            run_gate.append(wall(sys.executable, "-m", "agentctl", "run", "pipelines/p.yaml", "--no-live", cwd=gate))
            validate_gate.append(wall(sys.executable, "-m", "agentctl", "validate", "pipelines/p.yaml", cwd=gate))
            exits.append(exit_after_last_event(plain))
            exits_mcp.append(exit_after_last_event(mcp3, "StepFinished"))
            first_slow.append(to_first_request(slow, server))
    finally:
        server.stop()
    m = statistics.median
    print(f"start-up, median of {rounds} fresh processes:")
    print(f"  python -c 'import litellm'              {m(import_s):.2f} s")
    print(f"  agentctl run -> first request           {m(first):.2f} s  ratio {m(first) / m(import_s):.2f} "
          "(target <= 1.15)")
    bound = max(m(import_s), m(server_start)) + 0.3
    print(f"  the same with 3 MCP servers             {m(first_mcp):.2f} s  (target <= max(import, one server "
          f"{m(server_start):.2f} s) + 0.3 = {bound:.2f} s)")
    if first_pinned:
        print(f"  the same, servers on core 1, agentctl on core 0 {m(first_pinned):.2f} s  (what two cores shared "
              "by four processes cost)")
    print(f"  gate-only: run {m(run_gate):.2f} s, validate {m(validate_gate):.2f} s  ratio "
          f"{m(run_gate) / m(validate_gate):.2f} (target <= 1.2)")
    print(f"  process exit after the last event       {m(exits):.2f} s  (target <= 0.5)")
    print(f"  the same with 3 MCP servers, from the last step's end (stopping them included) {m(exits_mcp):.2f} s")
    print(f"  one server slow to start (sleep {SLOW_S:g} s + start {m(server_start):.2f} s) -> first request "
          f"{m(first_slow):.2f} s")
    floors(rounds, bound, m(validate_gate))


if __name__ == "__main__":
    main()
