"""A paused approval survives the process: `agentctl approve` / `deny` continue the run later."""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.example import copy_example
from tests.support.example import cassette_for_expense

PAYMENTS = '''
import json, os
from pathlib import Path

def reimburse(requester: str, amount_usd: float, approved_by: str, idempotency_key: str = "") -> dict:
    ledger = Path(os.environ["LEDGER"])
    with open(ledger, "a") as f:
        f.write(json.dumps({"key": idempotency_key, "amount": amount_usd, "by": approved_by}) + "\\n")
    return {"payment_id": "PAY-1", "approved_by": approved_by}
'''


@pytest.fixture
def project(tmp_path):
    copy_example(tmp_path)
    (tmp_path / "tools" / "payments.py").write_text(PAYMENTS)
    cassette_for_expense(tmp_path / "c.json", {"category": "travel", "within_policy": True, "reason": "ok"})
    return tmp_path


def cli(root, *args):
    env = {**os.environ, "LEDGER": str(root / "ledger.jsonl"), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "agentctl", *args], cwd=root, env=env, capture_output=True,
                          text=True, timeout=120)


def start_paused(root):
    paused = cli(root, "run", "pipelines/expense_approval.yaml", "-i", "requester=ada", "-i", "description=train",
                 "-i", "amount_usd=800", "--replay", "c.json")
    assert paused.returncode == 4, paused.stderr
    assert "answer with: agentctl approve" in paused.stdout
    db = sqlite3.connect(root / ".agentctl" / "journal.db")
    run_id = db.execute("SELECT id FROM runs").fetchone()[0]
    assert db.execute("SELECT status FROM runs").fetchone()[0] == "paused"
    return run_id, db


def policy_calls(db, run_id):
    from agentctl.record.journal import Journal

    journal = Journal(Path(db.execute("PRAGMA database_list").fetchone()[2]))
    try:
        return len([a for a in journal.attempts(run_id) if a["step"] == "policy"])
    finally:
        journal.close()


def test_approve_continues_and_the_gated_tool_runs_exactly_once(project):
    run_id, db = start_paused(project)
    shown = cli(project, "runs", "show", run_id)
    assert "waiting for approval at sign_off by manager" in shown.stdout
    wrong = cli(project, "approve", run_id, "sign_off", "--replay", "c.json", "--as", "intern")
    assert wrong.returncode == 2 and "waits for approval by manager; you answer as intern" in wrong.stderr
    assert db.execute("SELECT decision FROM approvals WHERE run_id = ?", (run_id,)).fetchone()[0] is None
    approved = cli(project, "approve", run_id, "sign_off", "--replay", "c.json", "--as", "manager")
    assert approved.returncode == 0, approved.stderr + approved.stdout
    payments = [json.loads(line) for line in (project / "ledger.jsonl").read_text().splitlines()]
    assert len(payments) == 1 and payments[0]["key"] == f"{run_id}:pay:0"
    assert payments[0]["by"] == "manager"
    assert policy_calls(db, run_id) == 1  # the step before the gate did not run again
    from agentctl.record.roles import os_user

    decided_by = db.execute("SELECT decided_by FROM approvals WHERE run_id = ?", (run_id,)).fetchone()[0]
    assert decided_by == f"{os_user()} as manager (agentctl approve)"  # the OS user and the role, recorded
    again = cli(project, "approve", run_id)
    assert again.returncode == 2 and "nothing to resume" in again.stderr + again.stdout or "no pending" in again.stderr


def test_deny_continues_and_the_gated_tool_never_runs(project):
    run_id, db = start_paused(project)
    denied = cli(project, "deny", run_id, "--replay", "c.json", "--as", "manager")
    assert denied.returncode == 0, denied.stderr
    assert not (project / "ledger.jsonl").exists()
    steps = dict(db.execute("SELECT step, status FROM steps WHERE run_id = ?", (run_id,)).fetchall())
    assert steps["sign_off"] == "denied" and steps["pay"] == "skipped"
    assert policy_calls(db, run_id) == 1


