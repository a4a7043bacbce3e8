"""Crash and resume of whole processes: kill -9 at randomized points, SIGTERM and SIGHUP, then
`agentctl resume`. (What a resume gives back, in process: test_resume_restores.py.)

The project's tools write a ledger: every call is logged, and a side effect happens only once
per idempotency key (a tool that honours its key). The model is the local test server.
"""

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentctl import runs
from tests.support.openai_server import Behaviour, FakeOpenAI, answer

TOOLS = '''
import json, os, time
from pathlib import Path

LEDGER = Path(os.environ["LEDGER_DIR"])

def _log(name, key):
    with open(LEDGER / "calls.log", "a") as f:
        f.write(json.dumps([name, key]) + "\\n")

def book(item: str, idempotency_key: str = "") -> dict:
    _log("book", idempotency_key)
    effects = LEDGER / "effects.json"
    done = json.loads(effects.read_text()) if effects.exists() else {}
    if idempotency_key not in done:
        done[idempotency_key] = {"booked": item, "ref": f"B{len(done) + 1}"}
        effects.write_text(json.dumps(done))
    time.sleep(0.25)  # the side effect is done; the journal write is still to come
    return done[idempotency_key]
'''

PIPELINE = """apiVersion: agentctl/v1
name: crashy
version: 1
inputs:
  city: {type: string}
prices:
  openai/m: {input_per_mtok: 1, output_per_mtok: 2}
models:
  m:
    model: openai/m
    params: {api_base: "URL", api_key: sk-test, max_tokens: 50}
    retry: {max_attempts: 2, initial_s: 0.01, max_s: 0.1}
tools:
  book: {python: "tools.ledger:book", side_effects: true}
agents:
  planner: {model: m, prompt: prompts/p.prompt}
steps:
  - {id: plan, agent: planner, with: {text: "plan ${{ inputs.city }}"}}
  - {id: reserve, tool: book, with: {item: "${{ steps.plan.output }}"}}
  - {id: confirm, agent: planner, with: {text: "confirm ${{ steps.reserve.output.ref }}"}}
  - {id: receipt, tool: book, with: {item: "${{ steps.confirm.output }}"}}
  - {id: summary, agent: planner, with: {text: "summary ${{ steps.receipt.output.ref }}"}}
outputs:
  ref: ${{ steps.receipt.output.ref }}
  summary: ${{ steps.summary.output }}
"""
PROMPT = "---\nname: p\nversion: 1\ninputs:\n  text: {type: string}\n---\nuser:\n{{ text }}\n"


@pytest.fixture
def server():
    fake = FakeOpenAI(default=lambda body: Behaviour(content=body["messages"][-1]["content"].upper(), delay_s=0.15))
    yield fake.start()
    fake.stop()


def make_project(root: Path, url: str) -> Path:
    for sub in ("pipelines", "prompts", "tools", "ledger"):
        (root / sub).mkdir(parents=True)
    (root / "agentctl.lock").write_text("")
    (root / "prompts" / "p.prompt").write_text(PROMPT)
    (root / "tools" / "__init__.py").write_text("")
    (root / "tools" / "ledger.py").write_text(TOOLS)
    (root / "pipelines" / "c.yaml").write_text(PIPELINE.replace("URL", url))
    return root


