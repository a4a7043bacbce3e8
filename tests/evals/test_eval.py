"""`agentctl eval`: rows run as journaled runs against the local server, each checked, reported
from the journal, with the exit codes of the thresholds."""

import json

import xmlschema

from tests.evals.conftest import PIPELINE, ROWS
from tests.evals.test_example import JUNIT_XSD
from tests.support.cli import invoke


def test_rows_with_mixed_outcomes_are_checked_and_reported_from_the_journal(batch, capsys, monkeypatch, project):
    done = invoke(capsys, monkeypatch, "eval", batch(), "-o", "report.json")
    assert done.code == 0, done.out + done.err
    report = json.loads((project.root / "report.json").read_text())
    assert report["version"] == 1 and report["status"] == "succeeded"
    rows = {r["row_id"]: r for r in report["rows"]}
    assert {rid: (r["status"], r["passed"]) for rid, r in rows.items()} == {
        "r1": ("succeeded", True), "r2": ("succeeded", True), "r3": ("succeeded", False),
        "r4": ("failed", False), "row5": ("invalid", False)}
    assert rows["r1"]["checks"]["short"] == {"skipped": True}
    assert rows["r3"]["checks"]["exact"]["reason"] == ("${{ outputs.answer == row.expected }} is false "
                                                       "(outputs.answer = 'WRONG', row.expected = 'nope')")
    assert "input 'n': expected integer" in rows["row5"]["error"]
    assert report["totals"]["pass_rate"] == 0.4 and report["totals"]["errors"] == 2
    assert report["checks"]["exact"] == {"passed": 2, "of": 3, "rate": 0.6667, "threshold": 0.5}
    assert "rows: 5 (5 runs), passed 2 (40.0%), errors 2 (40.0%)" in done.out
    assert "row 3 (r3, run " in done.out
    listed = invoke(capsys, monkeypatch, "runs", "show", rows["r1"]["run_id"])  # each row is a normal run
    assert listed.code == 0 and "succeeded" in listed.out


def test_a_missed_threshold_exits_5(batch, capsys, monkeypatch):
    done = invoke(capsys, monkeypatch, "eval", batch(pass_rate="0.9"))
    assert done.code == 5 and "threshold missed: pass rate 40.0% is below 90.0%" in done.out


def test_dry_run_reports_every_bad_row_before_any_call(batch, capsys, monkeypatch, server):
    rows = ROWS + [{"id": "r6", "question": 6, "n": 1, "expected": ""}]
    done = invoke(capsys, monkeypatch, "eval", batch(rows=rows), "--dry-run")
    assert done.code == 1 and server.count() == 0
    assert "rows.jsonl row 5: input 'n': expected integer" in done.err
    assert "rows.jsonl row 6: input 'q': expected string" in done.err
    clean = invoke(capsys, monkeypatch, "eval", batch(rows=ROWS[:2]), "--dry-run")
    assert clean.code == 0 and "2 rows x 1 = 2 runs" in clean.out and "LLM calls: 2 LLM calls" in clean.out


def test_validate_locates_references_the_pipeline_does_not_have(batch, capsys, monkeypatch, project):
    path = batch()
    text = (project.root / path).read_text()
    (project.root / path).write_text(text.replace("outputs.answer == row.expected", "outputs.answr == row.expected")
                                     .replace("n: ${{ row.n }}", "count: ${{ row.n }}"))
    done = invoke(capsys, monkeypatch, "validate", path)
    assert done.code == 1
    assert "error[E903]: pipeline 't' has no output 'answr'" in done.out and "did you mean 'answer'" in done.out
    assert "error[E903]: pipeline 't' has no input 'count'" in done.out
    assert f"{path}:9:" in done.out


def test_the_batch_budget_admits_rows_only_while_their_worst_case_fits(batch, capsys, monkeypatch, project):
    path = batch()
    (project.root / path).write_text((project.root / path).read_text() + "budgets: {max_llm_calls: 3}\n")
    done = invoke(capsys, monkeypatch, "eval", path, "-o", "report.json")
    assert done.code == 3, done.out + done.err
    report = json.loads((project.root / "report.json").read_text())
    assert report["status"] == "budget_exceeded"
    assert sum(r["usage"]["llm_calls"] for r in report["rows"]) <= 3


