"""Shell completion through typer's own mechanism: pipeline and eval paths from the project, run
and batch ids from the journal, in a fresh process as a shell asks for them."""

import os
import subprocess
import sys

from tests.conftest import REPO


def complete(words: str, cwd) -> list[str]:
    env = {**os.environ, "_AGENTCTL_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split(" ")) - 1)}
    done = subprocess.run([sys.executable, "-m", "agentctl"], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and not done.stderr, done.stderr
    return done.stdout.split()


def test_pipeline_and_eval_paths_complete(tmp_path):
    assert complete("agentctl run pipelines/a", REPO) == ["pipelines/article_review.yaml"]
    assert complete("agentctl eval evals/exp", REPO) == ["evals/expense_approval.eval.yaml"]


def test_run_and_batch_ids_complete_from_the_journal(tmp_path):
    from tests.record.test_journal import copy_project

    root = copy_project(tmp_path / "p")
    ran = subprocess.run([sys.executable, "-m", "agentctl", "run", "pipelines/article_review.yaml", "-i", "topic=x",
                          "--replay", "pipelines/cassettes/article_review.json", "--json"], cwd=root,
                         capture_output=True, text=True, timeout=60)
    import json

    run_id = json.loads(ran.stdout)["run_id"]
    assert complete(f"agentctl trace {run_id[:4]}", root) == [run_id]
    assert complete(f"agentctl resume {run_id[:4]}", root) == [run_id]
    assert complete("agentctl trace zz", root) == []
    assert complete("agentctl trace ", tmp_path) == []  # no journal: nothing, and no error


def test_approve_offers_paused_runs_and_resume_unfinished_ones(tmp_path):
    """`agentctl approve <TAB>` offered every run, a succeeded one too, which approve then refuses."""
    import json

    from tests.record.test_journal import copy_project
    from tests.support.example import cassette_for_expense

    root = copy_project(tmp_path / "p")
    cassette = tmp_path / "c.json"
    cassette_for_expense(cassette, {"category": "travel", "within_policy": True, "reason": "ok"})
    ran = {}
    for name, args in {"paused": ["-i", "amount_usd=800"], "done": ["-i", "amount_usd=800", "--approve"]}.items():
        done = subprocess.run([sys.executable, "-m", "agentctl", "run", "pipelines/expense_approval.yaml", "-i",
                               "requester=ada", "-i", "description=train", *args, "--replay", str(cassette), "--json"],
                              cwd=root, capture_output=True, text=True, timeout=60)
        ran[name] = json.loads(done.stdout)["run_id"]
    assert complete("agentctl approve ", root) == [ran["paused"]]
    assert complete("agentctl deny ", root) == [ran["paused"]]
    assert complete("agentctl resume ", root) == [ran["paused"]]
    assert sorted(complete("agentctl trace ", root)) == sorted(ran.values())
