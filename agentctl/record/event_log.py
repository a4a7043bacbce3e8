"""`agentctl run --events FILE|-`: one JSON line per engine event as it happens, for CI logs and
other tools. Version 1: {"version": 1, "type": <event class>, "at": <seconds since the run
started>, "time": <unix time>, ...the event's own fields}, every string through the redactor."""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import time
from typing import Any, TextIO

VERSION = 1


class EventLog:
    def __init__(self, target: str, redact) -> None:
        self.redact = redact
        self.stream: TextIO = sys.stdout if target == "-" else open(target, "w", encoding="utf-8")
        self.owned = target != "-"
        self.offset = time.time() - time.monotonic()
        self.started: float | None = None
        self.unwritable = False  # a full disk: said once, and the run goes on (the journal records it)

    def __call__(self, event) -> None:
        from agentctl.console import print_warning, write
        from agentctl.errors import OutputError

        if self.started is None:
            self.started = event.at
        if self.unwritable:
            return
        record: dict[str, Any] = {"version": VERSION, "type": type(event).__name__,
                                  "at": round(event.at - self.started, 6), "time": round(event.at + self.offset, 6)}
        record.update({f.name: _plain(getattr(event, f.name)) for f in dataclasses.fields(event) if f.name != "at"})
        try:
            write(self.stream, self.redact.json(record) + "\n")
        except OutputError as exc:  # a full disk, or `--events -` on a stdout that cannot be written
            self.unwritable = True
            print_warning(f"could not write the events ({exc.message}); the run goes on, and the journal records it")

    def close(self) -> None:
        if self.owned:
            with contextlib.suppress(OSError):  # what the full disk left in the buffer: said when it failed
                self.stream.close()


def _plain(value: Any) -> Any:
    """Usage, tool calls and other dataclasses as plain JSON data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
