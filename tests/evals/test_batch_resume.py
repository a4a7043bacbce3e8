"""A batch killed with kill -9 part way, then `agentctl resume BATCH_ID`: no finished row runs
again, a row cut off mid-run continues its own run at the step level, and each side effect
happens once."""

import json
import signal
import sqlite3
import time

import pytest

from tests.support.crash_project import agentctl, crash_server, make_project  # noqa: F401

CITIES = ["oslo", "rome", "lima", "kyiv", "baku", "doha", "riga", "bern"]
EVAL = """apiVersion: agentctl/v1
pipeline: pipelines/c.yaml
data: evals/cities.jsonl
row_id: ${{ row.city }}
inputs: {city: "${{ row.city }}"}
checks:
  - {name: booked, expect: "${{ outputs.ref | length > 0 }}"}
concurrency: 3
"""


def batch_rows(root):
    db = sqlite3.connect(root / ".agentctl" / "journal.db")
    return {r[0]: (r[1], r[2]) for r in db.execute("SELECT row_id, status, run_id FROM batch_rows")}


def kill_with_rows_finished_and_running(root, proc) -> dict:
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            rows = batch_rows(root)
        except sqlite3.OperationalError:  # not created yet
            rows = {}
        statuses = [s for s, _ in rows.values()]
        if statuses.count("succeeded") >= 2 and "running" in statuses:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    return batch_rows(root)


def test_a_batch_killed_part_way_resumes_only_what_is_left(tmp_path, crash_server):
    root = make_project(tmp_path / "p", crash_server.url)
    (root / "evals").mkdir()
    (root / "evals" / "cities.jsonl").write_text("".join(json.dumps({"city": c}) + "\n" for c in CITIES))
    (root / "evals" / "c.eval.yaml").write_text(EVAL)
    at_kill = kill_with_rows_finished_and_running(root, agentctl(root, "eval", "evals/c.eval.yaml"))
    finished = {rid for rid, (status, _) in at_kill.items() if status == "succeeded"}
    running = {rid: run for rid, (status, run) in at_kill.items() if status == "running"}
    assert finished and running and len(finished) < len(CITIES), at_kill
    batch_id = sqlite3.connect(root / ".agentctl" / "journal.db").execute("SELECT id FROM batches").fetchone()[0]
    requests_before = len(crash_server.requests)

    out, err = agentctl(root, "resume", batch_id).communicate(timeout=120)
    assert "passed 8 (100.0%)" in out, out + err
    shown, err = agentctl(root, "eval", "show", batch_id, "-f", "json").communicate(timeout=60)
    report = json.loads(shown)
    assert report["status"] == "succeeded" and len(report["rows"]) == len(CITIES)
    runs = {r["row_id"]: r["run_id"] for r in report["rows"]}
    for rid, run in running.items():  # cut off mid-run: continued, not started again
        assert runs[rid] == run
    for rid in finished:  # finished: not run again
        assert runs[rid] == at_kill[rid][1]
        assert not any(f"plan {rid}" == body["messages"][-1]["content"]
                       for _, body in crash_server.requests[requests_before:])
    effects = json.loads((root / "ledger" / "effects.json").read_text())
    assert sorted(effects) == sorted(f"{run}:{step}:0" for run in runs.values() for step in ("reserve", "receipt"))


def test_resume_refuses_a_batch_whose_data_changed(tmp_path, crash_server):
    root = make_project(tmp_path / "p", crash_server.url)
    (root / "evals").mkdir()
    (root / "evals" / "cities.jsonl").write_text("".join(json.dumps({"city": c}) + "\n" for c in CITIES))
    (root / "evals" / "c.eval.yaml").write_text(EVAL)
    kill_with_rows_finished_and_running(root, agentctl(root, "eval", "evals/c.eval.yaml"))
    batch_id = sqlite3.connect(root / ".agentctl" / "journal.db").execute("SELECT id FROM batches").fetchone()[0]
    with (root / "evals" / "cities.jsonl").open("a") as f:
        f.write(json.dumps({"city": "nuuk"}) + "\n")
    proc = agentctl(root, "resume", batch_id)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and f"batch {batch_id} started from different content: evals/cities.jsonl changed" \
        in err, err
    assert "resume with --force" in err


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_ctrl_c_stops_the_batch_with_130_and_prints_the_resume_command(tmp_path, crash_server, signal_name):
    """SIGTERM, what CI runners and containers send, killed the batch where it stood: no report,
    rows in flight left running. It stops it as Ctrl-C does, as it stops a run. (SIGHUP takes the
    same handler, interrupts._STOP_SIGNALS, which tests/record/test_resume.py covers for a run.)"""
    root = make_project(tmp_path / "p", crash_server.url)
    (root / "evals").mkdir()
    (root / "evals" / "cities.jsonl").write_text("".join(json.dumps({"city": c}) + "\n" for c in CITIES))
    (root / "evals" / "c.eval.yaml").write_text(EVAL)
    proc = agentctl(root, "eval", "evals/c.eval.yaml")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # until a row has finished: the batch is well under way
        try:
            if any(s == "succeeded" for s, _ in batch_rows(root).values()):
                break
        except sqlite3.OperationalError:
            pass
        time.sleep(0.01)
    proc.send_signal(getattr(signal, signal_name))
    out, err = proc.communicate(timeout=60)
    batch_id = sqlite3.connect(root / ".agentctl" / "journal.db").execute("SELECT id FROM batches").fetchone()[0]
    assert proc.returncode == 130, out + err
    assert f"interrupted: continue with `agentctl resume {batch_id}`" in out
    assert "eval evals/c.eval.yaml" in out  # the partial report, from the journal
