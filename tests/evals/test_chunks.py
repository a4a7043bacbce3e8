"""The pieces of a cluster batch that need no cluster (evals/chunks.py): the lease policy, the
plan, a chunk's view of the eval (its lease as the budget, rate limits divided among workers),
the version check, and the message when Dask is not installed."""

import sys
from dataclasses import replace

import pytest

from agentctl.dimensions import Bounds, Limits, Usage
from agentctl.errors import AgentctlError
from agentctl.evals import chunks
from agentctl.evals.batch import Progress
from tests.support.cli import invoke


def bank(**limits):
    return chunks.Bank(Limits(**limits), Bounds(steps=1, llm_calls=2, tool_calls=0, tokens=100, cost_usd=0.01))


def test_a_lease_is_what_is_left_or_the_rows_worst_case_whichever_is_less():
    b = bank(max_llm_calls=10)
    assert b.check_lease(3)["max_llm_calls"] == 6  # 3 rows x 2 calls
    assert b.check_lease(3)["max_llm_calls"] == 4  # what is left
    assert b.check_lease(1) is None  # not even one row's worst case is free
    assert b.check_lease(1) is None


def test_a_settled_lease_gives_back_what_the_chunk_did_not_spend():
    b = bank(max_llm_calls=10)
    first = b.check_lease(3)
    second = b.check_lease(3)
    b.settle(first, Usage(llm_calls=1))  # 5 of its 6 come back
    assert b.check_lease(10)["max_llm_calls"] == 5
    b.settle(second, Usage(llm_calls=4))
    assert b.used.llm_calls == 5


def test_an_unlimited_dimension_is_not_leased():
    lease = bank(max_cost_usd=1.0).check_lease(4)
    assert lease["max_llm_calls"] is None and lease["max_cost_usd"] == pytest.approx(0.04)


def test_the_plan_cuts_the_rows_left_into_chunks(batch, project):
    from agentctl.evals.command import load
    from tests.evals.conftest import ROWS

    compiled = load(batch(rows=ROWS * 1 + [{**r, "id": r["id"] + "b"} for r in ROWS]), project.root)
    done = Progress(finished={("r1", 0)})
    planned = chunks.plan(compiled, None, done, size=4)
    assert [len(c) for c in planned] == [4, 4, 1]  # 10 rows, one finished
    assert ("r1", 0) not in [k for c in planned for k in c]


def test_a_chunk_runs_within_its_lease_and_its_share_of_the_rate_limits(batch, project):
    from agentctl.evals.command import load

    compiled = load(batch(), project.root)
    model = compiled.pipeline.models["m"]
    compiled = replace(compiled, pipeline=replace(compiled.pipeline, models={
        "m": replace(model, requests_per_minute=600, tokens_per_minute=None)}))
    spec = chunks.ChunkSpec("b1", 0, "evals/smoke.eval.yaml", (), {"max_llm_calls": 7}, 4, "x")
    mine = chunks.within(compiled, spec)
    assert mine.limits.max_llm_calls == 7
    assert mine.pipeline.models["m"].requests_per_minute == 150
    assert mine.pipeline.models["m"].tokens_per_minute is None


def test_a_worker_with_another_agentctl_refuses_the_chunk(batch, project):
    spec = chunks.ChunkSpec("b1", 0, batch(), (("r1", 0),), {}, 1, "0.0.0-other")
    with pytest.raises(AgentctlError, match=r"this worker runs agentctl .*, the driver 0.0.0-other"):
        chunks.run_chunk(spec, project.root)


def test_without_dask_a_cluster_batch_says_how_to_install_it(batch, capsys, monkeypatch):
    path = batch()
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "agentctl.evals.cluster", raising=False)
    import agentctl.evals

    monkeypatch.delattr(agentctl.evals, "cluster", raising=False)  # `from agentctl.evals import cluster` reads it
    ran = invoke(capsys, monkeypatch, "eval", path, "--workers", "2")
    assert ran.code == 2
    assert "--workers and --cluster need Dask distributed, which is not installed" in ran.err
    assert "pip install 'agentctl[cluster]'" in ran.err


