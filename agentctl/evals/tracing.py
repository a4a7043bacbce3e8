"""A batch's traces: one file per batch (`.agentctl/traces/batch-ID.jsonl`, an OTLP/JSON document
per line, one per run, appended as each run ends), not a file per row: per-run files did not
scale (76,707 files in a prototype). With a collector configured, spans are also sent there,
in chunks, off the event loop."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

CHUNK_SPANS = 2048  # spans per export to a collector


def batch_trace_path(root: str | Path, batch_id: str) -> Path:
    from agentctl.runs import TRACES

    return Path(root) / TRACES / f"batch-{batch_id}.jsonl"


class TraceFile:
    """A batch's trace file, opened at the first write. A trace is secondary to the journal, which
    holds every row: a file that cannot be written (a full disk) is a warning, and the rows go on."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = None
        self.unwritable = False  # said once; nothing more is written

    def write(self, lines: str) -> None:
        from agentctl import console

        if self.unwritable or not lines:
            return
        try:
            if self.file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.file = self.path.open("a", encoding="utf-8")
            self.file.write(lines)
            self.file.flush()
        except OSError as exc:
            self.unwritable = True
            console.print_warning(f"could not write the batch's trace file {self.path}: {exc}; the journal keeps "
                                  "every row, and `agentctl trace` cannot show the runs missing from the file")

    def close(self) -> None:
        if self.file is not None:
            with contextlib.suppress(OSError):  # what a full disk left in the buffer: said when it failed
                self.file.close()


class BatchTraces:
    def __init__(self, root: str, batch_id: str, redact, endpoint: str | None = None) -> None:
        from agentctl.record import otel_config

        self.path = batch_trace_path(root, batch_id)
        self.redact = redact
        self.tracers: dict[str, object] = {}
        self.collector = otel_config.collector(endpoint)
        self.pending: list = []
        self.sending: set[asyncio.Task] = set()
        self.file = TraceFile(self.path)

    def subscribe(self, pipeline, cont, journal) -> tuple:
        from agentctl.runs import run_tracer

        tracer = run_tracer(pipeline, cont, journal)
        if tracer is None:  # OTEL_SDK_DISABLED
            return ()
        self.tracers[cont.run_id] = tracer
        return (tracer,)

    def started(self, cont, journal) -> None:
        from agentctl.runs import remember_trace

        remember_trace(journal, cont, self.tracers.get(cont.run_id))

    def done(self, run_id: str) -> None:
        """The run ended: its spans are written (and queued for the collector), its tracer dropped."""
        from agentctl.record import otel_export

        tracer = self.tracers.pop(run_id, None)
        if tracer is None or not tracer.records():
            return
        self.file.write(otel_export.otlp_json(tracer.records(), tracer.trace_id, tracer.resource, tracer.scope) + "\n")
        if self.collector is not None:
            self.pending += tracer.spans()
            if len(self.pending) >= CHUNK_SPANS:
                self._send()

    def _send(self) -> None:
        from agentctl.record import otel_export

        spans, self.pending = self.pending, []
        task = asyncio.ensure_future(asyncio.to_thread(otel_export.send, spans, self.collector))
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)

    async def close(self) -> list[str]:
        """Problems exporting to the collector (the file keeps every span)."""
        self.file.close()
        if self.collector is not None and self.pending:
            self._send()
        results = await asyncio.gather(*self.sending, return_exceptions=True) if self.sending else []
        return [str(r) for r in results if r]


def documents_of(root: str | Path, run_id: str) -> list[dict]:
    """A run's trace from the batch files (a run of a batch has no file of its own)."""
    import json

    from agentctl.runs import TRACES

    needle = f'"stringValue":"{run_id}"'
    found = []
    for path in sorted((Path(root) / TRACES).glob("batch-*.jsonl")):
        with path.open(encoding="utf-8") as f:
            found += [json.loads(line) for line in f if needle in line and '"agentctl.run_id"' in line]
    return found
