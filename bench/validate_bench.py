"""Benchmarks for `agentctl validate` (issue 2). Prints figures; asserts nothing.

    .venv/bin/python bench/validate_bench.py

1. Cold start: `agentctl validate` on the examples against `python -c "import typer, pydantic,
   yaml, jinja2, rich"`, interleaved, same machine, same run. Target: ratio <= 1.5.
2. `python -X importtime`: which of litellm, mcp, opentelemetry, openai validate imports (must be none).
3. Scale: generated pipelines of 1,000 / 5,000 / 10,000 steps, validated in-process (warm) and by
   the CLI (cold). Targets: 1,000 steps under 1 s; time per step flat (linear, not quadratic).
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable
AGENTCTL = [PY, "-m", "agentctl"]
BASELINE = [PY, "-c", "import typer, pydantic, yaml, jinja2, rich"]
# The same libraries with the parts validate needs actually loaded (the imports above are lazy:
# `import pydantic` and `import rich` load almost nothing until a model or console is built).
USED = [PY, "-c", (
    "import yaml, typer, pydantic, jinja2.sandbox\n"
    "class M(pydantic.BaseModel):\n    x: int = 0\n"
    "M(x=1); jinja2.sandbox.ImmutableSandboxedEnvironment().parse('{{ a.b }}')\n"
    "app = typer.Typer()\n@app.command()\ndef v(p: str = ''): pass\n"
    "app(['--p', 'x'], standalone_mode=False)")]
# Each of the two that validate cannot do without (DESIGN: typer for the CLI; the issue: pydantic
# models for the formats), alone: what the bare-import baseline leaves out.
ONE_MODEL = [PY, "-c", "import typer, pydantic, yaml, jinja2, rich\n"
             "class M(pydantic.BaseModel):\n    x: int = 0\nM(x=1)"]
ONE_COMMAND = [PY, "-c", "import typer, pydantic, yaml, jinja2, rich\napp = typer.Typer()\n@app.command()\n"
               "def v(p: str = ''): pass\napp(['--p', 'x'], standalone_mode=False)"]


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def cold_start(rounds: int = 15) -> None:
    ours, base, used, model, command = [], [], [], [], []
    # Bytecode as set-up leaves it (scripts/setup.sh), then warm the OS file cache.
    subprocess.run([PY, "-m", "compileall", "-q", str(REPO / "agentctl")], check=True,
                   stdout=subprocess.DEVNULL)
    timed(AGENTCTL + ["validate"], REPO)
    for _ in range(rounds):
        base.append(timed(BASELINE, REPO))
        used.append(timed(USED, REPO))
        model.append(timed(ONE_MODEL, REPO))
        command.append(timed(ONE_COMMAND, REPO))
        ours.append(timed(AGENTCTL + ["validate"], REPO))
    m_ours, m_base, m_used = statistics.median(ours), statistics.median(base), statistics.median(used)
    print(f"cold start, median of {rounds} (interleaved):")
    print(f"  import typer, pydantic, yaml, jinja2, rich       {m_base * 1000:7.1f} ms")
    for label, runs in (("the same, with one pydantic model used", model),
                        ("the same, with one typer command run", command)):
        print(f"  {label:<47}{statistics.median(runs) * 1000:7.1f} ms  ({statistics.median(runs) / m_base:.2f}x)")
    print(f"  the same, with a model, a sandbox and a command  {m_used * 1000:7.1f} ms  ({m_used / m_base:.2f}x)")
    print(f"  agentctl validate (4 pipelines, 9 prompts)      {m_ours * 1000:7.1f} ms")
    print(f"  ratio to the bare imports                        {m_ours / m_base:7.2f}  (target <= 1.5)")
    print(f"  ratio to the libraries in use                    {m_ours / m_used:7.2f}")


def heavy_imports() -> None:
    out = subprocess.run([PY, "-X", "importtime", "-m", "agentctl", "validate"], cwd=REPO,
                         capture_output=True, text=True)
    modules = [line.split("|")[-1].strip() for line in out.stderr.splitlines() if "|" in line]
    heavy = sorted({m for m in modules if m.split(".")[0] in ("litellm", "mcp", "opentelemetry", "openai")})
    print(f"python -X importtime -m agentctl validate: {len(modules)} modules imported; "
          f"litellm/mcp/opentelemetry/openai among them: {heavy or 'none'}")


def generate(n: int) -> str:
    """A wide-and-deep graph: each step reads the previous one, every tenth also reads inputs."""
    lines = [
        "apiVersion: agentctl/v1", f"name: gen-{n}", "version: 1",
        "inputs:", "  topic: {type: string}",
        "models:", "  fast: {model: openai/gpt-4o-mini, params: {max_tokens: 100}}",
        f"budgets: {{max_steps: {n + 1}, max_cost_usd: 1000}}",
        "agents:",
        "  echo: {model: fast, prompt: prompts/echo.prompt, output_schema: schemas/out.json, max_input_tokens: 1000}",
        "steps:",
        "  - id: s0", "    agent: echo", '    with: {text: "${{ inputs.topic }}"}',
    ]
    for i in range(1, n):
        source = "inputs.topic" if i % 10 == 0 else f"steps.s{i - 1}.output.answer"
        lines += [f"  - id: s{i}", "    agent: echo", f'    with: {{text: "${{{{ {source} }}}}"}}']
    lines += ["outputs:", f"  last: ${{{{ steps.s{n - 1}.output.answer }}}}"]
    return "\n".join(lines) + "\n"


def scale() -> None:
    from agentctl import api

    tmp = Path(tempfile.mkdtemp(prefix="agentctl-bench-"))
    try:
        for sub in ("prompts", "schemas"):
            shutil.copytree(REPO / "tests" / "golden" / sub, tmp / sub)
        shutil.copy(REPO / "tests" / "golden" / "agentctl.lock", tmp / "agentctl.lock")
        (tmp / "pipelines").mkdir()
        print("generated pipelines (in-process = api.validate, best of 3; CLI = one cold process):")
        per_step = {}
        for n in (1_000, 5_000, 10_000):
            path = tmp / "pipelines" / f"gen{n}.yaml"
            path.write_text(generate(n))
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                result = api.validate([str(path)], cwd=tmp)
                best = min(best, time.perf_counter() - start)
            assert result.errors == 0, result.diagnostics[:3]
            cli = timed(AGENTCTL + ["validate", str(path)], tmp)
            per_step[n] = best / n
            print(f"  {n:>6,} steps ({path.stat().st_size / 1e6:4.1f} MB): in-process {best:6.3f} s "
                  f"({best / n * 1e6:5.1f} µs/step), CLI {cli:6.3f} s")
        print(f"  time per step, 10,000 vs 1,000: {per_step[10_000] / per_step[1_000]:.2f}x "
              "(1.0 = linear; 10.0 would be quadratic)")
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    cold_start()
    heavy_imports()
    scale()
