"""Batches after they ran: shards and their merge, `eval show`, baselines and flipped rows;
the response cache (`--cache DIR`): answers reused, errors asked again."""

import json

from tests.evals.conftest import ROWS
from tests.support.cli import invoke

MORE = [{"id": f"x{i}", "question": f"q{i}", "n": i, "expected": f"Q{i}"} for i in range(12)]


def _comparable(report):
    return sorted((r["row_id"], r["attempt"], r["status"], r["passed"], json.dumps(r["checks"], sort_keys=True))
                  for r in report["rows"])


def test_shards_add_up_to_the_whole_and_merge_equals_an_unsharded_run(batch, capsys, monkeypatch, project):
    path = batch(rows=ROWS + MORE)
    whole = invoke(capsys, monkeypatch, "eval", path, "-o", "whole.json")
    assert whole.code == 0, whole.err
    shards = []
    for i in (1, 2, 3):
        done = invoke(capsys, monkeypatch, "eval", path, "--shard", f"{i}/3", "-o", f"s{i}.json")
        assert done.code in (0, 5), done.err
        shards.append(json.loads((project.root / f"s{i}.json").read_text()))
    ids = [{r["row_id"] for r in s["rows"]} for s in shards]
    assert all(ids) and not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    merged = invoke(capsys, monkeypatch, "eval", "merge", "s3.json", "s1.json", "s2.json", "-o", "merged.json")
    assert merged.code == 0, merged.err
    a, b = (json.loads((project.root / f).read_text()) for f in ("whole.json", "merged.json"))
    assert _comparable(a) == _comparable(b)
    assert {k: v for k, v in a["totals"].items() if k not in ("duration_s", "cost_usd")} == \
           {k: v for k, v in b["totals"].items() if k not in ("duration_s", "cost_usd")}
    assert a["checks"] == b["checks"] and a["missed"] == b["missed"]


def test_shard_membership_does_not_change_when_rows_are_appended(batch, capsys, monkeypatch, project):
    invoke(capsys, monkeypatch, "eval", batch(rows=ROWS + MORE[:6]), "--shard", "2/3", "-o", "before.json")
    invoke(capsys, monkeypatch, "eval", batch(rows=ROWS + MORE), "--shard", "2/3", "-o", "after.json")
    before, after = ({r["row_id"] for r in json.loads((project.root / f).read_text())["rows"]}
                     for f in ("before.json", "after.json"))
    assert before and before <= after


def test_merge_refuses_a_missing_or_repeated_shard(batch, capsys, monkeypatch, project):
    path = batch()
    for i in (1, 2):
        invoke(capsys, monkeypatch, "eval", path, "--shard", f"{i}/2", "-o", f"s{i}.json")
    missing = invoke(capsys, monkeypatch, "eval", "merge", "s1.json")
    assert missing.code == 2 and "shard(s) 2/2 missing" in missing.err
    twice = invoke(capsys, monkeypatch, "eval", "merge", "s1.json", "s1.json", "s2.json")
    assert twice.code == 2 and "are both shard 1/2" in twice.err
    bad = invoke(capsys, monkeypatch, "eval", path, "--shard", "3/2")
    assert bad.code == 2 and "--shard 3/2: expected i/n with 1 <= i <= n" in bad.err


def test_eval_show_rebuilds_the_report_from_the_journal(batch, capsys, monkeypatch, project):
    done = invoke(capsys, monkeypatch, "eval", batch(), "-o", "report.json")
    report = json.loads((project.root / "report.json").read_text())
    shown = invoke(capsys, monkeypatch, "eval", "show", report["batch_id"], "-f", "json")
    assert shown.code == done.code == 0
    assert json.loads(shown.out) == report
    failed = invoke(capsys, monkeypatch, "eval", "show", report["batch_id"], "--failed")
    assert "row 3 (r3" in failed.out and "row 1 (r1" not in failed.out
    unknown = invoke(capsys, monkeypatch, "eval", "show", "nosuchbatch")
    assert unknown.code == 2 and "no batch nosuchbatch" in unknown.err


