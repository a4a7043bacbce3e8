"""`agentctl run` as a user runs it: the README demo, JSON, exit codes, replay, Ctrl-C, the terminal."""

import json
import os
import signal
import subprocess
import sys

from tests.conftest import REPO, run_cli

DEMO = ["run", "pipelines/article_review.yaml", "-i", "topic=Idempotency keys in payment APIs",
        "--replay", "pipelines/cassettes/article_review.json"]


def test_the_readme_demo_replays_without_a_key_or_network():
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    result = run_cli(*DEMO, env=env)
    assert result.returncode == 0, result.stderr
    assert "succeeded" in result.stdout and "rounds: 2" in result.stdout
    assert "reask" in result.stderr  # one plain progress line per event off-terminal


def test_json_result():
    result = run_cli(*DEMO, "--json")
    payload = json.loads(result.stdout)
    assert payload["status"] == "succeeded" and payload["exit_code"] == 0
    assert payload["usage"]["llm_calls"] == 5 and payload["outputs"]["rounds"] == 2
    assert payload["steps"]["review"]["usage"]["llm_calls"] == 3


def test_replay_refuses_an_unseen_request_and_names_the_step():
    result = run_cli("run", "pipelines/article_review.yaml", "-i", "topic=another", "--replay",
                     "pipelines/cassettes/article_review.json")
    assert result.returncode == 1
    assert "step 'draft' failed" in result.stdout and "no recorded response" in result.stdout


def test_bad_inputs_are_reported_before_anything_runs():
    result = run_cli("run", "pipelines/article_review.yaml", "-i", "topik=x", "--replay",
                     "pipelines/cassettes/article_review.json")
    assert result.returncode == 2
    assert "unknown input 'topik'" in result.stderr and "missing input 'topic'" in result.stderr


def test_a_pipeline_with_errors_does_not_run(tmp_path):
    from tests.conftest import GOLDEN

    result = run_cli("run", "cases/needs_cycle.yaml", cwd=GOLDEN)
    assert result.returncode == 1 and "E501" in result.stdout


def test_ctrl_c_stops_cleanly_with_exit_130_and_says_what_finished(tmp_path):
    from tests.support.openai_server import Behaviour, FakeOpenAI
    from tests.support.signals import interruptible

    import threading

    reviewing = threading.Event()  # set when the second request (the review, after the draft) arrives

    def hold(body):
        reviewing.set()
        return Behaviour(content="slow", delay_s=300)

    server = FakeOpenAI(default=hold).start()
    server.push(Behaviour(content="first draft"))
    try:
        env = {**os.environ, "OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-test",
               "ANTHROPIC_API_KEY": "sk-test", "NO_COLOR": "1"}  # the writer's fallback needs a key too
        proc = subprocess.Popen([sys.executable, "-m", "agentctl", "run", "pipelines/article_review.yaml",
                                 "-i", "topic=x"], cwd=copy_example(tmp_path), env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, preexec_fn=interruptible)
        while not reviewing.wait(timeout=0.5):  # the run reaches its second model call, or has ended
            assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=600)
    finally:
        server.stop()
    assert proc.returncode == 130, err
    assert "interrupted" in out and "finished and kept: draft" in out
    # the review's call, cut off in flight, is charged at its worst case: the summary says so
    assert "of which 1 LLM call, cut off by the stop, is counted at its worst case" in out
    assert "cut off" not in run_cli(*DEMO).stdout  # a run that ends on its own cuts nothing off


def copy_example(tmp_path):
    from tests.support.example import copy_example

    return copy_example(tmp_path)


def test_a_pipeline_edited_after_validate_is_checked_again_before_running(tmp_path):
    copy_example(tmp_path)
    assert run_cli("validate", cwd=tmp_path).returncode == 0
    path = tmp_path / "pipelines" / "article_review.yaml"
    path.write_text(path.read_text().replace("steps.draft.output }}", "steps.drafts.output }}"))
    result = run_cli("run", "pipelines/article_review.yaml", "-i", "topic=x", cwd=tmp_path)
    assert result.returncode == 1
    assert "E306" in result.stdout and "step 'drafts' is not defined" in result.stdout
    assert "started" not in result.stderr  # nothing ran


def test_after_a_failed_gate_the_hint_is_not_a_resume_that_would_fail_again(tmp_path, capsys, monkeypatch):
    from tests.support.cli import invoke, scratch_project

    scratch_project(tmp_path, {
        "pipelines/g.yaml": "apiVersion: agentctl/v1\nname: g\nversion: 1\nsteps:\n  - {id: check, gate: {check: false}}\n",
    })
    monkeypatch.chdir(tmp_path)
    done = invoke(capsys, monkeypatch, "run", "pipelines/g.yaml")
    assert done.code == 1 and "gate 'check' failed on the data the run produced" in done.out
    assert "agentctl resume" not in done.out


RUNAWAY_PROMPT = """---
name: runaway
version: 1
---
user:
{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}
"""


