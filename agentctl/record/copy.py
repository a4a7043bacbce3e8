"""Moving a chunk's records between journals (a cluster batch, evals/cluster.py): a worker runs its
chunk of rows in a journal of its own on its local disk, and the driver copies the finished rows'
records into the project journal, which stays the only source for reports, `eval show` and
resume. Both journals are at the same migration (the workers run the driver's agentctl), so every
table is copied by its columns, without a list of them here to keep in step."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

_SKIPPED = ("batches", "schema_version", "sqlite_sequence")  # the driver owns the batch's own record


def export_chunk(journal, chunk_id: str, root: Path) -> dict[str, Any]:
    """Every record of the chunk's finished rows: their batch rows and everything of their runs
    (and their judges' runs: the chunk journal holds this chunk's runs only). A row still running
    is left out; a retry of the chunk finishes it. Run paths become relative to the project root."""
    db = journal.db
    finished = [r for r in db.execute("SELECT * FROM batch_rows WHERE batch_id = ? AND status != 'running'",
                                      (chunk_id,))]
    running = {r["run_id"] for r in db.execute("SELECT run_id FROM batch_rows WHERE batch_id = ? AND "
                                               "status = 'running'", (chunk_id,))}
    tables: dict[str, dict[str, Any]] = {"batch_rows": _rows(finished)}
    for table in _tables(db):
        if table == "batch_rows":
            continue
        column = "id" if table == "runs" else "run_id"
        found = [r for r in db.execute(f"SELECT * FROM {table}") if r[column] not in running]  # noqa: S608
        if table == "runs":
            found = [{**dict(r), "path": _relative(r["path"], root), "root": ""} for r in found]
        tables[table] = _rows(found)
    return tables


def import_chunk(journal, batch_id: str, tables: dict[str, dict[str, Any]], root: str) -> None:
    """A chunk's records into the project journal in one transaction, its rows under `batch_id`;
    copying a chunk twice (a retried chunk that had finished) replaces what the first copy wrote."""
    writes = []
    for table, found in tables.items():
        columns = found["columns"]
        if not found["rows"]:
            continue
        if table == "batch_rows":
            at = columns.index("batch_id")
            found = {**found, "rows": [row[:at] + [batch_id] + row[at + 1:] for row in found["rows"]]}
        if table == "runs":
            at = columns.index("root")
            found = {**found, "rows": [row[:at] + [root] + row[at + 1:] for row in found["rows"]]}
        sql = (f"INSERT OR REPLACE INTO {table} ({', '.join(columns)}) "  # noqa: S608 (names from the schema)
               f"VALUES ({', '.join('?' * len(columns))})")
        writes += [(sql, tuple(row)) for row in found["rows"]]
    journal.transaction(*writes)


def _tables(db) -> list[str]:
    names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return [n for n in names if n not in _SKIPPED and _has_run(db, n)]


def _has_run(db, table: str) -> bool:
    columns = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
    return "run_id" in columns or table == "runs"


def _rows(rows: list) -> dict[str, Any]:
    if not rows:
        return {"columns": [], "rows": []}
    columns = list(rows[0].keys())
    return {"columns": columns, "rows": [[r[c] for c in columns] for r in rows]}


def _relative(path: str | None, root: Path) -> str | None:
    if not path:
        return path
    full = Path(path) if os.path.isabs(path) else Path.cwd() / path
    try:
        return os.path.relpath(full.resolve(), Path(root).resolve())
    except ValueError:
        return path