def test_a_baseline_counts_flips_of_rows_that_were_stable(batch, capsys, monkeypatch, project, server):
    from tests.support.openai_server import Behaviour

    path = batch()
    invoke(capsys, monkeypatch, "eval", path, "-o", "base.json")
    answers = {"hello": "HELLO", "bye": "wrong", "wrong": "NOPE", "boom": "BOOM"}  # r2 breaks, r3 and r4 mend
    server.default = lambda body: Behaviour(content=answers[body["messages"][-1]["content"]])
    rows = [dict(r, expected="NOPE") if r["id"] == "r3" else r for r in ROWS]
    path = batch(rows=rows)
    head = invoke(capsys, monkeypatch, "eval", path, "-o", "head.json", "--baseline", "base.json")
    assert "flipped pass -> fail: 1 (r2)" in head.out
    assert "flipped fail -> pass: 2 (r3, r4)" in head.out
    assert "pass rate 40.0% -> 60.0% (+20.0 pp)" in head.out
    compared = invoke(capsys, monkeypatch, "eval", "compare", "base.json", "head.json", "-f", "json")
    delta = json.loads(compared.out)
    assert delta["pass_to_fail"] == ["r2"] and delta["fail_to_pass"] == ["r3", "r4"]
    assert delta["checks"]["exact"]["delta"] == round(3 / 4 - 2 / 3, 4)


def test_rows_unstable_in_the_baseline_are_not_counted_as_flips():
    from agentctl.evals.compare import compare

    def report(rows, min_pass=1):
        return {"batch_id": "b", "config": {"min_pass": min_pass}, "checks": {},
                "totals": {"pass_rate": 0.5, "cost_usd": {"sum": 0, "mean": 0, "p95": 0},
                           "duration_s": {"mean": 0, "p95": 0}},
                "rows": [{"row_id": rid, "passed": p} for rid, p in rows]}

    base = report([("a", True), ("a", False), ("b", True), ("b", True)], min_pass=2)
    head = report([("a", False), ("a", False), ("b", False), ("b", False)], min_pass=2)
    delta = compare(base, head)
    assert delta["pass_to_fail"] == ["b"] and delta["unstable_in_base"] == 1


def test_a_second_batch_is_answered_from_the_cache_except_for_errors(batch, capsys, monkeypatch, project, server):
    path = batch()
    first = invoke(capsys, monkeypatch, "eval", path, "--cache", "cache", "-o", "first.json")
    asked = server.count()
    assert first.code == 0 and asked >= 4
    second = invoke(capsys, monkeypatch, "eval", path, "--cache", "cache", "-o", "second.json")
    assert second.code == 0, second.err
    errors = [r for r in json.loads((project.root / "first.json").read_text())["rows"] if r["status"] == "failed"]
    # only the row whose call failed asks again (the failure was not cached); the others cost nothing
    assert server.count() - asked == sum(1 for _ in errors) and errors
    rows = json.loads((project.root / "second.json").read_text())["rows"]
    assert sum(r["usage"]["tokens"] for r in rows) == 0
    assert [(r["row_id"], r["passed"]) for r in rows] == \
           [(r["row_id"], r["passed"]) for r in json.loads((project.root / "first.json").read_text())["rows"]]
    assert "3 answer(s) from the cache, 1 asked" in second.out


def test_diff_adds_the_eval_and_its_comparison_to_the_pr_comment(batch, capsys, monkeypatch, project, server):
    from tests.diff.test_diff import git
    from tests.support.openai_server import Behaviour

    path = batch()
    git(project.root, "init", "-q", "-b", "main")
    git(project.root, "add", "-A")
    git(project.root, "commit", "-qm", "base")
    invoke(capsys, monkeypatch, "eval", path, "-o", "base.json")
    server.default = lambda body: Behaviour(content="x")  # every row fails `exact` now
    invoke(capsys, monkeypatch, "eval", path, "-o", "head.json")
    markdown = invoke(capsys, monkeypatch, "diff", "main", "-f", "markdown", "--eval", "head.json",
                      "--eval-base", "base.json")
    assert markdown.code == 0, markdown.err
    assert "### agentctl eval `evals/smoke.eval.yaml`: thresholds missed" in markdown.out
    assert "Flipped pass → fail: **2** (`r1`, `r2`)" in markdown.out
    document = invoke(capsys, monkeypatch, "diff", "main", "-f", "json", "--eval", "head.json",
                      "--eval-base", "base.json").json()
    assert document["eval"]["compare"]["pass_to_fail"] == ["r1", "r2"] and document["eval"]["missed"]
    alone = invoke(capsys, monkeypatch, "diff", "main", "--eval-base", "base.json")
    assert alone.code == 2 and "--eval-base needs --eval" in alone.err