def test_a_batch_budget_over_rows_with_no_known_worst_case_is_a_located_error(batch, capsys, monkeypatch, project,
                                                                              server):
    """Found by trying: validate passed, then the batch ran no row and ended `budget_exceeded` (exit
    3): the model's context size is unknown and no run budget caps tokens, so a row's worst case is
    unbounded and admission never fits one."""
    path = batch()
    (project.root / path).write_text((project.root / path).read_text() + "budgets: {max_tokens: 1000}\n")
    done = invoke(capsys, monkeypatch, "validate", path)
    assert done.code == 1, done.out
    assert ("error[E905]: budgets.max_tokens: a row's worst case in tokens is unbounded, so the batch budget "
            "admits no row") in done.out
    assert f"{path}:12:11" in done.out
    assert "hint: give pipelines/t.yaml a run budget max_tokens (it caps each row)" in done.out
    ran = invoke(capsys, monkeypatch, "eval", path)
    assert ran.code == 1 and server.count() == 0


def test_a_row_s_worst_case_is_capped_by_its_pipeline_s_own_budget(batch, capsys, monkeypatch, project):
    """Found by trying: the batch reckoned a row's worst case without the pipeline's run budgets,
    which the runner enforces, so a run capped at 200 tokens still counted as unbounded."""
    path = batch(rows=ROWS[:4])
    pipeline = project.root / "pipelines" / "t.yaml"
    pipeline.write_text(pipeline.read_text() + "budgets: {max_tokens: 200}\n")
    (project.root / path).write_text((project.root / path).read_text() + "budgets: {max_tokens: 1000}\n")
    dry = invoke(capsys, monkeypatch, "eval", path, "--dry-run")
    assert dry.code == 0 and "tokens: 800 tokens (batch budget 1,000 tokens)" in dry.out, dry.out + dry.err
    done = invoke(capsys, monkeypatch, "eval", path, "-o", "report.json")
    assert done.code == 0, done.out + done.err
    assert len(json.loads((project.root / "report.json").read_text())["rows"]) == 4


def test_a_row_that_pauses_for_approval_fails_and_says_so(batch, capsys, monkeypatch, project):
    project.pipeline(PIPELINE.replace("outputs:", "  - {id: ok, approval: {message: go?}, needs: [say]}\noutputs:"),
                     attempts="1")
    path = batch(rows=ROWS[:1])
    paused = invoke(capsys, monkeypatch, "eval", path)
    assert paused.code == 5  # the one row failed: pass rate 0% < 40%
    assert "paused for approval" in paused.out and "pass --approve or --deny" in paused.out
    approved = invoke(capsys, monkeypatch, "eval", path, "--approve")
    assert "passed 1 (100.0%)" in approved.out


def test_junit_has_a_testcase_per_row_with_failures_and_errors(batch, capsys, monkeypatch, project):
    from xml.etree import ElementTree as ET

    done = invoke(capsys, monkeypatch, "eval", batch(), "--junit", "junit.xml", "-f", "markdown")
    assert done.code == 0, done.err
    xmlschema.XMLSchema(str(JUNIT_XSD)).validate(str(project.root / "junit.xml"))  # failures and errors included
    suite = ET.parse(project.root / "junit.xml").getroot()
    assert suite.tag == "testsuite" and suite.get("tests") == "5"
    assert (suite.get("failures"), suite.get("errors")) == ("1", "2")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"r1", "r2", "r3", "r4", "row5"}
    assert cases["r1"].find("failure") is None and cases["r1"].find("error") is None
    assert "exact:" in cases["r3"].find("failure").get("message")
    assert cases["r4"].find("error").get("type") == "failed"
    assert done.out.startswith("### agentctl eval `evals/smoke.eval.yaml`: thresholds met")
    assert "| exact | 2/3 | 66.7% | 50% |" in done.out


def test_a_row_expected_to_fail_passes_when_its_run_fails(batch, capsys, monkeypatch, project):
    path = batch()
    text = (project.root / path).read_text()
    (project.root / path).write_text(text + "expect_status: \"${{ 'failed' if row.id == 'r4' else 'succeeded' }}\"\n")
    done = invoke(capsys, monkeypatch, "eval", path, "-o", "report.json")
    report = json.loads((project.root / "report.json").read_text())
    r4 = next(r for r in report["rows"] if r["row_id"] == "r4")
    assert (r4["status"], r4["passed"], r4["error"]) == ("failed", True, None)
    assert report["totals"]["errors"] == 1 and report["totals"]["pass_rate"] == 0.6, done.out
    (project.root / path).write_text(text + "expect_status: faild\n")
    invalid = invoke(capsys, monkeypatch, "validate", path)
    assert "error[E904]: expect_status: 'faild' is not a run status" in invalid.out
    assert "did you mean 'failed'" in invalid.out


