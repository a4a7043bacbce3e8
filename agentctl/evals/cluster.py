"""Batches on Dask distributed: the one module that imports `distributed`, and only when a batch
asks for it (`agentctl eval FILE --workers N` or `--cluster tcp://host:port`).

The driver (this process) ships the project to the workers with a worker plugin, cuts the rows
into chunks (evals/chunks.py), keeps at most two chunks per worker in flight, each with a lease
of the batch budget, and copies each finished chunk's records into the project journal, which
reports, `eval show` and resume read as for a batch run in one process. Dask retries a chunk
whose worker died (and, twice, one that raised)."""

from __future__ import annotations

import io
import logging
import os
import threading
import time
import zipfile
from collections import deque
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from distributed import Client, LocalCluster, as_completed, get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from agentctl.dimensions import Usage
from agentctl.errors import AgentctlError, UsageError
from agentctl.evals import chunks

# What the workers get of the project: what pipelines, prompts, schemas, tools and evals name.
# Anything else a tool reads must already be on the workers.
FOLDERS = ("pipelines", "prompts", "schemas", "tools", "evals")
ROOT_FILES = ("agentctl.lock", "policy.yaml", "roles.yaml")
_SKIP = frozenset(("__pycache__", ".agentctl", ".git", ".venv"))
IN_FLIGHT_PER_WORKER = 2
CONNECT_TIMEOUT_S = 10  # Dask retries a refused connection until then
RETRIES = 2


@contextmanager
def client_for(workers: int | None, address: str | None) -> Iterator[Client]:
    """A local cluster of `workers` processes bound to 127.0.0.1 (its status page too, on a free
    port: Dask's fixed 8787 collides with any other cluster here), or the scheduler at `address`."""
    if address:
        try:
            client = Client(address, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}",
                             "start one with `dask scheduler`, and workers with `dask worker ADDRESS`") from None
        with client:
            yield client
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        yield client


class ProjectUpload(WorkerPlugin):
    """The project's files, unpacked once per worker into its local directory."""

    def __init__(self, archive: bytes, digest: str) -> None:
        self.archive, self.digest = archive, digest
        self.name = f"agentctl-project-{digest}"

    def setup(self, worker) -> None:
        target = project_dir(worker.local_directory, self.digest)
        if not target.is_dir():
            partial = target.with_name(target.name + f".{os.getpid()}")
            with zipfile.ZipFile(io.BytesIO(self.archive)) as archive:
                archive.extractall(partial)
            partial.rename(target)


def project_dir(local_directory: str, digest: str) -> Path:
    return Path(local_directory) / f"agentctl-project-{digest}"


def archive_project(root: Path, extra: list[Path]) -> tuple[bytes, str]:
    import hashlib

    files = sorted({*_project_files(root), *(p.resolve() for p in extra if p.is_file())})
    buffer = io.BytesIO()
    digest = hashlib.sha256()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            name = path.relative_to(root.resolve()).as_posix()
            data = path.read_bytes()
            digest.update(name.encode() + b"\0" + data)
            archive.writestr(name, data)
    return buffer.getvalue(), digest.hexdigest()[:16]


def _project_files(root: Path) -> Iterator[Path]:
    root = root.resolve()
    for folder in FOLDERS:
        for path in (root / folder).rglob("*"):
            if path.is_file() and not _SKIP.intersection(path.relative_to(root).parts):
                yield path
    for name in ROOT_FILES:
        if (root / name).is_file():
            yield root / name


def run_chunk_task(spec: chunks.ChunkSpec, digest: str) -> dict[str, Any]:
    """A chunk on a worker, in the project the plugin unpacked there. A user's mistake (a missing
    key, another agentctl version) comes back as a value: retrying it would only repeat it."""
    root = project_dir(get_worker().local_directory, digest)
    with _ONE_CHUNK_AT_A_TIME:  # a worker with several threads: process-wide state (cwd, rate limits)
        os.chdir(root)  # paths in messages and records read as on the driver, relative to the project
        try:
            return chunks.run_chunk(spec, root)
        except AgentctlError as exc:
            return {"error": exc.message, "hint": exc.hint}


_ONE_CHUNK_AT_A_TIME = threading.Lock()


