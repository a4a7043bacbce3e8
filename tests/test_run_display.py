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
    from agentctl.console import COLUMNS
    from agentctl.fitting import fit_columns

    rows = [["document_verification", "… running", "openai/gpt-4o", "2", "1,234", "$0.0123", "12.3s"]]
    assert [COLUMNS[i] for i in fit_columns(COLUMNS, rows, 200)] == list(COLUMNS)
    assert [COLUMNS[i] for i in fit_columns(COLUMNS, rows, 40)] == ["step", "state"]
    assert [COLUMNS[i] for i in fit_columns(COLUMNS, rows, 50)] == ["step", "state", "cost"]


def _finished(pipeline, *ids):
    result = RunResult("r1", pipeline.name, status="succeeded")
    for sid in ids:
        result.steps[sid] = StepResult(sid, status="succeeded", usage=Usage(llm_calls=2, tokens=123_456, cost_usd=0.5))
    return result


def _table(summary: str) -> list[str]:
    lines = summary.splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("step"))
    end = next(i for i, line in enumerate(lines) if line.lstrip().startswith("total:"))
    return lines[start:end]


def test_the_summary_fits_a_narrow_terminal_and_keeps_step_and_status():
    """At 40 columns the summary wrapped every row in two (`write  succeeded  5` / `0  1,480 ...`)."""
    pipeline = _progress().pipeline
    result = _finished(pipeline, "write", "draft", "review", "approved")
    narrow = _table(run_display.summary_text(result, pipeline, width=40))
    assert max(len(line) for line in narrow) <= 40
    assert narrow[0].split() == ["step", "status", "cost", "time"]
    assert narrow[1].split() == ["write", "succeeded", "$0.5000", "0.00s"]
    assert _table(run_display.summary_text(result, pipeline, width=20))[1].split() == ["write", "succeeded"]
    wide = _table(run_display.summary_text(result, pipeline, width=120))
    assert wide[0].split() == ["step", "status", "LLM", "tools", "tokens", "cost", "time"]
    assert _table(run_display.summary_text(result, pipeline)) == wide  # not a terminal: every column


def test_the_summary_lists_steps_in_pipeline_order_with_a_loop_s_steps_under_it():
    """The journal's order put the gate after the loop but before the loop's own steps."""
    pipeline = _progress().pipeline
    result = _finished(pipeline, "write", "approved", "draft", "review")
    rows = [line.split()[0] for line in _table(run_display.summary_text(result, pipeline))[1:]]
    assert rows == ["write", "draft", "review", "approved"]
    indents = [len(line) - len(line.lstrip()) for line in _table(run_display.summary_text(result, pipeline))[1:]]
    assert indents[1] == indents[2] == indents[0] + 2 and indents[3] == indents[0]


def test_a_loop_s_live_row_counts_its_steps_tokens_and_cost_and_they_are_shown_under_it():
    """The loop's row said 0 tokens and $0.0000 while its steps spent; the summary said $0.0027."""
    from agentctl.run.events import LlmAttemptSucceeded

    progress = _progress()
    for sid in ("write", "draft"):
        progress.apply(StepStarted(at=1.0, step=sid, kind="agent", what=None))
    progress.apply(LlmAttemptSucceeded(
        at=2.0, step="draft", work="draft", attempt_id=1, model="openai/gpt-4o", attempt=1, input_tokens=100,
        output_tokens=20, cost_usd=0.25, duration_s=1.0, response_model=None, finish_reason="stop", content=None,
        remaining_usd=None, run_usage=Usage(llm_calls=1), call_index=0, request_key="k", tool_calls=()))
    rows = {row[0]: row for row in progress.table_rows()}
    assert rows["write"][4:6] == ("120", "$0.2500") and rows["  draft"][4:6] == ("120", "$0.2500")


def test_a_starting_mcp_server_has_a_row_until_it_is_up():
    from agentctl.run.events import ServerPhase, ServerStarting

    progress = _progress()
    progress.apply(ServerStarting(at=1.0, server="itinerary"))
    assert progress.table_rows()[0][:2] == ("mcp itinerary", "… starting")
    progress.apply(ServerPhase(at=2.5, server="itinerary", phase="start", started_at=1.0))
    assert progress.table_rows()[0][:2] == ("mcp itinerary", "✓ started")
    assert progress.table_rows()[0][4:] == ("", "", "1.5s")