def test_a_batch_writes_one_trace_file_and_trace_finds_a_row_in_it(batch, capsys, monkeypatch, project):
    invoke(capsys, monkeypatch, "eval", batch(), "-o", "report.json")
    report = json.loads((project.root / "report.json").read_text())
    files = list((project.root / ".agentctl" / "traces").iterdir())
    assert [f.name for f in files] == [f"batch-{report['batch_id']}.jsonl"]
    ran = [r for r in report["rows"] if r["run_id"]]
    assert len(files[0].read_text().splitlines()) == len(ran) == 4  # r5 was invalid: no run
    shown = invoke(capsys, monkeypatch, "trace", ran[0]["run_id"])
    assert shown.code == 0 and "invoke_agent a" in shown.out, shown.err


def test_a_trace_file_that_cannot_be_written_is_a_warning_not_a_crash(batch, capsys, monkeypatch, project):
    """Found by trying, on a small tmpfs: the batch's trace file hit a full disk and the batch
    ended in "internal error: agentctl crashed" (a run's own trace file was already a warning)."""
    (project.root / ".agentctl").mkdir(exist_ok=True)
    (project.root / ".agentctl" / "traces").write_text("not a folder")  # no trace file can be made in it
    done = invoke(capsys, monkeypatch, "eval", batch(), "-o", "report.json")
    assert done.code == 0, done.out + done.err
    assert done.err.count("warning: could not write the batch's trace file") == 1, done.err
    assert len(json.loads((project.root / "report.json").read_text())["rows"]) == 5


def test_resume_runs_a_row_whose_run_was_recorded_in_the_batch_but_never_started(batch, capsys, monkeypatch,
                                                                                  project):
    """kill -9 between the row's record (with its run id) and its run's: the resume starts that run."""
    import sqlite3

    invoke(capsys, monkeypatch, "eval", batch(), "-o", "report.json")
    report = json.loads((project.root / "report.json").read_text())
    run_id = next(r["run_id"] for r in report["rows"] if r["row_id"] == "r2")
    db = sqlite3.connect(project.root / ".agentctl" / "journal.db")
    db.execute("DELETE FROM steps WHERE run_id = ?", (run_id,))
    db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
    db.execute("UPDATE batch_rows SET status = 'running' WHERE run_id = ?", (run_id,))
    db.execute("UPDATE batches SET status = 'interrupted'")
    db.commit()
    db.close()
    done = invoke(capsys, monkeypatch, "resume", report["batch_id"])
    assert done.code == 0, done.out + done.err
    assert "passed 2 (40.0%)" in done.out


def test_a_baseline_that_cannot_be_read_stops_the_eval_before_any_call(batch, capsys, monkeypatch, server):
    done = invoke(capsys, monkeypatch, "eval", batch(), "--baseline", "missing.json")
    assert done.code == 2 and "missing.json does not exist" in done.err and server.count() == 0


def test_only_the_first_row_of_a_batch_announces_the_servers_it_starts():
    """Every row's run said the batch's MCP servers were starting, though only the first starts them."""
    import asyncio
    from types import SimpleNamespace

    from agentctl.evals.batch import SharedTools

    class Servers:
        async def start_all(self, names):
            pass

    tool = SimpleNamespace(spec=SimpleNamespace(kind="mcp", target="itinerary"))
    shared = SharedTools(SimpleNamespace(tools={"find": tool}, servers=Servers()))

    async def two_rows():
        first = shared.servers_for({"find"})
        await shared.prepare({"find"})
        return first, shared.servers_for({"find"})
    assert asyncio.run(two_rows()) == (["itinerary"], [])


def test_shared_tools_stay_up_when_a_run_ends_and_stop_when_the_batch_does():
    """The batch called close() on its shared tools, which does nothing (a row's run ends): their
    servers were left for the event loop's end to stop. It calls stop()."""
    import asyncio
    from types import SimpleNamespace

    from agentctl.evals.batch import Batch, SharedTools

    class Servers:
        closed = 0

        async def close(self):
            Servers.closed += 1

    shared = SharedTools(SimpleNamespace(tools={}, servers=Servers()))
    asyncio.run(shared.close())
    assert Servers.closed == 0  # a row's run ended: the next rows still use them
    batch = SimpleNamespace(judge_tools={}, tools=shared, traces=None)
    asyncio.run(Batch.close(batch))
    assert Servers.closed == 1


def test_a_cache_folder_that_cannot_be_written_is_refused_before_any_call(batch, capsys, monkeypatch, project, server):
    (project.root / "taken").write_text("a file where the cache folder would go")
    done = invoke(capsys, monkeypatch, "eval", batch(), "--cache", "taken")
    assert done.code == 2 and server.count() == 0, done.err
    assert "error: --cache taken: taken is not a folder" in done.err
