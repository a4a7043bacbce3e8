"""The journal: concurrent writers, migrations, redaction."""

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from agentctl.record.journal import MIGRATIONS, Journal
from agentctl.record.redact import Redactor
from tests.conftest import REPO
from tests.support.example import copy_example

DEMO = ["run", "pipelines/article_review.yaml", "-i", "topic=Idempotency keys in payment APIs",
        "--replay", "pipelines/cassettes/article_review.json", "--json"]


def copy_project(target: Path) -> Path:
    return copy_example(target)


def test_eight_concurrent_runs_share_one_journal_without_lock_errors(tmp_path):
    project = copy_project(tmp_path)
    procs = [subprocess.Popen([sys.executable, "-m", "agentctl", *DEMO], cwd=project, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(8)]
    results = [p.communicate(timeout=120) for p in procs]
    for (out, err), proc in zip(results, procs):
        assert proc.returncode == 0, err
        assert "locked" not in err
    run_ids = {json.loads(out)["run_id"] for out, _ in results}
    journal = Journal(project / ".agentctl" / "journal.db")
    rows = journal.runs()
    assert {r["id"] for r in rows} == run_ids and all(r["status"] == "succeeded" for r in rows)
    for run_id in run_ids:  # nothing lost: every step and every attempt of every run
        assert {s.step for s in journal.steps(run_id)} == {"write", "draft", "review", "approved"}
        assert len([a for a in journal.attempts(run_id) if a["state"] == "succeeded"]) == 5


def test_migrations_run_once_and_record_the_schema_version(tmp_path):
    path = tmp_path / "j.db"
    Journal(path).close()
    Journal(path).close()
    version = sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0]
    assert version == MIGRATIONS[-1][0]
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_secrets_are_redacted_before_writing(tmp_path):
    journal = Journal(tmp_path / "j.db", Redactor(["sk-very-secret-1234"]))
    journal.db.execute("INSERT INTO runs (id, pipeline, status) VALUES ('r', 'p', 'running')")
    journal.step("r", "s", "", "failed", {"echo": "key sk-very-secret-1234"}, "auth sk-very-secret-1234 rejected", {}, None)
    journal.tool_call("r", "r:s:0", "s", "t", {"token": "sk-very-secret-1234"}, None, "failed", "x")
    dump = "\n".join(sqlite3.connect(tmp_path / "j.db").iterdump())
    assert "sk-very-secret-1234" not in dump and "***" in dump


def test_a_version_1_journal_is_migrated_without_losing_a_row(tmp_path):
    path = tmp_path / "j.db"
    old = sqlite3.connect(path)
    for version, apply in MIGRATIONS:
        if version == 1:
            apply(old)
    old.execute("PRAGMA user_version = 1")
    old.execute("INSERT INTO steps (run_id, step, scope, status, output, usage) VALUES ('r', 's', '', 'succeeded',"
                " '{\"a\": 1}', '{}')")
    old.execute("INSERT INTO attempts (run_id, step, model, attempt, state, at) VALUES ('r', 's', 'm', 1, 'succeeded', 1)")
    old.commit()
    old.close()
    journal = Journal(path)
    assert [(s.step, s.output) for s in journal.steps("r")] == [("s", {"a": 1})]
    assert [(a["step"], a["model"], a["state"]) for a in journal.attempts("r")] == [("s", "m", "succeeded")]
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == MIGRATIONS[-1][0]


def test_a_step_run_again_keeps_its_earlier_attempts(tmp_path):
    journal = Journal(tmp_path / "j.db")
    failed = [("s", {"model": "m", "attempt": 1, "state": "failed", "error": "server"})]
    journal.step("r", "s", "", "failed", None, "server", {}, None, failed)
    worked = [("s", {"model": "m", "attempt": 1, "state": "succeeded", "input_tokens": 3, "output_tokens": 2}),
              ("s", {"model": "m", "attempt": 2, "state": "succeeded", "input_tokens": 4, "output_tokens": 1})]
    journal.step("r", "s", "", "succeeded", {"ok": True}, None, {}, None, worked)
    journal.step("r", "t", "", "skipped", None, None, {}, None)
    journal.attempts_only("r", [("u", {"model": "m", "attempt": 1, "state": "started"})])
    assert [(a["step"], a["state"], a["input_tokens"]) for a in journal.attempts("r")] == [
        ("s", "failed", None), ("s", "succeeded", 3), ("s", "succeeded", 4), ("u", "started", None)]
    assert [(s.step, s.status) for s in journal.steps("r")] == [("s", "succeeded"), ("t", "skipped")]


@pytest.mark.parametrize("content", [b"SQLite format 3\x00 but garbage after", bytes(range(256)) * 20],
                         ids=["damaged header", "random bytes"])
