"""What the terminal shows of a run: the last live frame after a stop, the summary table."""

from agentctl import api, run_display
from agentctl.dimensions import Usage
from agentctl.run.events import RunFinished, StepStarted
from agentctl.run.executor import RunResult, StepResult
from tests.conftest import REPO


def _progress():
    return run_display.Progress(api.compile_file(str(REPO / "pipelines" / "article_review.yaml")).pipeline)


def test_the_last_frame_after_ctrl_c_shows_no_step_still_running():
    progress = _progress()
    progress.apply(StepStarted(at=1.0, step="write", kind="loop", what=None))
    progress.apply(RunFinished(at=2.0, status="interrupted", error="interrupted", usage=Usage(steps=1), outputs=None))
    rows = {row[0]: row[1] for row in progress.table_rows()}
    assert rows["write"] == "✗ cancelled"


def test_a_paused_run_shows_its_waiting_step_as_paused():
    progress = _progress()
    progress.apply(StepStarted(at=1.0, step="approved", kind="gate", what=None))
    progress.apply(RunFinished(at=2.0, status="paused", error="waits", usage=Usage(), outputs=None))
    assert {row[0]: row[1] for row in progress.table_rows()}["approved"] == "‖ paused"


def test_a_long_step_id_does_not_run_into_its_status():
    pipeline = api.compile_file(str(REPO / "pipelines" / "article_review.yaml")).pipeline
    result = RunResult("r1", pipeline.name, status="succeeded")
    result.steps = {"document_verification_of_claims": StepResult("document_verification_of_claims")}
    result.steps["document_verification_of_claims"].status = "succeeded"
    line = [line for line in run_display.summary_text(result, pipeline).splitlines() if "document_" in line][0]
    assert "document_verification_of_claims  succeeded" in line


def test_a_narrow_terminal_drops_columns_and_keeps_step_and_state():
    from agentctl.console import COLUMNS, fit_columns

    rows = [["document_verification", "… running", "openai/gpt-4o", "2", "1,234", "$0.0123", "12.3s"]]
    assert [COLUMNS[i] for i in fit_columns(COLUMNS, rows, 200)] == list(COLUMNS)
    assert [COLUMNS[i] for i in fit_columns(COLUMNS, rows, 40)] == ["step", "state"]
    assert [COLUMNS[i] for i in fit_columns(COLUMNS, rows, 50)] == ["step", "state", "cost"]
