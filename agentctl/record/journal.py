"""The run journal: an SQLite database under .agentctl/ that survives crashes.

WAL mode and a busy timeout let several runs share one journal; every write is committed before
it returns (a step's result before its dependents start; see docs/recording.md). This module and
journal_db.py (opening it, migrations) own every SQL statement agentctl runs. Everything written
passes through a Redactor first: secrets never reach the disk.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from agentctl.record.journal_db import MIGRATIONS, JournalError, connect, explained  # noqa: F401 - re-exported
from agentctl.record.redact import Redactor, to_json


@dataclass
class StepRecord:
    step: str
    scope: str
    status: str
    output: Any
    error: str | None
    usage: dict
    started: float | None
    finished: float | None
    redacted: bool = False  # the output held a secret: what is on disk is masked


@dataclass(frozen=True)
class ItemRecord:
    output: Any
    redacted: bool


class Journal:
    def __init__(self, path: Path, redactor: Redactor | None = None, read_only: bool = False) -> None:
        self.path = path
        self.db = connect(path, read_only)
        self.redact = redactor or Redactor(())

    def as_json(self, value: Any) -> str:
        return self.redact.json(value)

    def write(self, sql: str, params: tuple) -> None:
        try:
            self.db.execute(sql, params)  # autocommit: one statement, committed before it returns
        except sqlite3.DatabaseError as exc:
            raise explained(self.path, exc) from None

    def transaction(self, *writes: tuple[str, tuple]) -> None:
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in writes:
                    self.db.execute(sql, params)
                self.db.execute("COMMIT")
            except BaseException:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as exc:
            raise explained(self.path, exc) from None

    def as_text(self, value: str | None) -> str | None:
        return None if value is None else self.redact.text(value)

    # writes -------------------------------------------------------------------------------
    def start_run(self, run_id: str, pipeline: Any, inputs: dict, pid: int, role: str | None = None) -> None:
        prompts = {a.prompt.name: {"version": a.prompt.version, "sha256": a.prompt.sha256}
                   for a in pipeline.agents.values()}
        limits = {d.limit: v for d, v in pipeline.limits.items()}
        self.write(
            "INSERT INTO runs (id, pipeline, pipeline_version, path, root, source_sha256, prompts, inputs, status,"
            " limits, pid, started, role) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?)"
            " ON CONFLICT(id) DO UPDATE SET status = 'running', exit_reason = NULL, pid = excluded.pid",
            (run_id, pipeline.name, pipeline.version, pipeline.path, pipeline.root, pipeline.source_sha256,
             json.dumps(prompts), self.as_json(inputs), json.dumps(limits), pid, time.time(), role))

    def set_trace(self, run_id: str, trace_id: int, root_span_id: int) -> None:
        """The trace of the run's first attempt: continuations join it."""
        self.write("UPDATE runs SET trace = ? WHERE id = ?",
                    (json.dumps({"trace_id": f"{trace_id:032x}", "root": f"{root_span_id:016x}"}), run_id))

    def claim(self, run_id: str, pid: int, check: Callable[[sqlite3.Row], None]) -> None:
        """Takes a stopped run for process `pid`, atomically: of several resumes started at once,
        exactly one gets it. `check` sees the run's row inside the transaction and raises to refuse."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            row = self.run(run_id)
            check(row)
            self.db.execute("UPDATE runs SET status = 'running', exit_reason = NULL, pid = ? WHERE id = ?",
                            (pid, run_id))
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise

    def finish_run(self, run_id: str, status: str, reason: str | None, outputs: Any, usage: dict) -> None:
        self.write("UPDATE runs SET status = ?, exit_reason = ?, outputs = ?, usage = ?, finished = ? WHERE id = ?",
                        (status, self.as_text(reason), self.as_json(outputs), json.dumps(usage), time.time(), run_id))

    def step(self, run_id: str, step: str, scope: str, status: str, output: Any, error: str | None,
             usage: dict, started: float | None, attempts: list[tuple[str, dict]] = (),
             run_usage: dict | None = None) -> None:
        """A step's result, with the model attempts made for it and what the run has used so far,
        in one transaction. A step run again (a resume after a failure) keeps its earlier
        attempts: the JSON arrays are joined ('[a]' + '[b]' -> '[a,b]')."""
        output_json, masked = self._output(output)
        self.transaction(self._run_usage(run_id, run_usage), (
            "INSERT INTO steps (run_id, step, scope, status, output, error, usage, started, finished, attempts, redacted)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, step, scope) DO UPDATE SET"
            " status = excluded.status, output = excluded.output, error = excluded.error, usage = excluded.usage,"
            " redacted = excluded.redacted,"
            " started = excluded.started, finished = excluded.finished, attempts = CASE"
            " WHEN steps.attempts IS NULL THEN excluded.attempts WHEN excluded.attempts IS NULL THEN steps.attempts"
            " ELSE substr(steps.attempts, 1, length(steps.attempts) - 1) || ',' || substr(excluded.attempts, 2) END",
            (run_id, step, scope, status, output_json, self.as_text(error), json.dumps(usage), started,
             time.time(), self._attempts_json(attempts), masked)))

    def _output(self, value: Any) -> tuple[str, int]:
        text, masked = self.redact.json_masked(value)
        return text, int(masked)

    @staticmethod
    def _run_usage(run_id: str, usage: dict | None) -> tuple[str, tuple]:
        """Kept current with every result, so a resume after a crash knows what was spent."""
        return "UPDATE runs SET usage = coalesce(?, usage) WHERE id = ?", (json.dumps(usage) if usage else None, run_id)

    def item(self, run_id: str, step: str, scope: str, index: int, output: Any,
             attempts: list[tuple[str, dict]] = (), run_usage: dict | None = None) -> None:
        """One finished item of a for_each step, with the model attempts made for it."""
        self.transaction(self._run_usage(run_id, run_usage), (
            "INSERT OR REPLACE INTO items (run_id, step, scope, idx, output, redacted, attempts, finished)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, step, scope, index, *self._output(output), self._attempts_json(attempts), time.time())))

    def attempts_only(self, run_id: str, attempts: list[tuple[str, dict]]) -> None:
        """Attempts of steps that never finished (cancelled, interrupted) have no step row."""
        if attempts:
            self.db.executemany(
                "INSERT INTO attempts (run_id, step, model, attempt, state, error, input_tokens, output_tokens,"
                " cost_usd, duration_s, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(run_id, step, *self._attempt(d).values()) for step, d in attempts])

    def _attempts_json(self, attempts: list[tuple[str, dict]]) -> str | None:
        # Only an attempt's error can hold a secret, and _attempt masks it: no walk needed.
        return to_json([self._attempt(d) for _, d in attempts]) if attempts else None

    def _attempt(self, d: dict) -> dict:
        return {"model": d.get("model"), "attempt": d.get("attempt"), "state": d.get("state"),
                "error": self.as_text(d.get("error")) if d.get("error") else None,
                "input_tokens": d.get("input_tokens"), "output_tokens": d.get("output_tokens"),
                "cost_usd": d.get("cost_usd"), "duration_s": d.get("duration_s"), "at": time.time()}

    def tool_call(self, run_id: str, key: str, step: str, tool: str, args: Any, result: Any, status: str,
                  error: str | None, run_usage: dict | None = None, allowed_by: str = "") -> None:
        """A tool call's result, with what the run has used so far: a resume gives the result back
        without a call, so the call must already be counted in the run's usage. `allowed_by`: the
        policy rule that allowed it, for the audit."""
        self.transaction(self._run_usage(run_id, run_usage), (
            "INSERT OR REPLACE INTO tool_calls (run_id, key, step, tool, args, result, redacted, status, error, at,"
            " allowed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, key, step, tool, self.as_json(args), *self._output(result), status, self.as_text(error), time.time(),
             allowed_by or None)))

    def answer(self, run_id: str, work: str, index: int, request_key: str, model: str, response: dict,
               run_usage: dict | None = None) -> None:
        """An answered model call, with what the run has used so far (this call included), for the
        same reason as tool_call: a resume serves it from here without paying again."""
        self.transaction(self._run_usage(run_id, run_usage), (
            "INSERT OR REPLACE INTO answers (run_id, work, idx, request_key, model, response, redacted, at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, work, index, request_key, model, *self._output(response), time.time())))

    def answers(self, run_id: str) -> dict[tuple[str, int], tuple[str, str, dict]]:
        """Answers a resume can give back: (work, index) -> (request key, model, response); an
        answer that held a secret is masked on disk, so it is asked again instead."""
        rows = self.db.execute("SELECT work, idx, request_key, model, response FROM answers"
                               " WHERE run_id = ? AND redacted = 0", (run_id,))
        return {(r["work"], r["idx"]): (r["request_key"], r["model"], json.loads(r["response"])) for r in rows}

    def approval_asked(self, run_id: str, step: str, subject: str, approver: str, message: str, context: Any) -> None:
        self.write(
            "INSERT INTO approvals (run_id, step, subject, approver, message, context, at) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(run_id, step, subject) DO NOTHING",
            (run_id, step, subject, approver, self.as_text(message), self.as_json(context), time.time()))

    def decide(self, run_id: str, step: str, subject: str, approved: bool, by: str) -> None:
        self.write(
            "INSERT INTO approvals (run_id, step, subject, decision, decided_by, at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(run_id, step, subject) DO UPDATE SET decision = excluded.decision,"
            " decided_by = excluded.decided_by, at = excluded.at",
            (run_id, step, subject, "approved" if approved else "denied", by, time.time()))

    # reads --------------------------------------------------------------------------------
    def run(self, run_id: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()

    def runs(self, pipeline: str | None = None, statuses: tuple[str, ...] = (), limit: int = 50) -> list[sqlite3.Row]:
        query, args = "SELECT * FROM runs WHERE 1=1", []
        if pipeline:
            query, args = query + " AND pipeline = ?", args + [pipeline]
        if statuses:
            query, args = query + f" AND status IN ({', '.join('?' * len(statuses))})", args + list(statuses)
        return self.db.execute(query + " ORDER BY started DESC LIMIT ?", (*args, limit)).fetchall()

    def steps(self, run_id: str) -> list[StepRecord]:
        rows = self.db.execute("SELECT * FROM steps WHERE run_id = ? ORDER BY finished", (run_id,)).fetchall()
        return [StepRecord(r["step"], r["scope"], r["status"], json.loads(r["output"]) if r["output"] else None,
                           r["error"], json.loads(r["usage"] or "{}"), r["started"], r["finished"], bool(r["redacted"]))
                for r in rows]

    def items(self, run_id: str) -> dict[tuple[str, str, int], ItemRecord]:
        """Finished fan-out items, by (step, scope, index)."""
        rows = self.db.execute("SELECT step, scope, idx, output, redacted FROM items WHERE run_id = ?", (run_id,))
        return {(r["step"], r["scope"], r["idx"]): ItemRecord(json.loads(r["output"]) if r["output"] else None,
                                                              bool(r["redacted"])) for r in rows}

    def journaled_call(self, run_id: str, key: str, tool: str, args: Any) -> tuple[str, Any]:
        """What the journal holds under `key`: ("done", result) when this very call (same tool,
        same arguments, as written: redacted) succeeded; ("masked", None) when it succeeded but its
        result held a secret (masked on disk, so it cannot be given back); ("other", None) when
        another call was journaled under it; ("new", None) otherwise (nothing, or this call failed)."""
        row = self.db.execute("SELECT tool, args, result, redacted, status FROM tool_calls WHERE run_id = ? AND key = ?",
                              (run_id, key)).fetchone()
        if row is None:
            return "new", None
        if row["tool"] != tool or json.loads(row["args"]) != json.loads(self.as_json(args)):
            return "other", None
        if row["status"] != "succeeded":
            return "new", None
        return ("masked", None) if row["redacted"] else ("done", json.loads(row["result"]))

    def decision(self, run_id: str, step: str, subject: str) -> tuple[bool, str] | None:
        row = self.db.execute("SELECT decision, decided_by FROM approvals WHERE run_id = ? AND step = ? AND subject = ?"
                              " AND decision IS NOT NULL", (run_id, step, subject)).fetchone()
        return (row["decision"] == "approved", row["decided_by"]) if row else None

    def pending_approvals(self, run_id: str) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM approvals WHERE run_id = ? AND decision IS NULL", (run_id,)).fetchall()

    def attempts(self, run_id: str) -> list[dict]:
        """Every model attempt of a run, oldest first: those on step rows and those on their own."""
        found = [dict(r) for r in self.db.execute(
            "SELECT step, model, attempt, state, error, input_tokens, output_tokens, cost_usd, duration_s, at"
            " FROM attempts WHERE run_id = ?", (run_id,))]
        for table in ("steps", "items"):
            for row in self.db.execute(f"SELECT step, attempts FROM {table} WHERE run_id = ? AND attempts IS NOT NULL",
                                       (run_id,)):
                found += [{"step": row["step"], **a} for a in json.loads(row["attempts"])]
        return sorted(found, key=lambda a: a["at"] or 0.0)

    def close(self) -> None:
        self.db.close()