def test_a_broken_journal_is_explained_not_a_crash(tmp_path, content, capsys, monkeypatch):
    """A garbage or damaged journal.db gave 'internal error ... This is a bug'."""
    from tests.support.cli import invoke

    (tmp_path / "agentctl.lock").write_text("")
    (tmp_path / ".agentctl").mkdir()
    (tmp_path / ".agentctl" / "journal.db").write_bytes(content)
    monkeypatch.chdir(tmp_path)
    for args in (("runs", "list"), ("runs", "show", "abc"), ("resume", "abc")):
        done = invoke(capsys, monkeypatch, *args)
        assert done.code == 1 and "internal error" not in done.err, args
        assert "journal.db is not a readable run journal" in done.err and "move it aside" in done.err


def test_a_full_disk_is_explained(tmp_path):
    from agentctl.record.journal import Journal, JournalError

    journal = Journal(tmp_path / "journal.db")
    pages = journal.db.execute("PRAGMA page_count").fetchone()[0]
    journal.db.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own "database or disk is full"
    with pytest.raises(JournalError) as caught:
        for i in range(1000):
            journal.approval_asked("r", f"s{i}", "", "human", "x" * 1000, {})
    assert "cannot write the run journal" in caught.value.message and "free disk space" in caught.value.hint
    journal.close()


def test_a_disk_that_fills_during_a_run_names_the_run_to_resume(tmp_path, capsys, monkeypatch):
    """Found by trying, on a small tmpfs: the run stopped with "free disk space and resume the run",
    naming no run (`runs list` then shows it as interrupted, among the others)."""
    from agentctl.record.journal import explained
    from tests.support.cli import invoke

    monkeypatch.chdir(copy_example(tmp_path / "p"))
    real = Journal.answer
    answers = []

    def answer_then_fill(self, *args, **kwargs):
        if answers:  # the first model answer is committed; the disk is full at the second
            raise explained(self.path, sqlite3.OperationalError("database or disk is full"))
        answers.append(real(self, *args, **kwargs))

    monkeypatch.setattr(Journal, "answer", answer_then_fill)
    stopped = invoke(capsys, monkeypatch, *DEMO[:-1], "--no-live")
    assert stopped.code == 1, stopped.err
    run_id = Journal(Path(".agentctl/journal.db")).runs()[0]["id"]
    assert f"hint: free disk space, then continue with: agentctl resume {run_id}" in stopped.err
    monkeypatch.setattr(Journal, "answer", real)  # space freed
    resumed = invoke(capsys, monkeypatch, "resume", run_id, "--replay", "pipelines/cassettes/article_review.json",
                     "--json")
    assert resumed.code == 0, resumed.err
    assert resumed.json()["status"] == "succeeded"


@pytest.fixture
def read_only_folder():
    """Makes a folder unwritable even for root (chattr +i), undone afterwards; skips where it cannot."""
    import shutil
    import subprocess

    made = []

    def make(folder):
        if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode:
            pytest.skip("chattr +i is not available here")
        made.append(folder)
    yield make
    for folder in made:
        subprocess.run(["chattr", "-i", str(folder)])


def test_a_read_only_journal_folder_still_lists_and_shows_runs_and_a_run_says_why_it_cannot(
        tmp_path, capsys, monkeypatch, read_only_folder):
    # Was: "internal error ... This is a bug", even for `runs list`.
    from agentctl import api
    from tests.support.cli import invoke

    (tmp_path / "agentctl.lock").write_text("")
    journal = Journal(tmp_path / ".agentctl" / "journal.db")
    journal.start_run("r1", api.compile_file(str(REPO / "pipelines" / "article_review.yaml")).pipeline, {}, 1)
    journal.finish_run("r1", "failed", "boom", {}, {})
    journal.close()
    read_only_folder(tmp_path / ".agentctl")
    monkeypatch.chdir(tmp_path)
    listed = invoke(capsys, monkeypatch, "runs", "list", "--json")
    assert listed.code == 0, listed.err
    assert [r["run_id"] for r in listed.json()["runs"]] == ["r1"]
    assert invoke(capsys, monkeypatch, "runs", "show", "r1").code == 0
    resumed = invoke(capsys, monkeypatch, "resume", "r1")
    assert resumed.code == 1 and "internal error" not in resumed.err
    assert "cannot write the run journal" in resumed.err and "writable" in resumed.err


def test_runs_list_refuses_an_unknown_status_and_says_when_nothing_matches(tmp_path, capsys, monkeypatch):
    """`runs list --status faild` said "no runs yet" in a journal full of runs."""
    from agentctl import api
    from tests.support.cli import invoke

    (tmp_path / "agentctl.lock").write_text("")
    journal = Journal(tmp_path / ".agentctl" / "journal.db")
    journal.start_run("r1", api.compile_file(str(REPO / "pipelines" / "article_review.yaml")).pipeline, {}, 1)
    journal.finish_run("r1", "failed", "boom", {}, {})
    journal.close()
    monkeypatch.chdir(tmp_path)
    typo = invoke(capsys, monkeypatch, "runs", "list", "--status", "faild")
    assert typo.code == 2 and "'faild' is not one of" in typo.err and "'interrupted'" in typo.err
    assert invoke(capsys, monkeypatch, "runs", "list", "--status", "paused").out == "no runs match --status paused\n"
    assert "r1" in invoke(capsys, monkeypatch, "runs", "list", "--status", "failed").out
