"""A project for whole-process crash tests (tests/record/test_resume.py, test_kill_9.py): its
tool writes a ledger, logging every call, and makes its side effect once per idempotency key
(a tool that honours its key). The model is the local test server (`crash_server`)."""

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

from tests.support.openai_server import Behaviour, FakeOpenAI
from tests.support.signals import interruptible

TOOLS = '''
import fcntl, json, os, time
from pathlib import Path

LEDGER = Path(os.environ["LEDGER_DIR"])

def _log(name, key):
    with open(LEDGER / "calls.log", "a") as f:
        f.write(json.dumps([name, key]) + "\\n")

def book(item: str, idempotency_key: str = "") -> dict:
    _log("book", idempotency_key)
    effects = LEDGER / "effects.json"
    with open(LEDGER / "effects.lock", "w") as lock:  # a batch books from several rows at once
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = json.loads(effects.read_text()) if effects.exists() else {}
        if idempotency_key not in done:
            done[idempotency_key] = {"booked": item, "ref": f"B{len(done) + 1}"}
            effects.write_text(json.dumps(done))
        booked = done[idempotency_key]
    time.sleep(0.25)  # the side effect is done; the journal write is still to come
    return booked
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
def crash_server():
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
                            stderr=subprocess.PIPE, text=True, preexec_fn=interruptible, **kw)


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
