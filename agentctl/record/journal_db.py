"""Opening the run journal: connection settings (WAL, busy timeout), the schema migrations
(registered with @migration(N), applied in order, one process at a time), and SQLite's errors
explained for the user. journal.py reads and writes it.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Callable

from agentctl.errors import AgentctlError

MIGRATIONS: list[tuple[int, Callable[[sqlite3.Connection], None]]] = []


def migration(version: int):
    def register(fn: Callable[[sqlite3.Connection], None]):
        MIGRATIONS.append((version, fn))
        MIGRATIONS.sort(key=lambda m: m[0])
        return fn
    return register


def _script(db: sqlite3.Connection, sql: str) -> None:
    """Statement by statement: executescript() would commit the migration's transaction early."""
    for statement in sql.split(";"):
        if statement.strip():
            db.execute(statement)


@migration(1)
def _initial(db: sqlite3.Connection) -> None:
    _script(db, """
        CREATE TABLE runs (
            id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, pipeline_version TEXT, path TEXT, root TEXT,
            source_sha256 TEXT, prompts TEXT, inputs TEXT, status TEXT NOT NULL, exit_reason TEXT,
            outputs TEXT, usage TEXT, limits TEXT, pid INTEGER, started REAL, finished REAL);
        CREATE INDEX runs_by_pipeline ON runs (pipeline, status);
        CREATE TABLE steps (
            run_id TEXT NOT NULL, step TEXT NOT NULL, scope TEXT NOT NULL DEFAULT '', status TEXT NOT NULL,
            output TEXT, error TEXT, usage TEXT, started REAL, finished REAL,
            PRIMARY KEY (run_id, step, scope));
        CREATE TABLE attempts (
            run_id TEXT NOT NULL, step TEXT NOT NULL, model TEXT, attempt INTEGER, state TEXT, error TEXT,
            input_tokens INTEGER, output_tokens INTEGER, cost_usd REAL, duration_s REAL, at REAL);
        CREATE TABLE tool_calls (
            run_id TEXT NOT NULL, key TEXT NOT NULL, step TEXT, tool TEXT, args TEXT, result TEXT,
            status TEXT, error TEXT, at REAL, PRIMARY KEY (run_id, key));
        CREATE TABLE approvals (
            run_id TEXT NOT NULL, step TEXT NOT NULL, subject TEXT NOT NULL DEFAULT '', approver TEXT,
            message TEXT, context TEXT, decision TEXT, decided_by TEXT, at REAL,
            PRIMARY KEY (run_id, step, subject));
    """)


@migration(2)
def _step_rows_carry_their_attempts(db: sqlite3.Connection) -> None:
    """A step's result and its model attempts in one row: one INSERT per finished step, which
    SQLite commits on its own, instead of BEGIN, two INSERTs and COMMIT (30 -> 18 µs per step
    measured here; more between litellm calls). The primary key is the table (WITHOUT ROWID), so
    one B-tree changes, not two. The attempts table keeps older rows and the attempts of steps
    that never finished."""
    _script(db, """
        CREATE TABLE steps_v2 (
            run_id TEXT NOT NULL, step TEXT NOT NULL, scope TEXT NOT NULL DEFAULT '', status TEXT NOT NULL,
            output TEXT, error TEXT, usage TEXT, started REAL, finished REAL, attempts TEXT,
            PRIMARY KEY (run_id, step, scope)) WITHOUT ROWID;
        INSERT INTO steps_v2 (run_id, step, scope, status, output, error, usage, started, finished)
            SELECT run_id, step, scope, status, output, error, usage, started, finished FROM steps;
        DROP TABLE steps;
        ALTER TABLE steps_v2 RENAME TO steps
    """)


@migration(3)
def _fan_out_items(db: sqlite3.Connection) -> None:
    """Each item of a for_each step, committed as it finishes: a resume runs only the rest."""
    db.execute("""
        CREATE TABLE items (
            run_id TEXT NOT NULL, step TEXT NOT NULL, scope TEXT NOT NULL DEFAULT '', idx INTEGER NOT NULL,
            output TEXT, attempts TEXT, finished REAL,
            PRIMARY KEY (run_id, step, scope, idx)) WITHOUT ROWID
    """)


class JournalError(AgentctlError):
    """The journal cannot be read or written: what is wrong, which file, what to do."""

    unwritable = False  # the folder or file cannot be written (it may still be read)
    full = False  # the disk is full: what was committed is kept, and a started run can be resumed

    def resumed_by(self, target: str) -> "JournalError":
        """For a run or batch already in the journal: a full disk's hint names its resume."""
        if self.full:
            self.hint = f"free disk space, then continue with: agentctl resume {target}"
        return self


def explained(path: Path, exc: BaseException) -> JournalError:
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        return JournalError(f"{path} is not a readable run journal ({text})",
                            f"move it aside (mv {path} {path}.broken): agentctl starts a new journal, "
                            "and the old runs stay in the moved file")
    if "readonly" in text or "read-only" in text or "unable to open" in text or isinstance(exc, PermissionError):
        error = JournalError(f"cannot write the run journal {path} ({text})",
                             f"make {path.parent} writable, or run from a project folder you can write to")
        error.unwritable = True
        return error
    if "full" in text or "I/O" in text or isinstance(exc, OSError):
        error = JournalError(f"cannot write the run journal {path} ({text})",
                             "free disk space and run it again; what was committed before is kept")
        error.full = True
        return error
    return JournalError(f"the run journal {path} failed: {text}")


