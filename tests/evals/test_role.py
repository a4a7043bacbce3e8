"""An eval of a pipeline with a policy runs every row as one role (`--role`, AGENTCTL_ROLE),
checked before any row runs, recorded with each row's run."""

import json

from tests.run.test_policy import BODY
from tests.support.cli import invoke

EVAL = """apiVersion: agentctl/v1
pipeline: pipelines/t.yaml
data: evals/rows.jsonl
row_id: ${{ row.id }}
inputs:
  q: ${{ row.q }}
checks:
  - {name: upper, expect: "${{ outputs.result == row.q | upper }}"}
"""


def eval_project(project, monkeypatch):
    project.pipeline(BODY)
    (project.root / "evals").mkdir()
    rows = [{"id": "open", "q": "hello"}, {"id": "closed", "q": "secret plan"}]
    (project.root / "evals" / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (project.root / "evals" / "t.eval.yaml").write_text(EVAL)
    monkeypatch.chdir(project.root)
    monkeypatch.delenv("AGENTCTL_ROLE", raising=False)


def test_an_eval_needs_a_role_for_a_pipeline_with_a_policy(project, monkeypatch, capsys):
    eval_project(project, monkeypatch)
    ran = invoke(capsys, monkeypatch, "eval", "evals/t.eval.yaml")
    assert ran.code == 2 and "pipeline t has a policy: say which role runs it" in ran.err
    assert not (project.root / ".agentctl" / "journal.db").exists()  # refused before a batch was recorded


def test_every_row_runs_as_the_role_and_the_policy_decides_its_calls(project, monkeypatch, capsys):
    eval_project(project, monkeypatch)
    ran = invoke(capsys, monkeypatch, "eval", "evals/t.eval.yaml", "--role", "clerk", "--format", "json")
    report = ran.json()
    rows = {r["row_id"]: r for r in report["rows"]}
    assert rows["open"]["passed"] is True, rows["open"]
    assert rows["closed"]["passed"] is False and "policy rule 2" in rows["closed"]["error"], rows["closed"]
    for row in rows.values():
        assert invoke(capsys, monkeypatch, "runs", "show", row["run_id"], "--json").json()["role"] == "clerk"
