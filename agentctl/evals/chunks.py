"""A batch cut into chunks of rows for a cluster (evals/cluster.py owns Dask; nothing here imports
it): the plan, the budget lease each chunk gets from the driver, and the run of one chunk on a
worker, which is the in-process batch runner (evals/batch.py) over the chunk's rows, journaled in
a file of the chunk's own on the worker's local disk.

A chunk's journal is named by the batch and the chunk, not by the process: a chunk retried after
its worker died, on a worker of the same machine, finds the rows it committed and skips them.
Its rows' run ids are derived from the batch and the row, so a row re-done elsewhere (another
machine, or a resumed batch, whose chunks are new) keeps its idempotency keys (`run:step:index`),
and a tool that honours them does its side effect once."""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from agentctl.dimensions import COUNTED, Usage

CHUNK_ROWS = 500  # rows per chunk by default: a chunk's start-up (compile, tools) is paid once per chunk


@dataclass(frozen=True)
class ChunkSpec:
    """What a worker needs to run one chunk; sent with the task."""

    batch_id: str
    index: int
    eval_path: str  # relative to the project root
    keys: tuple[tuple[str, int], ...]  # (row id, attempt)
    lease: dict[str, float | None]  # budget limit name -> what the chunk may spend (None: no limit)
    share: int  # provider rate limits are divided by this (the number of workers)
    version: str  # the driver's agentctl: a worker running another refuses the chunk
    replay: str | None = None  # a cassette, relative to the project root
    decision: bool | None = None
    role: str | None = None
    start: str = ""  # one per start of the batch by a driver: a resumed batch's chunks are new chunks
    wall_s: float | None = None  # what is left of the batch's max_wall_s: the chunk stops itself then
    otlp_endpoint: str | None = None  # the workers send their runs' spans there too

    @property
    def chunk_id(self) -> str:
        return f"{self.batch_id}-{self.start}c{self.index}"


def plan(compiled, shard, progress, size: int = CHUNK_ROWS) -> list[tuple[tuple[str, int], ...]]:
    """The rows left to run, in file order, cut into chunks of `size` (row, attempt) pairs."""
    from agentctl.evals.batch import work_items

    keys = [(w.rid, w.attempt) for w in work_items(compiled, shard, progress)]
    return [tuple(keys[i:i + size]) for i in range(0, len(keys), size)]


@dataclass
class Bank:
    """The driver keeps the batch budget: a chunk of k rows gets a lease of min(what is left,
    k x a row's worst case) in each limited dimension, and gives back what it did not spend."""

    limits: Any  # the eval's batch Limits
    worst: Any  # a row's worst case (Bounds)
    used: Usage = field(default_factory=Usage)
    leased: dict[str, float] = field(default_factory=dict)

    def check_lease(self, rows: int) -> dict[str, float | None] | None:
        """A lease for a chunk of `rows`, or None while not even one row's worst case is free."""
        lease: dict[str, float | None] = {}
        for d in COUNTED:
            limit, worst = getattr(self.limits, d.limit), getattr(self.worst, d.name)
            if limit is None:
                lease[d.limit] = None
                continue
            free = limit - getattr(self.used, d.name) - self.leased.get(d.limit, 0)
            if worst is None or free < worst:
                return None
            lease[d.limit] = min(free, rows * worst)
        for name, value in lease.items():
            if value is not None:
                self.leased[name] = self.leased.get(name, 0) + value
        return lease

    def settle(self, lease: dict[str, float | None], used: Usage) -> None:
        for name, value in lease.items():
            if value is not None:
                self.leased[name] -= value
        self.used.add(used)


def shipped_paths(compiled, replay: str | None) -> tuple[str, str | None]:
    """The eval file and the cassette relative to the project root; a UsageError for any file a
    worker would need from outside the project (the workers get the project's files only)."""
    root = Path(compiled.pipeline.root)
    _inside(root, str(compiled.data), "the eval's data")
    return _inside(root, compiled.path, "the eval file"), (_inside(root, replay, "--replay") if replay else None)


def _inside(root: Path, path: str, what: str) -> str:
    from agentctl.errors import UsageError

    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        raise UsageError(f"{what} {path} is outside the project ({root}): the workers get the project's files only",
                         "move it into the project, or run without --workers/--cluster") from None


