"""Every event reaches every subscriber: each matches the event classes exhaustively, so an event
added to events.py that a subscriber does not handle fails here (assert_never)."""

import dataclasses
import typing

import pytest

from agentctl import api, run_display
from agentctl.dimensions import Usage
from agentctl.record.journal import Journal
from agentctl.record.recorder import JournalRecorder
from agentctl.record.redact import Redactor
from agentctl.record.tracer import RunTracer
from agentctl.run.events import Event
from tests.conftest import REPO

EVENTS = typing.get_args(Event)
# A value for every field name any event has; an event with a new field needs one here.
VALUES = {
    "at": 1.0, "run_id": "r1", "pipeline": "article-review", "steps": ("write",), "status": "succeeded",
    "error": "boom", "usage": Usage(llm_calls=1), "outputs": {}, "step": "draft", "kind": "agent",
    "what": "drafter", "scope": "write#1/", "output": {"text": "x"}, "duration_s": 0.1, "started_at": 1.0,
    "work": "draft@write#1/", "restored": False, "run_usage": Usage(steps=1), "index": 0, "attempt_id": 1,
    "model": "openai/gpt-4o", "attempt": 1, "messages": ({"role": "user", "content": "hi"},), "input_tokens": 3,
    "output_tokens": 2, "cost_usd": 0.001, "response_model": "gpt-4o", "finish_reason": "stop",
    "content": "hello", "remaining_usd": 0.5, "error_kind": "server", "call_id": "r1:draft:0", "tool": "lookup",
    "args": {"q": 1}, "result": {"a": 2}, "role": "human", "message": "ok?", "approved": True, "by": "ada",
    "problem": "not JSON", "call_index": 0, "request_key": "k", "tool_calls": (), "reason": "not run", "tools": (),
    "server": "itinerary", "phase": "start", "allowed_by": "policy rule 1 (p.yaml:3:5)",
}


def sample(cls):
    return cls(**{f.name: VALUES[f.name] for f in dataclasses.fields(cls)})


@pytest.fixture
def subscribers(tmp_path):
    pipeline = api.compile_file(str(REPO / "pipelines" / "article_review.yaml")).pipeline
    journal = Journal(tmp_path / "journal.db")
    journal.start_run("r1", pipeline, {}, 1)
    yield {"journal": JournalRecorder(journal, "r1"), "tracer": RunTracer(pipeline, "r1", Redactor(())),
           "progress": run_display.Progress(pipeline).apply}
    journal.close()


@pytest.mark.parametrize("event", EVENTS, ids=lambda cls: cls.__name__)
def test_every_subscriber_handles_every_event(event, subscribers):
    for name, subscriber in subscribers.items():
        try:
            subscriber(sample(event))
        except AssertionError:
            pytest.fail(f"{name} does not handle {event.__name__}")


def test_events_are_frozen():
    for cls in EVENTS:
        with pytest.raises(dataclasses.FrozenInstanceError):
            sample(cls).at = 2.0
