"""Crash and resume of whole processes: kill -9 at chosen moments, SIGTERM and SIGHUP, changed
content, spent budgets, then `agentctl resume`. (kill -9 at random points: test_kill_9.py; what a
resume gives back, in process: test_resume_restores.py.) The project: tests/support/crash_project.py.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from agentctl import runs
from tests.support.crash_project import (agentctl, committed, crash_server, make_project, run_id,  # noqa: F401
                                         uninterrupted, wait_for_run)
from tests.support.openai_server import Behaviour, FakeOpenAI, answer


@pytest.fixture
def server(crash_server):  # noqa: F811 - this module's projects (and `project`) use the crash server
    return crash_server


def test_resume_refuses_changed_content_unless_forced(tmp_path, server):
    root = make_project(tmp_path / "p", server.url)
    proc = agentctl(root, "run", "pipelines/c.yaml", "-i", "city=oslo")
    wait_for_run(root)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    prompt = root / "prompts" / "p.prompt"
    prompt.write_text(prompt.read_text().replace("{{ text }}", "Please: {{ text }}"))
    out, err = agentctl(root, "resume", run_id(root)).communicate(timeout=60)
    assert "started from different content: prompt p changed" in err
    forced = agentctl(root, "resume", run_id(root), "--force")
    forced.communicate(timeout=60)
    assert forced.returncode == 0


def test_a_spent_budget_resumes_with_a_higher_limit(tmp_path, server):
    root = make_project(tmp_path / "b", server.url)
    path = root / "pipelines" / "c.yaml"
    path.write_text(path.read_text().replace("models:", "budgets: {max_llm_calls: 2}\nmodels:"))
    first = agentctl(root, "run", "pipelines/c.yaml", "-i", "city=oslo", "--json")
    out, _ = first.communicate(timeout=60)
    assert first.returncode == 3 and json.loads(out)["usage"]["llm_calls"] == 2
    still = agentctl(root, "resume", run_id(root), "--json")
    still.communicate(timeout=60)
    assert still.returncode == 3  # the same limit is still spent: what was used counts
    raised = agentctl(root, "resume", run_id(root), "--budget", "max_llm_calls=3", "--json")
    out, err = raised.communicate(timeout=60)
    assert raised.returncode == 0, err
    assert len(server.requests) == 3  # plan and confirm once each, then summary


def _after_start(root):
    return True


def _after_first_commit(root):
    return "plan" in committed(root)


def _after_side_effect_before_its_journal_write(root):
    effects = root / "ledger" / "effects.json"
    return effects.exists() and "reserve" not in committed(root)


@pytest.mark.parametrize("moment", [_after_start, _after_first_commit, _after_side_effect_before_its_journal_write],
                         ids=lambda f: f.__name__.strip("_"))
def test_kill_9_at_chosen_moments_then_resume(tmp_path, server, moment):
    expected = uninterrupted(tmp_path, server)["outputs"]
    root = make_project(tmp_path / "crash", server.url)
    proc = agentctl(root, "run", "pipelines/c.yaml", "-i", "city=oslo")
    wait_for_run(root)
    deadline = time.monotonic() + 30
    while not moment(root) and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    out, err = agentctl(root, "resume", run_id(root), "--json").communicate(timeout=60)
    assert out, err
    assert json.loads(out)["outputs"] == expected
    effects = json.loads((root / "ledger" / "effects.json").read_text())
    assert len(effects) == 2  # reserve and receipt happened once each, whatever the tool was asked


def test_a_run_still_in_progress_cannot_be_resumed(tmp_path):
    slow = FakeOpenAI(default=Behaviour(content="slow", delay_s=20)).start()
    try:
        root = make_project(tmp_path / "p", slow.url)
        proc = agentctl(root, "run", "pipelines/c.yaml", "-i", "city=oslo")
        wait_for_run(root)
        out, err = agentctl(root, "resume", run_id(root)).communicate(timeout=60)
        assert f"run {run_id(root)} is running in process {proc.pid}" in err
        proc.kill()
        proc.communicate(timeout=30)
    finally:
        slow.stop()


def test_listing_runs_where_there_are_none_creates_nothing(tmp_path):
    out, err = agentctl(tmp_path, "runs", "list").communicate(timeout=60)
    assert "no runs recorded" in out and not (tmp_path / ".agentctl").exists()
    _, err = agentctl(tmp_path, "resume", "abc").communicate(timeout=60)
    assert "no runs recorded" in err and not (tmp_path / ".agentctl").exists()


FAN_OUT = """apiVersion: agentctl/v1
name: fan
version: 1
inputs:
  cities: {type: array}