def stable_run_id(batch_id: str, rid: str, attempt: int) -> str:
    return hashlib.sha256(f"{batch_id}/{rid}/{attempt}".encode()).hexdigest()[:12]


def journal_path(spec: ChunkSpec) -> Path:
    """On the worker's local disk (SQLite never goes over a network disk), shared by the workers of
    one machine."""
    return batch_folder(spec.batch_id) / spec.chunk_id / "journal.db"


def batch_folder(batch_id: str) -> Path:
    return Path(tempfile.gettempdir()) / "agentctl-chunks" / batch_id


def run_chunk(spec: ChunkSpec, root: Path) -> dict[str, Any]:
    """On a worker: the chunk's rows through the batch runner; its records for the driver."""
    import asyncio

    from agentctl import __version__
    from agentctl.errors import AgentctlError
    from agentctl.evals.batch import Progress
    from agentctl.evals.command import load
    from agentctl.evals.tracing import BatchTraces
    from agentctl.record import batches
    from agentctl.record.copy import export_chunk
    from agentctl.record.journal import Journal
    from agentctl.record.redact import Redactor

    if spec.version != __version__:
        raise AgentctlError(f"this worker runs agentctl {__version__}, the driver {spec.version}",
                            "install the driver's version on every worker")
    compiled = within(load(spec.eval_path, root), spec)
    path = journal_path(spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    journal = Journal(path, Redactor.for_pipeline(compiled.pipeline))
    try:
        if not batches.is_batch(journal, spec.chunk_id):
            batches.start_batch(journal, spec.chunk_id, compiled, "", "", {}, {})
        batch = _batch(compiled, spec, root, journal, Progress(*batches.progress(journal, spec.chunk_id)))
        batch.traces = BatchTraces(str(path.parent), spec.chunk_id, journal.redact, spec.otlp_endpoint)
        status, problems = asyncio.run(_run(batch))
        done = batches.batch_rows(journal, spec.chunk_id)
        finished = {(r["row_id"], r["attempt"]) for r in done}
        used = Usage()
        for row in done:
            used.add(Usage.from_dict(row["usage"]))
        traces = batch.traces.path.read_text(encoding="utf-8") if batch.traces.path.is_file() else ""
        return {"status": status, "records": export_chunk(journal, spec.chunk_id, root), "used": used.as_dict(),
                "unrun": [k for k in spec.keys if tuple(k) not in finished], "rows": len(done), "traces": traces,
                "trace_problems": problems}
    finally:
        journal.close()


def _batch(compiled, spec: ChunkSpec, root: Path, journal, progress):
    from agentctl import api
    from agentctl.evals.batch import Batch, SharedTools
    from agentctl.run.approvals import FixedApprover
    from agentctl.tools.registry import build_tools

    replay = str(root / spec.replay) if spec.replay else None
    model = api.make_model(api.RunOptions(replay=replay), compiled.pipeline)
    tools = SharedTools(build_tools(compiled.pipeline))
    batch = Batch(compiled, model, tools, journal, FixedApprover(spec.decision), spec.chunk_id, None, progress,
                  spec.role)
    batch.only = {tuple(k) for k in spec.keys}
    batch.run_id_of = lambda rid, attempt: stable_run_id(spec.batch_id, rid, attempt)
    return batch


async def _run(batch) -> tuple[str, list[str]]:
    """The chunk's status, and problems sending its spans to a collector (the file keeps them)."""
    try:
        status = await batch.run()
    finally:
        problems = await batch.close()
    return status, problems


def within(compiled, spec: ChunkSpec):
    """The eval as the chunk runs it: the batch budget is the chunk's lease (with the time left of
    the batch's max_wall_s), and each model's provider rate limits are divided among the workers."""
    from agentctl.compile.ir import frozen

    limits = replace(compiled.limits, **spec.lease)
    if spec.wall_s is not None:
        limits = replace(limits, max_wall_s=spec.wall_s)
    models = {name: replace(m, requests_per_minute=_share(m.requests_per_minute, spec.share),
                            tokens_per_minute=_share(m.tokens_per_minute, spec.share))
              for name, m in compiled.pipeline.models.items()}
    return replace(compiled, limits=limits, pipeline=replace(compiled.pipeline, models=frozen(models)))


def _share(limit: int | None, workers: int) -> int | None:
    return None if limit is None else max(1, limit // max(1, workers))