@pytest.mark.parametrize("flags, said", [
    (["--workers", "2", "--cluster", "tcp://127.0.0.1:1"], "--workers and --cluster cannot be used together"),
    (["--workers", "2", "--cache", "c"], "--cache cannot be used with --workers or --cluster"),
    (["--cluster", "tcp://127.0.0.1:1", "--record", "r.json"], "--record cannot be used with --workers or --cluster"),
])
def test_what_a_cluster_batch_cannot_do_is_said_before_it_starts(batch, capsys, monkeypatch, flags, said):
    ran = invoke(capsys, monkeypatch, "eval", batch(), *flags)
    assert ran.code == 2 and said in ran.err


def test_an_unreachable_scheduler_is_said_with_how_to_start_one(batch, capsys, monkeypatch):
    pytest.importorskip("distributed")
    from agentctl.evals import cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 0.5)
    ran = invoke(capsys, monkeypatch, "eval", batch(), "--cluster", "tcp://127.0.0.1:1")
    assert ran.code == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:1" in ran.err and "dask scheduler" in ran.err


def test_data_outside_the_project_runs_in_one_process_and_is_refused_on_a_cluster(batch, project, tmp_path_factory,
                                                                                   capsys, monkeypatch):
    """Found by trying: a data file outside the project crashed `eval` (relative_to) before any row ran."""
    from tests.evals.conftest import ROWS

    outside = tmp_path_factory.mktemp("shared") / "rows.jsonl"
    outside.write_text("".join(__import__("json").dumps(r) + "\n" for r in ROWS))
    path = batch()
    eval_file = project.root / path
    eval_file.write_text(eval_file.read_text().replace("data: evals/rows.jsonl", f"data: {outside}"))
    alone = invoke(capsys, monkeypatch, "eval", path, "--format", "json")
    assert alone.code in (0, 5) and len(alone.json()["rows"]) == len(ROWS), alone.err
    pytest.importorskip("distributed")
    spread = invoke(capsys, monkeypatch, "eval", path, "--workers", "2")
    assert spread.code == 2 and "the eval's data" in spread.err and "is outside the project" in spread.err
    from agentctl import runs
    from agentctl.record.batches import batches

    journal = runs.journal_for(project.root)
    try:
        assert len(batches(journal)) == 1  # refused before a batch was recorded
    finally:
        journal.close()


SLOW = """
inputs:
  s: {type: number}
tools:
  slow: {python: "tools.lookup:slow", timeout_s: 120}
steps:
  - {id: wait, tool: slow, with: {seconds: "${{ inputs.s }}"}}
outputs:
  slept: ${{ steps.wait.output.slept }}
"""
SLOW_EVAL = """apiVersion: agentctl/v1
pipeline: pipelines/t.yaml
data: evals/rows.jsonl
inputs: {s: "${{ row.s }}"}
budgets: {max_wall_s: 1}
checks:
  - {name: slept, expect: "${{ outputs.slept == row.s }}"}
"""


@pytest.mark.parametrize("where", [[], ["--workers", "2", "--chunk-rows", "1"]], ids=["one process", "cluster"])
def test_the_batch_wall_budget_stops_the_batch(project, capsys, monkeypatch, where):
    """Found by trying: `budgets: {max_wall_s}` of an eval was accepted and ignored (rows of 30 s ran to the end)."""
    if where:
        pytest.importorskip("distributed")
    project.pipeline(SLOW)
    (project.root / "evals").mkdir()
    (project.root / "evals" / "rows.jsonl").write_text('{"s": 30}\n{"s": 30}\n{"s": 30}\n')
    (project.root / "evals" / "w.eval.yaml").write_text(SLOW_EVAL)
    monkeypatch.chdir(project.root)
    ran = invoke(capsys, monkeypatch, "eval", "evals/w.eval.yaml", "--format", "json", *where)
    assert ran.code == 3, ran.err
    assert ran.json()["status"] == "budget_exceeded" and len(ran.json()["rows"]) < 3
