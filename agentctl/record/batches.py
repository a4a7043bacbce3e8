"""The journal's batch tables (migrations 6 and 7): what `agentctl eval` writes, and what its
reports, `eval show` and a batch's resume read."""

from __future__ import annotations

import json
import time
from typing import Any

from agentctl.dimensions import COUNTED, Usage
from agentctl.errors import UsageError

FINAL = ("succeeded", "failed", "invalid", "paused", "budget_exceeded", "interrupted", "denied")


def start_batch(journal, batch_id: str, compiled, data_sha256: str, pipeline_sha256: str, config: dict,
                options: dict) -> None:
    journal.write("INSERT INTO batches (id, eval, name, pipeline, data_sha256, eval_sha256, status, started, "
                   "pipeline_sha256, config, options) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?)",
                   (batch_id, compiled.path, compiled.name, compiled.pipeline.path, data_sha256,
                    compiled.source_sha256, time.time(), pipeline_sha256, json.dumps(config), json.dumps(options)))


def row_started(journal, batch_id: str, row_id: str, attempt: int, row_number: int, run_id: str) -> None:
    """Before the row's run starts: a resume finds the run and continues it at the step level."""
    journal.write("INSERT OR REPLACE INTO batch_rows (batch_id, row_id, attempt, row_number, run_id, status, passed, "
                   "checks, usage) VALUES (?, ?, ?, ?, ?, 'running', 0, '{}', '{}')",
                   (batch_id, row_id, attempt, row_number, run_id))


def row_done(journal, batch_id: str, row: dict[str, Any]) -> None:
    journal.write(
        "INSERT OR REPLACE INTO batch_rows (batch_id, row_id, attempt, row_number, run_id, status, passed, checks, "
        "error, usage, duration_s, metrics) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (batch_id, row["row_id"], row["attempt"], row["row_number"], row["run_id"], row["status"],
         int(row["passed"]), journal.as_json(row["checks"]), row["error"], json.dumps(row["usage"]),
         row["duration_s"], json.dumps(row.get("metrics") or {})))


def finish_batch(journal, batch_id: str, status: str) -> None:
    journal.write("UPDATE batches SET status = ?, finished = ? WHERE id = ?", (status, time.time(), batch_id))


def reopen_batch(journal, batch_id: str) -> None:
    journal.write("UPDATE batches SET status = 'running', finished = NULL WHERE id = ?", (batch_id,))


def set_pid(journal, batch_id: str, pid: int) -> None:
    journal.write("UPDATE batches SET options = json_set(options, '$.pid', ?) WHERE id = ?", (pid, batch_id))


def batch(journal, batch_id: str) -> dict[str, Any]:
    found = journal.db.execute("SELECT * FROM batches WHERE id = ?", (batch_id,)).fetchone()
    if found is None:
        raise UsageError(f"no batch {batch_id} in {journal.path}", "batches are recorded by `agentctl eval`")
    return {**dict(found), "config": json.loads(found["config"] or "{}"),
            "options": json.loads(found["options"] or "{}")}


def is_batch(journal, batch_id: str) -> bool:
    return journal.db.execute("SELECT 1 FROM batches WHERE id = ?", (batch_id,)).fetchone() is not None


def batch_rows(journal, batch_id: str) -> list[dict[str, Any]]:
    """The rows that finished (a row still running, or cut off by a crash, is not in a report)."""
    rows = journal.db.execute("SELECT row_id, attempt, row_number, run_id, status, passed, checks, metrics, error, "
                              "usage, duration_s FROM batch_rows WHERE batch_id = ? AND status != 'running' "
                              "ORDER BY row_number, attempt", (batch_id,))  # a cursor: rows are not all held twice
    return [{**dict(r), "checks": json.loads(r["checks"] or "{}"), "usage": json.loads(r["usage"] or "{}"),
             "metrics": json.loads(r["metrics"] or "{}"), "passed": bool(r["passed"])} for r in rows]


def progress(journal, batch_id: str) -> tuple[set, dict, Usage]:
    """For a resume: the (row, attempt) pairs finished, the runs of those cut off while running, and
    what the finished rows spent (summed by SQLite: a resume does not read every row's record)."""
    finished, running = set(), {}
    for r in journal.db.execute("SELECT row_id, attempt, status, run_id FROM batch_rows WHERE batch_id = ?",
                                (batch_id,)):
        if r["status"] == "running":
            running[(r["row_id"], r["attempt"])] = r["run_id"]
        else:
            finished.add((r["row_id"], r["attempt"]))
    sums = ", ".join(f"SUM(json_extract(usage, '$.{d.name}'))" for d in COUNTED)
    totals = journal.db.execute(f"SELECT {sums} FROM batch_rows WHERE batch_id = ? AND status != 'running'",
                                (batch_id,)).fetchone()
    return finished, running, Usage.from_dict({d.name: total for d, total in zip(COUNTED, totals)})


def batches(journal, limit: int = 20) -> list[dict[str, Any]]:
    return [dict(r) for r in journal.db.execute("SELECT id, eval, status, started, finished FROM batches "
                                               "ORDER BY started DESC LIMIT ?", (limit,))]
