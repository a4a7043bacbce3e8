"""kill -9 of whole processes at randomized points, then `agentctl resume`: the resumed run gives
what an uninterrupted one gives, spends what it spends, and makes each side effect once."""

import json
import random

import pytest

from tests.support.crash_project import (Behaviour, FakeOpenAI, agentctl, committed, crash_server,  # noqa: F401
                                         finished_before_the_kill, kill_somewhere, make_project, run_id, uninterrupted)

@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_kill_9_anywhere_then_resume(tmp_path, crash_server, seed):
    clean = uninterrupted(tmp_path, crash_server)
    expected = clean["outputs"]
    root = make_project(tmp_path / "crash", crash_server.url)
    proc = agentctl(root, "run", "pipelines/c.yaml", "-i", "city=oslo")
    kill_somewhere(root, proc, random.Random(seed))
    before = committed(root)
    if finished_before_the_kill(root, expected):
        return
    requests_before = len(crash_server.requests)
    calls_before = (root / "ledger" / "calls.log").read_text().splitlines() if (root / "ledger" / "calls.log").exists() else []

    out, err = agentctl(root, "resume", run_id(root), "--json").communicate(timeout=60)
    assert out, err
    result = json.loads(out)
    assert result["status"] == "succeeded", err
    assert result["outputs"] == expected  # the same answer as a run that was never interrupted

    # Committed steps were not executed again: no model request repeats a committed step's prompt,
    new_prompts = [body["messages"][-1]["content"] for _, body in crash_server.requests[requests_before:]]
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
