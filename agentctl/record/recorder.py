"""Writes engine events to the journal, and tells the other subscribers (progress, trace) of each
event only once the journal has committed what it led to: nobody hears "finished" before the
result is on disk."""

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


class CommitBeforeReport:
    """Passes each event to the journal recorder at once, and to the subscribers after it (progress,
    trace, ...) only when every journal write it led to, or any before it, is committed: nobody
    hears "finished" before the result is on disk.

    A step's result need not be committed before its dependents start, only before it is reported.
    So its write waits, with the events behind it held in order, for the loop's first idle moment
    (`idle`: while a model request is out) at least GROUP_S after it: results finishing within that
    window share one commit, made where it does not lengthen the run. Any other journal write
    commits them first (an approval's question included: the display is up to date when a person
    is asked), and the events held are then delivered; so does a tool call about to start, so that
    nothing a side effect may depend on is run again by a resume. A run that never idles commits
    when an event comes MAX_WAIT_S after them. A kill before the commit loses only results nobody
    was told about; a resume runs them again."""

    GROUP_S = 0.02
    MAX_WAIT_S = 0.1

    def __init__(self, journal: Journal, recorder: JournalRecorder, idle) -> None:
        self.journal = journal
        self.recorder = recorder
        self.idle = idle
        self.subscribers: list = []
        self.held: list[Event] = []
        journal.let_results_wait(self.deliver)

    def subscribe(self, subscriber) -> None:
        self.subscribers.append(subscriber)

    def __call__(self, event: Event) -> None:
        self.recorder(event)
        self.held.append(event)
        if (not self.journal.waiting or event.at - self.held[0].at > self.MAX_WAIT_S
                or event.kind == "tool_call" and event.data.get("state") == "started"):
            self.flush()
        else:
            self.idle.add(self.flush_when_idle, self.held[0].at + self.GROUP_S)

    def flush(self) -> None:
        self.journal.commit_waiting()
        self.deliver()

    def deliver(self) -> None:
        held, self.held = self.held, []
        for event in held:
            for subscriber in self.subscribers:
                subscriber(event)

    def flush_when_idle(self) -> bool:
        self.flush()
        return False