def test_a_template_that_loops_for_hours_is_stopped_by_the_wall_budget(tmp_path):
    # Was: past max_wall_s: 5 for more than 60 s, the first Ctrl-C ignored (rendering held the loop).
    from tests.support.cli import scratch_project

    scratch_project(tmp_path, {"prompts/runaway.prompt": RUNAWAY_PROMPT, "pipelines/p.yaml": """\
apiVersion: agentctl/v1
name: p
version: 1
budgets: {max_wall_s: 1}
models:
  m: {model: openai/m, params: {api_key: sk-test, api_base: "http://127.0.0.1:9", max_tokens: 10}}
agents:
  a: {model: m, prompt: prompts/runaway.prompt}
steps:
  - {id: s, agent: a}
"""})
    done = run_cli("run", "pipelines/p.yaml", "--json", cwd=tmp_path, timeout=120)
    assert done.returncode == 3, done.stderr
    assert "max_wall_s" in json.loads(done.stdout)["error"]


def test_a_closed_pipe_does_not_lose_the_run(tmp_path):
    """`agentctl run ... 2>&1 | head -2`: the reader goes away; the run still ends and is recorded."""
    import sqlite3

    from tests.record.test_journal import copy_project

    root = copy_project(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "agentctl", *DEMO], cwd=root, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env={**os.environ, "NO_COLOR": "1"})
    proc.stdout.close()  # before anything is written: every write meets a closed pipe
    assert proc.wait(timeout=60) == 0
    (status,) = sqlite3.connect(root / ".agentctl" / "journal.db").execute("SELECT status FROM runs").fetchone()
    assert status == "succeeded"


def test_no_color_keeps_the_live_view_and_no_live_turns_it_off(monkeypatch, capsys):
    import io

    from agentctl import console
    from tests.support.cli import invoke

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm")
    assert console.LiveProgress(None, str).live_mode is True  # NO_COLOR: colour off, the view stays
    assert console.BatchProgress().live_mode is True
    monkeypatch.setenv("TERM", "dumb")
    assert console.LiveProgress(None, str).live_mode is False
    monkeypatch.setattr(sys, "stderr", sys.__stderr__)
    monkeypatch.chdir(REPO)
    done = invoke(capsys, monkeypatch, *DEMO, "--no-live", "--json")
    assert done.code == 0 and json.loads(done.out)["status"] == "succeeded"


def test_events_writes_a_json_line_per_event(tmp_path):
    from tests.record.test_journal import copy_project

    root = copy_project(tmp_path)
    result = run_cli(*DEMO, "--events", "events.jsonl", cwd=root)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in (root / "events.jsonl").read_text().splitlines()]
    assert lines[0]["type"] == "RunStarted" and lines[-1]["type"] == "RunFinished"
    assert {line["version"] for line in lines} == {1}
    assert lines[-1]["status"] == "succeeded" and lines[-1]["usage"]["llm_calls"] == 5
    reasked = [line for line in lines if line["type"] == "OutputReasked"]
    assert reasked and reasked[0]["step"] == "review"
    assert all(b["at"] >= a["at"] for a, b in zip(lines, lines[1:]))


def test_an_events_file_that_cannot_be_written_is_one_warning_and_the_run_goes_on(tmp_path):
    """Found by trying, with --events on a full disk: the first event failed the run before its first
    step (journaled as interrupted), and closing the file then crashed agentctl."""
    from tests.record.test_journal import copy_project

    root = copy_project(tmp_path)
    result = run_cli(*DEMO, "--events", "/dev/full", "--no-live", "--json", cwd=root)  # every write: ENOSPC
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "succeeded"
    assert result.stderr.count("warning: could not write the events (cannot write to /dev/full: No space left on "
                               "device); the run goes on, and the journal records it") == 1, result.stderr


def test_a_result_that_cannot_be_written_to_stdout_is_an_error_and_the_run_stands(tmp_path):
    """Found by trying `--json > /dev/full`: 'internal error: agentctl crashed'."""
    from tests.record.test_journal import copy_project

    root = copy_project(tmp_path)
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "agentctl", *DEMO, "--json"], cwd=root, stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.endswith("error: cannot write to stdout: No space left on device\n  hint: what the command did "
                                "stands (a run is in the journal: agentctl runs list)\n"), done.stderr
    listed = run_cli("runs", "list", "--json", cwd=root)
    assert [r["status"] for r in json.loads(listed.stdout)["runs"]] == ["succeeded"]


def test_events_on_stdout_leave_it_to_the_events(tmp_path):
    """`--events -` made stdout a JSON-lines stream with the summary table after it, which a `| jq`
    could not read: the summary now goes to stderr, and `--json` (a second document on stdout) is
    refused."""
    from tests.record.test_journal import copy_project

    root = copy_project(tmp_path)
    to_stdout = run_cli(*DEMO, "--events", "-", "--no-live", cwd=root)
    events = [json.loads(line) for line in to_stdout.stdout.splitlines()]
    assert events[0]["type"] == "RunStarted" and events[-1]["type"] == "RunFinished"
    assert to_stdout.returncode == 0 and "total: 6 steps" in to_stdout.stderr
    both = run_cli(*DEMO, "--events", "-", "--json", cwd=root)
    assert both.returncode == 2 and both.stdout == ""
    assert both.stderr == ("error: --json and --events - both write to stdout\n"
                           "  hint: write the events to a file (--events FILE), or leave out --json: the last "
                           "event, RunFinished, carries the run's status, usage and outputs\n")