def agentctl(root: Path, *args: str, **kw):
    env = {**os.environ, "LEDGER_DIR": str(root / "ledger"), "NO_COLOR": "1"}
    return subprocess.Popen([sys.executable, "-m", "agentctl", *args], cwd=root, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def committed(root: Path) -> set[str]:
    db = sqlite3.connect(root / ".agentctl" / "journal.db")
    return {r[0] for r in db.execute("SELECT step FROM steps WHERE status = 'succeeded'")}


def run_id(root: Path) -> str:
    return sqlite3.connect(root / ".agentctl" / "journal.db").execute("SELECT id FROM runs").fetchone()[0]


def wait_for_run(root: Path, timeout: float = 30.0) -> None:
    """Until the run is in the journal (start-up, with litellm's import, takes a few seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if sqlite3.connect(root / ".agentctl" / "journal.db").execute("SELECT id FROM runs").fetchone():
                return
        except sqlite3.OperationalError:
            pass
        time.sleep(0.02)
    raise AssertionError("the run never started")


def kill_somewhere(root: Path, proc, rng: random.Random) -> None:
    """kill -9 after a random number (0-3) of the run's 5 steps committed, at once or a moment later: spread
    over the run whatever the machine's speed (a clock-based point lands after the end on a fast
    machine and before the start on a loaded one)."""
    wait_for_run(root)
    target, deadline = rng.randrange(4), time.monotonic() + 60
    while len(committed(root)) < target and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.0 if rng.random() < 0.5 else rng.uniform(0.0, 0.2))  # right after a commit, or later
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)


def finished_before_the_kill(root: Path, expected: dict) -> bool:
    """True when the kill came after the end: then what the run journaled must be whole."""
    status, outputs = sqlite3.connect(root / ".agentctl" / "journal.db").execute(
        "SELECT status, outputs FROM runs").fetchone()
    if status != "succeeded":
        return False
    assert json.loads(outputs) == expected
    effects = json.loads((root / "ledger" / "effects.json").read_text())
    assert sorted(effects) == sorted([f"{run_id(root)}:reserve:0", f"{run_id(root)}:receipt:0"])
    return True


def uninterrupted(tmp_path, server) -> dict:
    root = make_project(tmp_path / "clean", server.url)
    out, err = agentctl(root, "run", "pipelines/c.yaml", "-i", "city=oslo", "--json").communicate(timeout=60)
    result = json.loads(out)
    assert result["status"] == "succeeded", err
    return result


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_kill_9_anywhere_then_resume(tmp_path, server, seed):
    clean = uninterrupted(tmp_path, server)
    expected = clean["outputs"]
    root = make_project(tmp_path / "crash", server.url)
    proc = agentctl(root, "run", "pipelines/c.yaml", "-i", "city=oslo")
    kill_somewhere(root, proc, random.Random(seed))
    before = committed(root)
    if finished_before_the_kill(root, expected):
        return
    requests_before = len(server.requests)
    calls_before = (root / "ledger" / "calls.log").read_text().splitlines() if (root / "ledger" / "calls.log").exists() else []

    out, err = agentctl(root, "resume", run_id(root), "--json").communicate(timeout=60)
    assert out, err
    result = json.loads(out)
    assert result["status"] == "succeeded", err
    assert result["outputs"] == expected  # the same answer as a run that was never interrupted

    # Committed steps were not executed again: no model request repeats a committed step's prompt,
    new_prompts = [body["messages"][-1]["content"] for _, body in server.requests[requests_before:]]
    for step, word in (("plan", "plan"), ("confirm", "confirm"), ("summary", "summary")):
        if step in before:
            assert not any(p.startswith(word) for p in new_prompts), (step, before)
    # and no committed tool step's tool was called again.
    calls_after = (root / "ledger" / "calls.log").read_text().splitlines()[len(calls_before):]
    for step in ("reserve", "receipt"):
        if step in before:
            assert not any(f":{step}:" in line for line in calls_after), (step, before)
    # Each side effect happened exactly once.
    effects = json.loads((root / "ledger" / "effects.json").read_text())
    assert sorted(effects) == sorted([f"{run_id(root)}:reserve:0", f"{run_id(root)}:receipt:0"])


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


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """One uninterrupted run against the local server, recorded; then its replay, timed."""
    fake = FakeOpenAI(default=lambda body: Behaviour(content=body["messages"][-1]["content"].upper())).start()
    try:
        root = make_project(tmp_path_factory.mktemp("recorded"), fake.url)
        cassette = root / "c.json"
        out, err = agentctl(root, "run", "pipelines/c.yaml", "-i", "city=oslo", "--json",
                            "--record", str(cassette)).communicate(timeout=60)
        assert json.loads(out)["status"] == "succeeded", err
    finally:
        fake.stop()
    replay_root = make_project(tmp_path_factory.mktemp("replayed"), fake.url)
    out, err = agentctl(replay_root, "run", "pipelines/c.yaml", "-i", "city=oslo", "--json",
                        "--replay", str(cassette)).communicate(timeout=60)
    clean = json.loads(out)
    assert clean["status"] == "succeeded", err
    return clean, cassette, fake.url


@pytest.mark.parametrize("trial", range(30))
def test_kill_9_at_30_random_points_then_resume_spends_and_gives_what_one_run_does(tmp_path, recorded, trial):
    # Replayed from a cassette (no litellm import: ~0.3 s a process), so 30 trials stay cheap;
    # test_kill_9_anywhere_then_resume does the same through litellm and the local server.
    clean, cassette, url = recorded
    root = make_project(tmp_path / "crash", url)
    proc = agentctl(root, "run", "pipelines/c.yaml", "-i", "city=oslo", "--replay", str(cassette))
    kill_somewhere(root, proc, random.Random(1000 + trial))
    before = committed(root)
    if finished_before_the_kill(root, clean["outputs"]):
        return
    log = root / "ledger" / "calls.log"
    calls_before = log.read_text().splitlines() if log.exists() else []

    out, err = agentctl(root, "resume", run_id(root), "--json", "--replay", str(cassette)).communicate(timeout=60)
    result = json.loads(out)
    assert result["status"] == "succeeded", err
    assert result["outputs"] == clean["outputs"]
    assert result["usage"] == clean["usage"], before  # nothing committed was paid for twice, nothing lost
    calls_after = log.read_text().splitlines()[len(calls_before):]
    for step in ("reserve", "receipt"):
        if step in before:
            assert not any(f":{step}:" in line for line in calls_after), (step, before)
    effects = json.loads((root / "ledger" / "effects.json").read_text())
    assert sorted(effects) == sorted([f"{run_id(root)}:reserve:0", f"{run_id(root)}:receipt:0"])
