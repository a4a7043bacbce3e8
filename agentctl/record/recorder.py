"""Writes engine events to the journal. Subscribed before the progress display, so a step's
result is committed before anyone is told the step finished."""

from __future__ import annotations

from agentctl.record.journal import Journal
from agentctl.run.events import Event


class JournalRecorder:
    """Model attempts are written with the result of the work they were made for (a step, a loop
    iteration's step, a fan-out item), in one statement; tool calls at once, since their results
    are what a resume must never repeat. Fan-out items are committed one by one as they finish."""

    def __init__(self, journal: Journal, run_id: str) -> None:
        self.journal = journal
        self.run_id = run_id
        self.pending: dict[str, list[tuple[str, dict]]] = {}

    def __call__(self, event: Event) -> None:
        d = event.data
        if event.kind == "step_finished" and not d.get("restored"):
            self.journal.step(self.run_id, event.step, d.get("scope", ""), d["status"], d.get("output"), d.get("error"),
                              d["usage"], d.get("started_at"), self.pending.pop(d.get("work", event.step), []))
        elif event.kind == "llm_attempt" and d["state"] != "started":
            self.pending.setdefault(d.get("work", event.step), []).append((event.step, d))
        elif event.kind == "item_finished":
            self.journal.item(self.run_id, event.step, d["scope"], d["index"], d["output"], self.pending.pop(d["work"], []))
        elif event.kind == "tool_call" and d["state"] in ("succeeded", "failed"):
            self.journal.tool_call(self.run_id, d["call_id"], event.step, d["tool"], d.get("args"), d.get("result"),
                                   d["state"], d.get("error"))
        elif event.kind == "run_finished":
            for attempts in self.pending.values():  # steps that never finished: cancelled, failed
                self.journal.attempts_only(self.run_id, attempts)
            self.pending.clear()
            self.journal.finish_run(self.run_id, d["status"], d.get("error"), d.get("outputs"), d["usage"])