def run_batch(compiled, batch_id: str, options, journal, progress, on_chunk) -> str:
    """Every row left, chunk by chunk on the cluster; 'succeeded', or 'budget_exceeded' when the
    batch budget cannot lease even one row's worst case and no chunk is in flight."""
    from agentctl import __version__
    from agentctl.record.copy import import_chunk
    from agentctl.runs import new_id

    root = Path(compiled.pipeline.root)
    eval_path, replay = chunks.shipped_paths(compiled, options.replay)
    extra = [Path(compiled.path), compiled.data] + ([root / replay] if replay else [])
    archive, digest = archive_project(root, extra)
    pending = deque(chunks.plan(compiled, options.shard, progress, options.chunk_rows))
    bank = chunks.Bank(compiled.limits, compiled.worst, used=Usage.from_dict(progress.spent.as_dict()))
    base = dict(batch_id=batch_id, eval_path=eval_path, version=__version__,
                replay=replay, decision=options.decision, role=options.role, start=new_id()[:6] + "-",
                otlp_endpoint=options.otlp_endpoint)
    wall = compiled.limits.max_wall_s
    deadline = None if wall is None else time.monotonic() + wall
    with client_for(options.workers, options.cluster) as client, _trace_file(root, batch_id) as traces:
        client.register_plugin(ProjectUpload(archive, digest))
        workers = max(1, len(client.scheduler_info()["workers"]))
        in_flight: dict[Any, chunks.ChunkSpec] = {}
        done = as_completed()
        index = 0

        def submit_more() -> None:
            nonlocal index
            while pending and len(in_flight) < IN_FLIGHT_PER_WORKER * workers:
                left = None if deadline is None else deadline - time.monotonic()
                lease = bank.check_lease(len(pending[0])) if left is None or left > 0 else None
                if lease is None:
                    return
                spec = chunks.ChunkSpec(index=index, keys=pending.popleft(), lease=lease, share=workers,
                                        wall_s=left, **base)
                index += 1
                future = client.submit(run_chunk_task, spec, digest, key=f"agentctl-{spec.chunk_id}", pure=False,
                                       retries=RETRIES)
                in_flight[future] = spec
                done.add(future)

        submit_more()
        for future in done:
            spec = in_flight.pop(future)
            result = _result(future, spec)
            import_chunk(journal, batch_id, result["records"], str(root))
            traces.write(result["traces"])
            bank.settle(spec.lease, Usage.from_dict(result["used"]))
            if result["unrun"]:  # its lease ran out: back to the front, for what the budget has left
                timed_out = deadline is not None and time.monotonic() >= deadline
                if len(result["unrun"]) == len(spec.keys) and not timed_out:  # a lease covers a row: never loop
                    raise AgentctlError(f"chunk {spec.index} ran none of its rows within its lease {spec.lease}")
                pending.appendleft(tuple(tuple(k) for k in result["unrun"]))
            on_chunk(spec, result)
            submit_more()
        client.run(forget_chunks, batch_id)  # copied: the chunk journals on the workers' disks go
    return "budget_exceeded" if pending else "succeeded"


def forget_chunks(batch_id: str) -> None:
    """On each worker: the batch's chunk journals, once the driver has copied them."""
    import shutil

    shutil.rmtree(chunks.batch_folder(batch_id), ignore_errors=True)


@contextmanager
def _trace_file(root: Path, batch_id: str):
    """The batch's trace file, as a batch in one process writes it: the chunks' runs appended."""
    from agentctl.evals.tracing import TraceFile, batch_trace_path

    file = TraceFile(batch_trace_path(root, batch_id))
    try:
        yield file
    finally:
        file.close()


def _result(future, spec: chunks.ChunkSpec) -> dict[str, Any]:
    try:
        result = future.result()
    except Exception as exc:  # a chunk that failed on every try, or lost its worker too often
        raise AgentctlError(f"chunk {spec.index} ({len(spec.keys)} rows) failed on the cluster: "
                            f"{type(exc).__name__}: {exc}",
                            "its finished rows are in the journal; `agentctl resume BATCH_ID` runs the rest") from None
    if "error" in result:
        raise AgentctlError(f"chunk {spec.index} on the cluster: {result['error']}", result.get("hint"))
    return result
