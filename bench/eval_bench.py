"""Eval benchmarks (issue 12). Prints figures; asserts nothing.

    bash bench/setup.sh && .venv/bin/python bench/eval_bench.py [--rows 10000] [--concurrency 64]

Against the local OpenAI-compatible server (its own process) at 50 ms latency, through the same
litellm path, in one process:
1. Throughput: ROWS rows x a 2-agent-step pipeline at concurrency C, `agentctl eval` (journal,
   batch tables, one trace file, admission, progress lines) vs asyncio.gather of the same
   2 x ROWS litellm calls, C rows in flight, each row's two calls in sequence. Target: ratio <= 1.3.
   agentctl freezes the objects loaded before the batch (gc.freeze); the gather side is run
   again with the same treatment, to show what is agentctl's own cost.
2. Peak memory (max RSS of this process, which ran both sides). Target: <= 600 MB.
3. Journal size per row.
4. Resume of the batch with its last 10% of rows removed: time from `agentctl resume BATCH` to
   the first new row started (a row is recorded as it starts, just before its first request),
   in a fresh process (start-up included) and in this one. Target: < 2 s, not growing with the
   finished rows.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import json
import os
import resource
import sqlite3
import subprocess
import sys
import textwrap
import time
from contextlib import redirect_stderr
from pathlib import Path

from harness import REPO, ServerProcess, chain, project

EVAL = """apiVersion: agentctl/v1
pipeline: pipelines/b.yaml
data: evals/rows.jsonl
row_id: ${{{{ row.id }}}}
inputs: {{}}
checks:
  - {{name: answered, expect: "${{{{ outputs.last == 'ok' }}}}"}}
concurrency: {concurrency}
"""


def make_eval(server, rows: int, concurrency: int) -> Path:
    pipeline = project(server, chain(2), "{max_llm_calls: 4, max_cost_usd: 0.01}")
    root = pipeline.parent.parent
    text = pipeline.read_text() + "outputs:\n  last: ${{ steps.s1.output }}\n"
    pipeline.write_text(text)
    (root / "evals").mkdir()
    with (root / "evals" / "rows.jsonl").open("w") as f:
        for i in range(rows):
            f.write(json.dumps({"id": f"r{i}"}) + "\n")
    (root / "evals" / "b.eval.yaml").write_text(textwrap.dedent(EVAL.format(concurrency=concurrency)))
    return root


async def gather_side(server, rows: int, concurrency: int) -> float:
    import litellm

    from bench.run_bench import call_kwargs

    slots = asyncio.Semaphore(concurrency)

    async def row(i: int) -> None:
        async with slots:
            first = await litellm.acompletion(**call_kwargs(server, "start"))
            await litellm.acompletion(**call_kwargs(server, f"{first.choices[0].message.content} 1"))

    start = time.perf_counter()
    await asyncio.gather(*(row(i) for i in range(rows)))
    return time.perf_counter() - start


def agentctl_side(root: Path) -> tuple[float, str]:
    from agentctl.evals import command

    os.chdir(root)
    compiled = command.load("evals/b.eval.yaml", root)
    start = time.perf_counter()
    with redirect_stderr(io.StringIO()):
        outcome = command.run(compiled, command.Options())
    elapsed = time.perf_counter() - start
    assert "passed" in outcome.text, outcome.text
    return elapsed, outcome.report["batch_id"]


def cut_last_tenth(root: Path, batch_id: str, rows: int) -> int:
    db = sqlite3.connect(root / ".agentctl" / "journal.db")
    cut = db.execute("DELETE FROM batch_rows WHERE batch_id = ? AND row_number > ?", (batch_id, rows - rows // 10)).rowcount
    db.execute("UPDATE batches SET status = 'interrupted' WHERE id = ?", (batch_id,))
    db.commit()
    db.close()
    return cut


def first_new_row_in_fresh_process(root: Path, batch_id: str) -> float:
    db_path = root / ".agentctl" / "journal.db"
    before = sqlite3.connect(db_path).execute("SELECT COUNT(*) FROM batch_rows WHERE batch_id = ?",
                                              (batch_id,)).fetchone()[0]
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "agentctl", "resume", batch_id], cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = sqlite3.connect(db_path)
    while True:
        count = db.execute("SELECT COUNT(*) FROM batch_rows WHERE batch_id = ?", (batch_id,)).fetchone()[0]
        if count > before:
            elapsed = time.perf_counter() - start
            break
        if proc.poll() is not None:
            raise RuntimeError("resume ended before starting a row")
        time.sleep(0.002)
    proc.wait(timeout=600)
    return elapsed


def first_new_row_in_process(root: Path, batch_id: str) -> float:
    """command.resume up to the first row started, measured by wrapping the journal write."""
    from agentctl.evals import command
    from agentctl.record import batches

    started: list[float] = []
    original = batches.row_started

    def noted(*args, **kw):
        if not started:
            started.append(time.perf_counter())
        return original(*args, **kw)

    batches.row_started = noted
    try:
        start = time.perf_counter()
        with redirect_stderr(io.StringIO()):
            command.resume(batch_id, root, False, command.Outputs())
    finally:
        batches.row_started = original
    return started[0] - start


def journal_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in (root / ".agentctl").glob("journal.db*"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    server = ServerProcess(delay_s=0.05)
    try:
        root = make_eval(server, args.rows, args.concurrency)
        asyncio.run(gather_side(server, 64, args.concurrency))  # warm litellm's client
        plain = asyncio.run(gather_side(server, args.rows, args.concurrency))
        ours, batch_id = agentctl_side(root)
        gc.freeze()  # the same treatment agentctl gives its batch (evals/command.py), for a fair second baseline
        frozen = asyncio.run(gather_side(server, args.rows, args.concurrency))
        gc.unfreeze()
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{args.rows} rows x 2 agent steps, concurrency {args.concurrency}, server latency 50 ms:")
        print(f"  asyncio.gather of {2 * args.rows} litellm calls: {plain:7.1f} s ({args.rows / plain:5.1f} rows/s)")
        print(f"  agentctl eval:                          {ours:7.1f} s ({args.rows / ours:5.1f} rows/s)")
        print(f"  ratio: {ours / plain:.3f} (target <= 1.3)")
        print(f"  asyncio.gather again, after gc.freeze() as agentctl does: {frozen:7.1f} s; ratio {ours / frozen:.3f}")
        print(f"  peak RSS of this process (both sides): {peak_mb:.0f} MB (target <= 600)")
        size = journal_bytes(root)
        print(f"  journal: {size / 1e6:.1f} MB, {size / args.rows / 1024:.1f} KB per row (runs, steps, answers, "
              f"batch rows); trace file {(root / '.agentctl' / 'traces' / f'batch-{batch_id}.jsonl').stat().st_size / args.rows / 1024:.1f} KB per row")
        cut = cut_last_tenth(root, batch_id, args.rows)
        fresh = first_new_row_in_fresh_process(root, batch_id)
        cut_last_tenth(root, batch_id, args.rows)
        inside = first_new_row_in_process(root, batch_id)
        print(f"  resume with {args.rows - cut} of {args.rows} rows finished: first new row started after "
              f"{fresh:.2f} s in a fresh process (start-up included), {inside:.2f} s in this one (target < 2 s)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