models:
  m:
    model: openai/m
    params: {api_base: "URL", api_key: sk-test, max_tokens: 50}
agents:
  planner: {model: m, prompt: prompts/p.prompt}
steps:
  - {id: each, agent: planner, for_each: "${{ inputs.cities }}", max_items: 20, max_concurrency: 1,
     with: {text: "plan ${{ item }}"}}
outputs:
  plans: ${{ steps.each.output }}
"""


def test_a_fan_out_killed_midway_resumes_with_only_the_items_left(tmp_path):
    asked: list[str] = []

    def answer(body):
        asked.append(body["messages"][-1]["content"])
        return Behaviour(content=body["messages"][-1]["content"].upper(), delay_s=0.2)

    server = FakeOpenAI(default=answer).start()
    try:
        root = make_project(tmp_path / "p", server.url)
        (root / "pipelines" / "f.yaml").write_text(FAN_OUT.replace("URL", server.url))
        cities = json.dumps([f"c{i}" for i in range(8)])
        proc = agentctl(root, "run", "pipelines/f.yaml", "-i", f"cities={cities}")
        wait_for_run(root)
        db = sqlite3.connect(root / ".agentctl" / "journal.db")
        deadline = time.monotonic() + 30
        while db.execute("SELECT COUNT(*) FROM items").fetchone()[0] < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
        finished = {r[0] for r in db.execute("SELECT idx FROM items")}
        assert 3 <= len(finished) < 8
        before = list(asked)
        shown, _ = agentctl(root, "runs", "show", run_id(root)).communicate(timeout=60)
        assert f"each: {len(finished)} items finished and kept; a resume runs the rest" in shown
        out, err = agentctl(root, "resume", run_id(root), "--json").communicate(timeout=60)
    finally:
        server.stop()
    result = json.loads(out)
    assert result["status"] == "succeeded", err
    assert result["outputs"]["plans"] == [f"PLAN C{i}" for i in range(8)]
    again = asked[len(before):]
    assert not {f"plan c{i}" for i in finished} & set(again)  # committed items were not asked again
    assert {f"plan c{i}" for i in range(8)} - {f"plan c{i}" for i in finished} <= set(again)


CHAIN_OF_TWO = """
agents:
  a: {model: m, prompt: prompts/p.prompt}
steps:
  - {id: one, agent: a, with: {text: one}}
  - {id: two, agent: a, needs: [one], with: {text: two}}
"""


def start_held(project, server, *args):
    """`agentctl run` of CHAIN_OF_TWO in its own process, held inside the second model call."""
    import threading

    second = threading.Event()

    def behave(body):
        if body["messages"][-1]["content"] == "two":
            second.set()
            return Behaviour(content="late", delay_s=300)
        return answer("first")

    server.default = behave
    path = project.pipeline(CHAIN_OF_TWO)
    proc = subprocess.Popen([sys.executable, "-m", "agentctl", "run", path, *args], cwd=project.root,
                            env={**os.environ, "NO_COLOR": "1"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    while not second.wait(timeout=0.5):  # the run reaches its second step, or has ended
        assert proc.poll() is None, proc.communicate()
    return proc


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_stop_a_run_like_ctrl_c(project, server, signal_name):
    """They used to kill the process: no summary, no --json, the run left `running` with usage 0."""
    proc = start_held(project, server, "--json")
    proc.send_signal(getattr(signal, signal_name))
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 130, err
    result = json.loads(out)
    assert result["status"] == "interrupted" and result["steps"]["one"]["status"] == "succeeded"
    row = sqlite3.connect(project.root / runs.JOURNAL).execute("SELECT status, usage FROM runs").fetchone()
    assert row[0] == "interrupted" and json.loads(row[1])["steps"] == 1


def test_a_killed_run_reads_as_interrupted_with_what_it_spent(project, server, capsys, monkeypatch):
    from tests.support.cli import invoke

    proc = start_held(project, server)
    proc.kill()
    proc.communicate(timeout=600)
    monkeypatch.chdir(project.root)
    listed = invoke(capsys, monkeypatch, "runs", "list")
    assert " interrupted " in listed.out and "running" not in listed.out
    run = sqlite3.connect(project.root / runs.JOURNAL).execute("SELECT id FROM runs").fetchone()[0]
    shown = invoke(capsys, monkeypatch, "runs", "show", run)
    assert ": interrupted" in shown.out and "usage: 1 step, 1 LLM call" in shown.out
    assert "is gone" in shown.out