def test_the_live_view_s_clocks_move_between_events(monkeypatch):
    """The table was built per event: between two events (a 2 s model call, a server starting)
    the elapsed column and the wall clock stood still."""
    import io

    from rich.console import Console

    from agentctl import console

    clock = [10.0]
    monkeypatch.setattr(run_display.time, "monotonic", lambda: clock[0])
    screen = Console(file=io.StringIO(), force_terminal=True, width=120, height=40)
    monkeypatch.setattr(console, "live_console", lambda: screen)
    progress = _progress()
    progress.started = 10.0
    live = console.LiveProgress(progress, str, live=True)
    with live:
        live(StepStarted(at=10.0, step="write", kind="loop", what=None))
        clock[0] = 13.5
        live.live.refresh()
        assert "3.5s" in screen.file.getvalue() and "3.5 s of 600.0 s" in screen.file.getvalue()


def test_a_step_waiting_for_an_approval_says_so():
    from agentctl.run.events import ApprovalAsked, ApprovalDecided

    progress = _progress()
    progress.apply(StepStarted(at=1.0, step="approved", kind="approval", what=None))
    progress.apply(ApprovalAsked(at=1.5, step="approved", role="manager", message="ok?"))
    assert progress.table_rows()[0][1] == "‖ waiting"
    progress.apply(ApprovalDecided(at=2.0, step="approved", approved=True, by="ada", role="manager"))
    assert progress.table_rows()[0][1] == "… running"


def test_the_live_title_and_an_approval_question_never_send_control_characters(monkeypatch, capsys):
    """A version "1\\e[31m" reached the terminal raw in the live view's title, and a model's tool
    arguments raw in the approval question a human answers."""
    import io

    from rich.console import Console

    from agentctl import console
    from agentctl.run.approvals import ApprovalRequest

    screen = Console(file=io.StringIO(), force_terminal=True, width=120)
    monkeypatch.setattr(console, "live_console", lambda: screen)
    progress = _progress()
    progress.pipeline = type(progress.pipeline)(**{**progress.pipeline.__dict__, "version": "1\x1b[31mRED"})
    with console.LiveProgress(progress, str, live=True):
        pass
    assert "\x1b[31mRED" not in screen.file.getvalue() and "\\x1b[31mRED" in screen.file.getvalue()
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    request = ApprovalRequest(step="pay", approver="manager", message="pay \x1b]0;owned\x07?",
                              context={"iban": "DE00\x1b[2J"})
    assert console.ask_approval(request) is False
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\\x1b]0;owned\\x07" in err and "DE00\\x1b[2J" in err


def test_on_a_short_terminal_the_oldest_finished_rows_fold_so_the_running_ones_stay_in_sight(tmp_path):
    """A 31-step pipeline in a 24-line terminal showed its first 19 rows, all finished, then '...':
    the step running and the budget line were below the screen."""
    from agentctl.run.events import StepFinished

    steps = "".join(f"  - {{id: s{i:02d}, gate: {{check: true}}}}\n" for i in range(31))
    path = tmp_path / "long.yaml"
    path.write_text(f"apiVersion: agentctl/v1\nname: long\nversion: 1\nsteps:\n{steps}")
    progress = run_display.Progress(api.compile_file(str(path)).pipeline)
    for i in range(31):
        progress.apply(StepStarted(at=1.0, step=f"s{i:02d}", kind="gate", what=None))
        if i < 30:
            status = "failed" if i == 3 else "succeeded"
            progress.apply(StepFinished(at=1.5, step=f"s{i:02d}", status=status, output=None, error=None,
                                        usage=Usage(), duration_s=0.5, started_at=None, work=f"s{i:02d}",
                                        run_usage=Usage()))
    rows = progress.table_rows(10)
    assert [row[:2] for row in rows] == [
        ("…", "✓ 22 done"), ("s03", "✗ failed"), *((f"s{i}", "✓ succeeded") for i in range(23, 30)),
        ("s30", "… running")]
    assert len(progress.table_rows(40)) == 31  # room for all: nothing folded
