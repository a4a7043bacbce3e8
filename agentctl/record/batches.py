"""The journal's batch tables (migration 6): what `agentctl eval` writes and its reports read."""

from __future__ import annotations

import json
import time
from typing import Any


def start_batch(journal, batch_id: str, compiled, data_sha256: str) -> None:
    journal._write("INSERT INTO batches (id, eval, name, pipeline, data_sha256, eval_sha256, status, started) "
                   "VALUES (?, ?, ?, ?, ?, ?, 'running', ?)",
                   (batch_id, compiled.path, compiled.name, compiled.pipeline.path, data_sha256,
                    compiled.source_sha256, time.time()))


def row_done(journal, batch_id: str, row: dict[str, Any]) -> None:
    journal._write(
        "INSERT OR REPLACE INTO batch_rows (batch_id, row_id, attempt, row_number, run_id, status, passed, checks, "
        "error, usage, duration_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (batch_id, row["row_id"], row["attempt"], row["row_number"], row["run_id"], row["status"],
         int(row["passed"]), journal._json(row["checks"]), row["error"], json.dumps(row["usage"]),
         row["duration_s"]))


def finish_batch(journal, batch_id: str, status: str) -> None:
    journal._write("UPDATE batches SET status = ?, finished = ? WHERE id = ?", (status, time.time(), batch_id))


def batch_rows(journal, batch_id: str) -> list[dict[str, Any]]:
    rows = journal.db.execute("SELECT * FROM batch_rows WHERE batch_id = ? ORDER BY row_number, attempt",
                              (batch_id,)).fetchall()
    return [{**dict(r), "checks": json.loads(r["checks"] or "{}"), "usage": json.loads(r["usage"] or "{}"),
             "passed": bool(r["passed"])} for r in rows]