def test_two_rows_with_the_same_id_are_refused_not_lost(batch, capsys, monkeypatch, project):
    rows = ROWS[:2] + [dict(ROWS[0], question="again")]
    done = invoke(capsys, monkeypatch, "eval", batch(rows=rows), "-o", "report.json")
    report = json.loads((project.root / "report.json").read_text())
    assert [(r["row_id"], r["status"]) for r in report["rows"]] == [
        ("r1", "succeeded"), ("r2", "succeeded"), ("r1@row3", "invalid")]
    assert "row id 'r1' is also row 1's: ids must be unique" in report["rows"][2]["error"], done.out


def test_an_error_rate_above_max_error_rate_exits_1(batch, capsys, monkeypatch, project):
    path = batch()
    (project.root / path).write_text((project.root / path).read_text().replace(
        "checks: {exact: 0.5}}", "checks: {exact: 0.5}, max_error_rate: 0.3}"))
    done = invoke(capsys, monkeypatch, "eval", path)
    assert done.code == 1 and "error rate 40.0% is above max_error_rate 30.0%" in done.out, done.out


def test_an_empty_data_file_is_an_error_not_a_missed_threshold(batch, capsys, monkeypatch, project):
    path = batch(rows=[])
    done = invoke(capsys, monkeypatch, "eval", path)
    assert done.code == 1 and "rows.jsonl has no rows" in done.err


def test_csv_cells_are_read_as_the_declared_input_types(batch, capsys, monkeypatch, project):
    path = batch()
    (project.root / "evals" / "rows.csv").write_text("id,question,n,expected\nc1,hello,2,HELLO\nc2,bad,two,BAD\n")
    (project.root / path).write_text((project.root / path).read_text().replace("rows.jsonl", "rows.csv"))
    dry = invoke(capsys, monkeypatch, "eval", path, "--dry-run")
    assert dry.code == 1 and "rows.csv row 2: input 'n': expected integer, got str 'two'" in dry.err
    assert "row 1" not in dry.err  # '2' is read as the integer the pipeline declares


def test_a_disk_that_fills_during_a_batch_stops_it_without_tracebacks_and_names_the_batch(batch, capsys, monkeypatch,
                                                                                         project):
    """Found by trying: every row in flight printed "Task exception was never retrieved" and its
    traceback, more rows were started after the journal had failed, and the hint named nothing to
    resume."""
    import gc
    import sqlite3

    from agentctl.record.journal import Journal, explained

    real, answered = Journal.answer, []

    def answer_then_fill(self, *args, **kwargs):
        if len(answered) >= 2:
            raise explained(self.path, sqlite3.OperationalError("database or disk is full"))
        answered.append(real(self, *args, **kwargs))

    monkeypatch.setattr(Journal, "answer", answer_then_fill)
    path = batch(rows=[{"id": f"r{i}", "question": f"q{i}", "n": i, "expected": f"Q{i}"} for i in range(12)])
    (project.root / path).write_text((project.root / path).read_text() + "concurrency: 3\n")
    stopped = invoke(capsys, monkeypatch, "eval", path, "--no-live")
    gc.collect()  # asyncio reports an exception nobody retrieved when its task is collected
    err = stopped.err + capsys.readouterr().err
    assert stopped.code == 1, err
    assert "Traceback" not in err and "never retrieved" not in err, err
    batch_id = Journal(project.root / ".agentctl" / "journal.db").db.execute("SELECT id FROM batches").fetchone()[0]
    assert f"hint: free disk space, then continue with: agentctl resume {batch_id}" in err
    assert err.count("cannot write the run journal") == 1
    monkeypatch.setattr(Journal, "answer", real)  # space freed
    resumed = invoke(capsys, monkeypatch, "resume", batch_id)
    assert resumed.code == 0, resumed.out + resumed.err
    report = invoke(capsys, monkeypatch, "eval", "show", batch_id, "-f", "json").json()
    assert report["status"] == "succeeded" and len(report["rows"]) == 12
