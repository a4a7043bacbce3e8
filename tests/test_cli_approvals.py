"""Approvals as a user meets them: asked at a terminal (answered, interrupted, left without an
answer, erased by the live view), paused without one, answered on the command line."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import run_cli
from tests.support.example import cassette_for_expense


def test_approval_without_a_terminal_pauses_with_exit_4(tmp_path):
    cassette = tmp_path / "c.json"
    policy = {"category": "travel", "within_policy": True, "reason": "ok"}
    cassette_for_expense(cassette, policy)
    args = ["run", "pipelines/expense_approval.yaml", "-i", "requester=ada", "-i", "description=train",
            "-i", "amount_usd=800", "--replay", str(cassette)]
    paused = run_cli(*args)
    assert paused.returncode == 4 and "approval by manager" in paused.stdout
    assert run_cli(*args, "--approve").returncode == 0
    denied = run_cli(*args, "--deny", "--json")
    assert json.loads(denied.stdout)["steps"]["pay"]["status"] == "skipped"


APPROVAL = "apiVersion: agentctl/v1\nname: a\nversion: 1\nsteps:\n  - {id: ok, approval: {message: \"go?\"}}\n"


@pytest.mark.parametrize("answer", ["y\n", "n\n"])
def test_an_approval_question_at_the_terminal_is_answered_there(tmp_path, answer):
    from tests.support.cli import scratch_project
    from tests.support.terminal import Terminal

    scratch_project(tmp_path, {"pipelines/a.yaml": APPROVAL})
    terminal = Terminal([sys.executable, "-m", "agentctl", "run", "pipelines/a.yaml"], tmp_path, columns=100)
    terminal.expect("approve? [y/N]")
    terminal.type(answer)
    code, screen = terminal.finish()
    assert code == 0, screen
    assert ("ok    succeeded" if answer == "y\n" else "ok    denied") in screen


def test_ctrl_c_at_an_approval_question_stops_the_run_at_once(tmp_path):
    """The question was read in a thread of asyncio's default executor, which the run's end waits
    for: after Ctrl-C the run hung until Enter (or a second Ctrl-C)."""
    import sqlite3

    from tests.support.cli import scratch_project
    from tests.support.terminal import Terminal

    scratch_project(tmp_path, {"pipelines/a.yaml": APPROVAL})
    terminal = Terminal([sys.executable, "-m", "agentctl", "run", "pipelines/a.yaml"], tmp_path, columns=100)
    terminal.expect("approve? [y/N]")
    terminal.interrupt()
    terminal.expect("continue with: agentctl resume")
    code, screen = terminal.finish()
    assert code == 130, screen
    assert "Traceback" not in screen
    after_question = screen.split("approve? [y/N]")[1]
    assert "\n" in after_question[:after_question.index("run ")]  # the summary starts on a line of its own
    (status,) = sqlite3.connect(tmp_path / ".agentctl" / "journal.db").execute("SELECT status FROM runs").fetchone()
    assert status == "interrupted"


def test_with_stderr_not_a_terminal_an_approval_pauses_rather_than_asks_unseen(tmp_path):
    """`agentctl run ... 2> run.log` at a terminal wrote the question into the log and waited for
    an answer the user was never asked for: the run seemed to hang."""
    import pty

    from tests.support.cli import scratch_project

    scratch_project(tmp_path, {"pipelines/a.yaml": APPROVAL})
    master, slave = pty.openpty()
    try:
        with open(tmp_path / "run.log", "w") as log:
            done = subprocess.run([sys.executable, "-m", "agentctl", "run", "pipelines/a.yaml"], cwd=tmp_path,
                                  stdin=slave, stdout=subprocess.PIPE, stderr=log, text=True, timeout=120)
    finally:
        os.close(slave)
        os.close(master)
    assert done.returncode == 4, (tmp_path / "run.log").read_text()
    assert "approve? [y/N]" not in (tmp_path / "run.log").read_text()
    assert "agentctl approve" in done.stdout


def test_end_of_input_at_an_approval_question_pauses_the_run_rather_than_denies(tmp_path):
    """Ctrl-D (or the terminal closing) at the question was recorded as a denial by the human at
    the terminal, a decision nobody made: a denied step is skipped for good. It now pauses."""
    import sqlite3

    from tests.support.cli import scratch_project
    from tests.support.terminal import Terminal

    scratch_project(tmp_path, {"pipelines/a.yaml": APPROVAL})
    terminal = Terminal([sys.executable, "-m", "agentctl", "run", "pipelines/a.yaml"], tmp_path, columns=100)
    terminal.expect("approve? [y/N]")
    terminal.type("\x04")  # Ctrl-D at the start of a line: end of input
    code, screen = terminal.finish()
    assert code == 4, screen
    assert "denied" not in screen and "agentctl approve" in screen
    db = sqlite3.connect(tmp_path / ".agentctl" / "journal.db")
    assert db.execute("SELECT status FROM runs").fetchone() == ("paused",)


def test_the_approval_question_and_its_answer_stay_on_the_screen(tmp_path):
    """After the answer the live view started again and redrew its frame where it had been,
    moving the cursor up over the question: the question, its context and the answer were erased
    from the screen and the scrollback."""
    from tests.support.cli import scratch_project
    from tests.support.terminal import Terminal

    three = ("apiVersion: agentctl/v1\nname: b\nversion: 1\nsteps:\n  - {id: first, gate: {check: true}}\n"
             "  - {id: ok, approval: {message: \"go?\"}, needs: [first]}\n"
             "  - {id: after, gate: {check: true}, needs: [ok]}\n")
    scratch_project(tmp_path, {"pipelines/b.yaml": three})
    terminal = Terminal([sys.executable, "-m", "agentctl", "run", "pipelines/b.yaml"], tmp_path, columns=100)
    terminal.expect("approve? [y/N]")
    terminal.type("y\n")
    code, screen = terminal.finish()
    assert code == 0, screen
    raw = terminal.received.decode("utf-8", "replace")
    answered = raw[raw.index("approve? [y/N]"):]
    up = "\x1b[1A"  # cursor up: how a live view redraws over what it drew before
    assert up not in answered[:answered.index("┏")], "the next frame is drawn over the question"


def test_a_paused_run_says_its_waiting_step_is_paused_not_cancelled(tmp_path):
    """The summary and --json said `cancelled` for the step that waits for an approval, while the
    live view and the trace said `paused`: a user read it as stopped for good."""
    from tests.support.cli import scratch_project

    scratch_project(tmp_path, {"pipelines/a.yaml": APPROVAL})
    done = subprocess.run([sys.executable, "-m", "agentctl", "run", "pipelines/a.yaml", "--json"], cwd=tmp_path,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert done.returncode == 4, done.stderr
    assert json.loads(done.stdout)["steps"]["ok"]["status"] == "paused"