def connect(path: Path, read_only: bool = False) -> sqlite3.Connection:
    """`read_only`: for commands that only read (runs list, runs show): when the journal cannot be
    opened for writing (a read-only folder or file system), open it as an immutable file."""
    try:
        return _connect(path)
    except (sqlite3.DatabaseError, OSError) as exc:
        error = explained(path, exc)
        if not (read_only and error.unwritable and path.is_file()):
            raise error from None
    try:
        return _connect_immutable(path)
    except sqlite3.DatabaseError as exc:
        raise explained(path, exc) from None


def _connect_immutable(path: Path) -> sqlite3.Connection:
    """No locks and no -wal/-shm files, so nothing is written; only safe while nothing writes it,
    which an unwritable journal guarantees."""
    db = sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True, check_same_thread=False)
    db.row_factory = sqlite3.Row
    if db.execute("PRAGMA user_version").fetchone()[0] < MIGRATIONS[-1][0]:
        db.close()
        raise sqlite3.DatabaseError("read-only, and written by an older agentctl: it cannot be upgraded")
    return db


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA busy_timeout = 30000")
    _with_retries(lambda: db.execute("PRAGMA journal_mode = WAL"))
    db.execute("PRAGMA synchronous = NORMAL")
    db.row_factory = sqlite3.Row
    _with_retries(lambda: _migrate(db))
    return db


def _with_retries(action: Callable[[], object], seconds: float = 30.0) -> None:
    """Switching to WAL, or starting the migration transaction, can report "database is locked"
    without waiting for the busy timeout while other processes create the same journal."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            action()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _migrate(db: sqlite3.Connection) -> None:
    if db.execute("PRAGMA user_version").fetchone()[0] >= MIGRATIONS[-1][0]:
        return
    db.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait, then see it done
    try:
        current = db.execute("PRAGMA user_version").fetchone()[0]
        for version, apply in MIGRATIONS:
            if version > current:
                apply(db)
                db.execute(f"PRAGMA user_version = {int(version)}")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


@migration(4)
def _redacted_flags(db: sqlite3.Connection) -> None:
    """Whether a result held a secret (masked on disk): a resume cannot give it back as it was."""
    _script(db, """
        ALTER TABLE steps ADD COLUMN redacted INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE items ADD COLUMN redacted INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE tool_calls ADD COLUMN redacted INTEGER NOT NULL DEFAULT 0
    """)


@migration(5)
def _answers(db: sqlite3.Connection) -> None:
    """Every answered model call, by its work and position: a resumed agent asking the same thing
    again gets the answer back without paying for it twice."""
    db.execute("""
        CREATE TABLE answers (
            run_id TEXT NOT NULL, work TEXT NOT NULL, idx INTEGER NOT NULL, request_key TEXT NOT NULL,
            model TEXT, response TEXT, redacted INTEGER NOT NULL DEFAULT 0, at REAL,
            PRIMARY KEY (run_id, work, idx)) WITHOUT ROWID
    """)


@migration(6)
def _batches(db: sqlite3.Connection) -> None:
    """`agentctl eval`: a batch (the eval file, its data's hash), and each row's runs with the
    result of its checks. Reports are built from these rows, never from a stream of results."""
    _script(db, """
        CREATE TABLE batches (
            id TEXT PRIMARY KEY, eval TEXT NOT NULL, name TEXT, pipeline TEXT, data_sha256 TEXT,
            eval_sha256 TEXT, status TEXT NOT NULL, started REAL, finished REAL);
        CREATE TABLE batch_rows (
            batch_id TEXT NOT NULL, row_id TEXT NOT NULL, attempt INTEGER NOT NULL, row_number INTEGER,
            run_id TEXT, status TEXT, passed INTEGER, checks TEXT, error TEXT, usage TEXT, duration_s REAL,
            PRIMARY KEY (batch_id, row_id, attempt)) WITHOUT ROWID
    """)


@migration(7)
def _batch_resume(db: sqlite3.Connection) -> None:
    """A batch remembers what it needs to be resumed and reported without its files: the
    pipeline's hash, the eval's configuration (checks, thresholds) and the command's options; a
    row is recorded when it starts (status running, with its run), so a resume continues it."""
    _script(db, """
        ALTER TABLE batches ADD COLUMN pipeline_sha256 TEXT;
        ALTER TABLE batches ADD COLUMN config TEXT;
        ALTER TABLE batches ADD COLUMN options TEXT
    """)


@migration(8)
def _batch_metrics(db: sqlite3.Connection) -> None:
    """A row's metrics (the eval's `metrics:`), aggregated by the report."""
    db.execute("ALTER TABLE batch_rows ADD COLUMN metrics TEXT")


@migration(9)
def _run_trace(db: sqlite3.Connection) -> None:
    """A run's trace id and root span: a resumed or approved run continues the same trace."""
    db.execute("ALTER TABLE runs ADD COLUMN trace TEXT")


@migration(10)
def _refusals(db: sqlite3.Connection) -> None:
    """Tool calls refused before they ran (a precondition, a bound argument, a tool not given):
    with tool_calls and approvals, every permission decision of a run (`runs show --audit`)."""
    db.execute("CREATE TABLE refusals (run_id TEXT NOT NULL, step TEXT, tool TEXT, reason TEXT, at REAL)")


@migration(11)
def _policy(db: sqlite3.Connection) -> None:
    """The role a run took (its policy decided by it), and the policy rule that allowed each call."""
    db.execute("ALTER TABLE runs ADD COLUMN role TEXT")
    db.execute("ALTER TABLE tool_calls ADD COLUMN allowed_by TEXT")
