"""Committed before reported: step results wait for an idle moment to be committed, and nobody
after the journal hears of them before they are."""

import sqlite3

import pytest

from agentctl import runs
from agentctl.record.journal import Journal
from agentctl.record.recorder import CommitBeforeReport, JournalRecorder
from agentctl.run.approvals import FixedApprover
from agentctl.run.events import Event, EventBus
from agentctl.run.idle import IdleWork
from agentctl.tools.registry import build_tools


def committed(path, step: str) -> bool:
    """Asked on a connection of its own: what another process would see."""
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT COUNT(*) FROM steps WHERE step = ?", (step,)).fetchone()[0] == 1
    finally:
        db.close()


def finished(step: str, at: float = 1.0) -> Event:
    return Event("step_finished", step, {"status": "succeeded", "output": {"n": 1}, "usage": {}}, at)


@pytest.fixture
def gate(tmp_path):
    journal = Journal(tmp_path / "j.db")
    gate = CommitBeforeReport(journal, JournalRecorder(journal, "r1"), IdleWork())
    gate.heard = []
    gate.subscribe(lambda e: gate.heard.append((e.kind, e.step, committed(journal.path, e.step))))
    yield gate
    journal.close()


def test_a_result_waits_for_an_idle_moment_and_is_heard_only_once_committed(gate):
    gate(finished("a"))
    gate(Event("step_started", "b", {}, 1.0))
    assert gate.heard == [] and not committed(gate.journal.path, "a")
    gate.idle.run_due()
    assert gate.heard == [("step_finished", "a", True), ("step_started", "b", False)]


def test_any_other_write_commits_the_waiting_results_first_and_order_is_kept(gate):
    gate(finished("a"))
    gate(finished("b"))
    gate(Event("tool_call", "c", {"state": "succeeded", "call_id": "r1:c:0", "tool": "t", "result": 1}))
    assert gate.heard == [("step_finished", "a", True), ("step_finished", "b", True), ("tool_call", "c", False)]
    keys = [r[0] for r in sqlite3.connect(gate.journal.path).execute("SELECT key FROM tool_calls")]
    assert keys == ["r1:c:0"] and not gate.journal.waiting


def test_results_finishing_close_together_share_one_commit(gate):
    gate(finished("a"))
    gate(finished("b", at=1.01))
    assert gate.idle.due == {gate.flush_when_idle: 1.0 + CommitBeforeReport.GROUP_S}  # from the first
    assert len(gate.journal.waiting) == 2 and gate.heard == []  # committed together, in one transaction
    gate.idle.run_due()
    assert [h[:2] for h in gate.heard] == [("step_finished", "a"), ("step_finished", "b")]
    assert all(h[2] for h in gate.heard)


def test_before_a_person_is_asked_the_results_are_committed_and_heard(gate):
    gate(finished("a"))
    gate(Event("step_started", "gate", {}, 1.0))
    gate.journal.approval_asked("r1", "gate", "s", "manager", "ok?", {})  # what JournalApprover does first
    assert gate.heard == [("step_finished", "a", True), ("step_started", "gate", False)]


def test_before_a_tool_is_called_the_results_it_may_depend_on_are_committed(gate):
    gate(finished("a"))
    gate(Event("tool_call", "b", {"state": "started", "call_id": "r1:b:0", "tool": "t"}, 1.0))
    assert gate.heard == [("step_finished", "a", True), ("tool_call", "b", False)]


def test_a_run_that_never_idles_still_commits_within_max_wait(gate):
    gate(finished("a", at=1.0))
    gate(Event("step_started", "b", {}, at=1.0 + CommitBeforeReport.MAX_WAIT_S / 2))
    assert gate.heard == []
    gate(Event("step_started", "c", {}, at=1.0 + CommitBeforeReport.MAX_WAIT_S * 2))
    assert [h[:2] for h in gate.heard] == [("step_finished", "a"), ("step_started", "b"), ("step_started", "c")]
    assert committed(gate.journal.path, "a")


def test_a_failed_commit_is_tried_again_and_nothing_is_heard_before_it_succeeds(gate):
    gate(finished("a"))
    gate.journal.db.execute("PRAGMA busy_timeout = 50")
    other = sqlite3.connect(gate.journal.path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        gate.flush()
    with pytest.raises(sqlite3.OperationalError, match="locked"):  # a write that must not wait: the caller's error
        gate.journal.tool_call("r1", "r1:b:0", "b", "t", {}, 1, "succeeded", None)
    assert gate.heard == [] and len(gate.journal.waiting) == 1
    other.execute("ROLLBACK")
    gate.flush()
    assert gate.heard == [("step_finished", "a", True)]


def test_in_a_real_run_the_next_request_goes_out_before_the_commit_and_nobody_hears_it_uncommitted(
        project, server, monkeypatch):
    from agentctl.llm.litellm_client import LitellmModel

    monkeypatch.setattr(CommitBeforeReport, "MAX_WAIT_S", 60.0)  # a pause of the test machine changes nothing
    compiled = project.compile(project.pipeline("""
        agents:
          a: {model: m, prompt: prompts/p.prompt}
        steps:
          - {id: one, agent: a}
          - {id: two, agent: a, needs: [one]}
          - {id: three, agent: a, needs: [two]}
        """))
    path = project.root / runs.JOURNAL
    previous_committed_when_asked, heard = [], []

    class Model(LitellmModel):
        async def complete(self, request):
            if self.asked:
                previous_committed_when_asked.append(committed(path, self.asked[-1]))
            self.asked.append(["one", "two", "three"][len(self.asked)])
            return await super().complete(request)

    class Listener:
        def __call__(self, event):
            if event.kind == "step_finished":
                heard.append((event.step, committed(path, event.step)))

    model = Model()
    model.asked = []
    events = EventBus()
    events.subscribe(Listener())
    result = runs.execute(runs.Prepared(compiled, {}, build_tools(compiled), model), FixedApprover(None), events)
    assert result.status == "succeeded"
    assert heard == [("one", True), ("two", True), ("three", True)]
    assert previous_committed_when_asked == [False, False]  # its dependent did not wait for the commit

