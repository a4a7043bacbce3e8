"""Batches on Dask distributed (`eval --cluster ADDRESS`, `--workers N`): a module-scoped local
cluster on 127.0.0.1 with two workers; the rows run in chunks on the workers, each chunk journaled
on the worker's disk, and the driver's journal ends up with the same report a batch run in one
process gives."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from tests.evals.conftest import ROWS
from tests.support.cli import invoke
from tests.support.signals import interruptible

distributed = pytest.importorskip("distributed")

ROWS_40 = [{**row, "id": f"{row['id']}-{n}"} for n in range(8) for row in ROWS]


@pytest.fixture(scope="module")
def cluster():
    import logging

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR) as local:
        yield local.scheduler_address


def comparable(report):
    """A report without what differs between two batches of the same rows: ids, times, the command."""
    rows = sorted(({k: re.sub(r"\(\d+\.\d+ s\)", "(s)", v) if k == "error" and v else v for k, v in r.items()
                    if k not in ("run_id", "duration_s")} for r in report["rows"]), key=lambda r: (r["row_id"], r["attempt"]))
    totals = {k: v for k, v in report["totals"].items() if k != "duration_s"}
    return rows, totals, report["checks"], report["missed"]


def test_a_batch_on_the_cluster_reports_what_one_process_reports(batch, cluster, capsys, monkeypatch):
    path = batch(rows=ROWS_40)
    alone = invoke(capsys, monkeypatch, "eval", path, "--format", "json")
    assert alone.out, alone.err
    spread = invoke(capsys, monkeypatch, "eval", path, "--format", "json", "--cluster", cluster, "--chunk-rows", "7")
    assert spread.code == alone.code, spread.err + spread.out
    assert spread.out, spread.err
    assert spread.out.startswith("{"), spread.out[:2000]
    assert len(spread.json()["rows"]) == 40
    assert comparable(spread.json()) == comparable(alone.json())
    assert spread.err.count("rows recorded") == 6  # 40 rows in chunks of 7
    # said at the start: until the first chunk was recorded, nothing showed the batch had started
    assert spread.err.index(f"40 rows in chunks of 7 on the Dask cluster at {cluster}") < spread.err.index("rows recorded")
    shown = invoke(capsys, monkeypatch, "eval", "show", spread.json()["batch_id"], "--format", "json")
    assert comparable(shown.json()) == comparable(spread.json())  # the project journal has every row
    traces = [trace_lines(spread.json()["batch_id"]), trace_lines(alone.json()["batch_id"])]
    assert len(traces[0]) == len(traces[1]) > 0  # one trace per run, in the batch's trace file


def trace_lines(batch_id):
    from agentctl.evals.tracing import batch_trace_path

    return batch_trace_path(".", batch_id).read_text().splitlines()


def test_the_batch_budget_holds_across_workers(batch, cluster, server, capsys, monkeypatch, project):
    path = batch(rows=ROWS_40)
    text = (project.root / path).read_text() + "budgets: {max_llm_calls: 10}\n"
    (project.root / path).write_text(text)
    before = len(server.requests)
    answered = lambda: [b for _, b in server.requests[before:] if b["messages"][-1]["content"] != "boom"]  # noqa: E731
    ran = invoke(capsys, monkeypatch, "eval", path, "--format", "json", "--cluster", cluster, "--chunk-rows", "4")
    assert ran.code == 3, ran.err  # the budget stopped the batch
    calls = sum(r["usage"].get("llm_calls", 0) for r in ran.json()["rows"])
    assert len(answered()) <= 10 and calls <= 10  # the guarantee (a call failing with a 500 is not counted)
    assert calls == 10  # and what chunks did not spend went back to the bank (invalid rows cost nothing)
    assert len(ran.json()["rows"]) < 40


LEDGER_TOOL = '''
import os, time

LEDGER = "LEDGER_PATH"
RELEASE = "RELEASE_PATH"


def apply(q: str, idempotency_key: str = "") -> dict:
    """A side effect that honours its key: applied once per key, every call logged. The third
    row a worker applies waits for the test (which kills that worker) before it returns."""
    lines = open(LEDGER).read().splitlines() if os.path.exists(LEDGER) else []
    mine = [l for l in lines if l.startswith("applied") and l.split()[3] == str(os.getppid())]
    with open(LEDGER, "a") as ledger:
        ledger.write(f"call {idempotency_key} {q}\\n")
        if any(l.split()[1] == idempotency_key for l in lines if l.startswith("applied")):
            return {"done": q}
        ledger.write(f"applied {idempotency_key} {q} {os.getppid()}\\n")
    if len(mine) == 2 and not os.path.exists(RELEASE):
        with open(LEDGER, "a") as ledger:
            ledger.write(f"waiting {os.getppid()}\\n")
        deadline = time.monotonic() + 120
        while not os.path.exists(RELEASE) and time.monotonic() < deadline:
            time.sleep(0.01)
    return {"done": q}
'''
KILL_PIPELINE = """apiVersion: agentctl/v1
name: k
version: 1
inputs:
  q: {type: string}
tools:
  apply: {python: "tools.ledger:apply", side_effects: true}
steps:
  - {id: s, tool: apply, with: {q: "${{ inputs.q }}"}}
outputs:
  done: ${{ steps.s.output.done }}