def test_at_40_columns_the_live_view_and_the_summary_fit_the_terminal(tmp_path):
    """At 40 columns every summary row wrapped in two (`write  succeeded  5` / `0  1,480 ...`)."""
    from tests.record.test_journal import copy_project
    from tests.support.terminal import run_in_terminal

    code, screen = run_in_terminal([sys.executable, "-m", "agentctl", *DEMO], copy_project(tmp_path), columns=40)
    assert code == 0, screen
    lines = screen.splitlines()
    frame = [line for line in lines if line.startswith(("┃", "│"))]
    assert frame and max(len(line) for line in frame) <= 40
    assert any(line.split("│")[1:3] == [" approved ", " ✓ succeeded "] for line in frame)
    start = next(i for i, line in enumerate(lines) if line.startswith("run ") and "succeeded in" in line)
    last = max(i for i in range(start) if lines[i].startswith("└"))
    # the budget line, cut at the terminal's edge, lost the cost against its budget even at 80 columns
    assert "$0.0027 of $0.6000 ·" in " ".join(line.strip() for line in lines[last + 1:start])
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("  total:"))
    table = lines[start + 1:end]
    assert [line.split()[:2] for line in table] == [["step", "status"], ["write", "succeeded"],
                                                    ["draft", "succeeded"], ["review", "succeeded"],
                                                    ["approved", "succeeded"]]
    assert max(len(line) for line in table) <= 40


def test_at_a_terminal_states_have_colours_and_no_color_keeps_the_view_without_them(tmp_path):
    import re

    from tests.record.test_journal import copy_project
    from tests.support.terminal import Terminal

    colours = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-7]|9[0-7]|38;[0-9;]+)m")
    root = copy_project(tmp_path)
    seen = {}
    for name, env in (("colour", {}), ("no colour", {"NO_COLOR": "1"})):
        terminal = Terminal([sys.executable, "-m", "agentctl", *DEMO], root, columns=100, env=env)
        code, screen = terminal.finish()
        assert code == 0, screen
        seen[name] = (bytes(terminal.received).decode(), screen)
    assert "\x1b[32m✓ succeeded" in seen["colour"][0]
    assert not colours.search(seen["no colour"][0]) and "│ approved │ ✓ succeeded │" in seen["no colour"][1]


def test_a_step_id_too_long_for_the_terminal_is_cut_and_its_state_stays_whole(tmp_path):
    """At 40 columns a 55-character id squeezed the state column to `✓ s…`."""
    from tests.support.cli import scratch_project
    from tests.support.terminal import run_in_terminal

    long_id = "a_very_long_step_identifier_that_goes_on_and_on_forever"
    scratch_project(tmp_path, {"pipelines/p.yaml": (
        "apiVersion: agentctl/v1\nname: g\nversion: 1\nsteps:\n"
        f"  - {{id: {long_id}, gate: {{check: '${{{{ 1 < 5 }}}}'}}}}\n")})
    code, screen = run_in_terminal([sys.executable, "-m", "agentctl", "run", "pipelines/p.yaml"], tmp_path, columns=40)
    assert code == 0, screen
    row = next(line for line in screen[screen.rindex("┏"):].splitlines() if line.startswith("│ a_very"))
    assert len(row) <= 40 and row.endswith("│ ✓ succeeded │") and "…" in row


def test_a_long_pipeline_in_a_short_terminal_shows_the_step_running_and_the_budget(tmp_path):
    """In a 24-line terminal a 31-step pipeline showed its first 19 finished rows and '...': the
    step running and the budget line were never on the screen while it ran."""
    from tests.support.cli import scratch_project
    from tests.support.terminal import Terminal

    go = tmp_path / "go"
    gates = "".join(f"  - {{id: s{i:02d}, gate: {{check: true}}{f', needs: [s{i - 1:02d}]' if i else ''}}}\n"
                    for i in range(30))
    scratch_project(tmp_path, {
        "tools/__init__.py": "",
        "tools/wait.py": f"import pathlib, time\n\ndef wait() -> dict:\n    while not pathlib.Path({str(go)!r}).exists():\n"
                         "        time.sleep(0.05)\n    return {}\n",
        "pipelines/long.yaml": "apiVersion: agentctl/v1\nname: long\nversion: 1\ntools:\n  wait: {python: tools.wait:wait, timeout_s: 600}\n"
                               f"steps:\n{gates}  - {{id: last, tool: wait, needs: [s29]}}\n",
    })
    terminal = Terminal([sys.executable, "-m", "agentctl", "run", "pipelines/long.yaml"], tmp_path, columns=100, rows=24)
    terminal.expect("│ last │ … running")
    terminal.expect("30 steps · 0 LLM calls")  # the budget line, below the rows
    go.touch()
    code, screen = terminal.finish()
    assert code == 0, screen
    assert "│ …    │ ✓ 15 done" in screen  # 31 rows in 17 lines: 15 folded into one
