"""What `agentctl eval` shows while it runs: rows done of the expected total, passing, failing,
errors, cost against the batch budget, and the time left at the pace so far. The terminal is
console.BatchProgress's."""

from __future__ import annotations

import time

from agentctl.evals.compile import CompiledEval


def expected_runs(compiled: CompiledEval, shard: tuple[int, int] | None, finished: int) -> int:
    """Runs still to do, estimated without parsing the data: a JSONL or CSV row is a line."""
    from agentctl.evals.data import rows

    if compiled.data.suffix in (".jsonl", ".csv"):
        with compiled.data.open("rb") as f:
            count = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))
        count -= compiled.data.suffix == ".csv"  # the header
    else:
        count = sum(1 for _ in rows(compiled.data))
    if shard:
        count = -(-count // shard[1])
    return max(0, count * compiled.repeat - finished)


class BatchView:
    def __init__(self, compiled: CompiledEval, batch, live: bool | None = None) -> None:
        self.compiled, self.batch, self.live = compiled, batch, live
        self.total = expected_runs(compiled, batch.shard, len(batch.progress.finished))
        self.done = self.passed = self.failed = self.errors = 0
        self.cost = 0.0
        self.started = time.monotonic()
        self.display = None
        batch.on_row = self.row

    def __enter__(self) -> "BatchView":
        from agentctl.console import BatchProgress

        self.display = BatchProgress(self.live, self.status).__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.display.__exit__(*exc)

    def row(self, record: dict) -> None:
        self.done += 1
        self.passed += record["passed"]
        self.failed += not record["passed"]
        self.errors += record["error"] is not None
        self.cost += record["usage"].get("cost_usd", 0.0)
        verdict = "pass" if record["passed"] else "FAIL"
        line = (f"row {record['row_number']} ({record['row_id']}): {verdict} [{record['status']}]"
                f"  {self.done}/{self.total}")
        self.display.update(line)

    def status(self) -> str:
        limit = self.compiled.limits.max_cost_usd
        cost = f"${self.cost:.4f}" + (f" of ${limit:.2f}" if limit is not None else "")
        elapsed = time.monotonic() - self.started
        left = max(0, self.total - self.done)
        eta = f", {elapsed / self.done * left:.0f} s left" if self.done else ""
        return (f"{self.done}/{self.total} runs · {self.passed} passing · {self.failed} failing · "
                f"{self.errors} errors · {cost} · {elapsed:.0f} s{eta}")