"""
KILL_EVAL = """apiVersion: agentctl/v1
pipeline: pipelines/k.yaml
data: evals/k.jsonl
row_id: ${{ row.q }}
inputs: {q: "${{ row.q }}"}
concurrency: 1
checks:
  - {name: done, expect: "${{ outputs.done == row.q }}"}
"""


@pytest.mark.parametrize("journal_lost", [False, True], ids=["journal kept", "journal lost"])
def test_a_worker_killed_mid_batch_leaves_every_row_done_once(project, tmp_path, journal_lost):
    """On one machine the retried chunk finds its journal; where it cannot (another machine), the
    rows are re-done from the driver's records and keep their run ids, so their idempotency keys."""
    root = project.root
    scratch = tmp_path / "scratch"  # the workers' temporary folder, where chunk journals live
    scratch.mkdir()
    ledger_project(root)
    batch = start_batch(root, "10", TMPDIR=str(scratch))
    try:
        victim = _first_waiting_worker(root / "ledger.txt", batch)
        os.kill(victim, signal.SIGKILL)
        if journal_lost:
            shutil.rmtree(scratch / "agentctl-chunks")
        (root / "release").touch()
        out, err = batch.communicate(timeout=300)
    finally:
        batch.kill()
    report = json.loads(out)
    assert sorted(r["row_id"] for r in report["rows"]) == sorted(f"row{n}" for n in range(40)), err
    assert all(r["passed"] for r in report["rows"])
    assert not (scratch / "agentctl-chunks" / report["batch_id"]).exists()  # copied, then removed
    lines = (root / "ledger.txt").read_text().splitlines()
    applied = [line.split()[1] for line in lines if line.startswith("applied")]
    assert len(applied) == len(set(applied)) == 40  # every side effect once: the re-run row kept its key
    calls = [line for line in lines if line.startswith("call")]
    if journal_lost:
        assert len(calls) > 42  # the killed chunk's committed rows ran again (it had 2): same keys, no new effect
    else:
        assert len(calls) == 41  # the killed chunk's committed rows were skipped; only its row in flight ran again


def ledger_project(root):
    """40 rows, each a call of a side-effecting tool that keeps a ledger (LEDGER_TOOL)."""
    (root / "tools" / "ledger.py").write_text(LEDGER_TOOL.replace("LEDGER_PATH", str(root / "ledger.txt"))
                                              .replace("RELEASE_PATH", str(root / "release")))
    (root / "pipelines" / "k.yaml").write_text(KILL_PIPELINE)
    (root / "evals").mkdir()
    (root / "evals" / "k.jsonl").write_text("".join(json.dumps({"q": f"row{n}"}) + "\n" for n in range(40)))
    (root / "evals" / "k.eval.yaml").write_text(KILL_EVAL)


def start_batch(root, chunk_rows, **env):
    """`agentctl eval` on two local workers, in a process of its own (to be killed or interrupted)."""
    return subprocess.Popen([sys.executable, "-m", "agentctl", "eval", "evals/k.eval.yaml", "--workers", "2",
                             "--chunk-rows", chunk_rows, "--format", "json"], cwd=root, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **env}, preexec_fn=interruptible)


def _first_waiting_worker(ledger, batch) -> int:
    """Synchronised on the ledger, not on time: the pid of the first worker whose row waits."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert batch.poll() is None, batch.communicate()
        waiting = [line for line in (ledger.read_text().splitlines() if ledger.exists() else [])
                   if line.startswith("waiting")]
        if waiting:
            return int(waiting[0].split()[1])
        time.sleep(0.05)
    raise AssertionError("no worker reached the waiting row")


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_an_interrupted_cluster_batch_resumes_with_the_rest_of_its_rows(project, tmp_path, signal_name):
    """SIGTERM (a CI runner cancelling the job) killed the batch where it stood, without its report."""
    root = project.root
    ledger_project(root)
    first = start_batch(root, "2")
    try:
        _first_waiting_worker(root / "ledger.txt", first)
        first.send_signal(getattr(signal, signal_name))  # Ctrl-C (or SIGTERM) while rows wait
        out, err = first.communicate(timeout=120)
    finally:
        first.kill()
    assert first.returncode == 130 and out, err[-3000:]
    batch_id = json.loads(out)["batch_id"]
    (root / "release").touch()
    resumed = subprocess.run([sys.executable, "-m", "agentctl", "resume", batch_id, "--json"], cwd=root,
                             capture_output=True, text=True, timeout=300)
    report = json.loads(resumed.stdout)
    assert sorted(r["row_id"] for r in report["rows"]) == sorted(f"row{n}" for n in range(40)), resumed.stderr
    applied = [line.split()[1] for line in (root / "ledger.txt").read_text().splitlines() if line.startswith("applied")]
    assert len(applied) == len(set(applied)) == 40


def test_a_local_cluster_binds_the_loopback_interface_only():
    from agentctl.evals.cluster import client_for

    with client_for(2, None) as client:
        info = client.scheduler_info()
        addresses = [info["address"], *info["workers"]] + [w["nanny"] for w in info["workers"].values()]
        dashboard = info["services"]["dashboard"]
    assert len(info["workers"]) == 2
    assert all(a.startswith("tcp://127.0.0.1:") for a in addresses), addresses
    assert dashboard != 8787  # a free port, not Dask's fixed one