def test_two_resumes_started_at_once_pay_once(project):
    """Both used to continue the run and pay twice with the same key (9 of 10 trials)."""
    run_id, _ = start_paused(project)
    env = {**os.environ, "LEDGER": str(project / "ledger.jsonl"), "NO_COLOR": "1"}
    procs = [subprocess.Popen([sys.executable, "-m", "agentctl", "resume", run_id, "--approve", "--replay", "c.json"],
                              cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    done = [(p.communicate(timeout=120), p.returncode) for p in procs]
    payments = (project / "ledger.jsonl").read_text().splitlines()
    assert len(payments) == 1, done
    assert sorted(code for _, code in done) == [0, 2], done
    (_, err), _ = next(d for d in done if d[1] == 2)
    assert f"run {run_id} is running in process" in err or "already succeeded" in err


def test_an_approval_in_a_loop_is_asked_in_every_iteration(tmp_path, capsys, monkeypatch):
    """Answers were keyed by (run, step): after a pause, one `approve` approved every iteration."""
    from tests.support.cli import invoke, scratch_project

    scratch_project(tmp_path, {
        "pipelines/l.yaml": """apiVersion: agentctl/v1
name: l
version: 1
steps:
  - id: rounds
    loop:
      max_iterations: 3
      until: false
      steps:
        - {id: ok, approval: {message: another round?}}
""",
    })
    monkeypatch.chdir(tmp_path)
    paused = invoke(capsys, monkeypatch, "run", "pipelines/l.yaml", "--json")
    assert paused.code == 4
    run_id = paused.json()["run_id"]
    for _ in range(2):
        again = invoke(capsys, monkeypatch, "approve", run_id)
        assert again.code == 4, again.out  # the next iteration asks again
    last = invoke(capsys, monkeypatch, "approve", run_id)
    assert last.code == 0 and "total: 4 steps" in last.out


def test_runs_show_gives_a_pending_approvals_context_masked(tmp_path, capsys, monkeypatch):
    from tests.support.cli import invoke, scratch_project

    scratch_project(tmp_path, {
        "pipelines/c.yaml": """apiVersion: agentctl/v1
name: c
version: 1
env:
  API_TOKEN: {secret: true}
steps:
  - id: ok
    approval:
      message: pay?
      context: {amount: 800, token: "${{ env.API_TOKEN }}"}
""",
    })
    monkeypatch.setenv("API_TOKEN", "sk-secret-123456")
    monkeypatch.chdir(tmp_path)
    paused = invoke(capsys, monkeypatch, "run", "pipelines/c.yaml", "--json")
    shown = invoke(capsys, monkeypatch, "runs", "show", paused.json()["run_id"])
    assert "waiting for approval at ok by human: pay?" in shown.out
    assert "    amount: 800" in shown.out and "    token: ***" in shown.out and "sk-secret" not in shown.out


def test_the_journal_commands_speak_json(tmp_path, capsys, monkeypatch):
    from tests.support.cli import invoke, scratch_project

    scratch_project(tmp_path, {
        "pipelines/c.yaml": ("apiVersion: agentctl/v1\nname: c\nversion: 1\nsteps:\n"
                             "  - {id: ok, approval: {message: pay?, context: {amount: 800}}}\n"),
    })
    monkeypatch.chdir(tmp_path)
    run_id = invoke(capsys, monkeypatch, "run", "pipelines/c.yaml", "--json").json()["run_id"]
    listed = invoke(capsys, monkeypatch, "runs", "list", "--json").json()
    assert listed["version"] == 1 and [(r["run_id"], r["status"]) for r in listed["runs"]] == [(run_id, "paused")]
    shown = invoke(capsys, monkeypatch, "runs", "show", run_id, "--json").json()
    assert shown["pending_approvals"] == [{"step": "ok", "approver": "human", "message": "pay?",
                                           "context": {"amount": 800}}]
    approved = invoke(capsys, monkeypatch, "approve", run_id, "--json")
    assert approved.code == 0 and approved.json()["status"] == "succeeded" and approved.json()["version"] == 1
    assert "approved: ok; continuing run" in approved.err


def test_approve_and_resume_take_the_run_s_output_options(project, tmp_path):
    """`run` had --events and --no-live; `approve`, `deny` and `resume`, which continue the same run
    with the same display, did not (nor --otlp-endpoint, --trace-content, --concurrency on approve)."""
    run_id, db = start_paused(project)
    events = tmp_path / "approve-events.jsonl"
    approved = cli(project, "approve", run_id, "--as", "manager", "--replay", "c.json", "--no-live", "--events",
                   str(events), "--concurrency", "2", "--trace-content")
    assert approved.returncode == 0, approved.stderr
    kinds = [json.loads(line)["type"] for line in events.read_text().splitlines()]
    assert kinds[0] == "RunStarted" and kinds[-1] == "RunFinished" and "StepFinished" in kinds
    for command in ("resume", "deny"):
        shown = cli(project, command, "--help")
        assert all(option in shown.stdout for option in ("--events", "--no-live", "--otlp-endpoint")), command
