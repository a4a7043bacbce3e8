"""Batches on Dask distributed (`eval --cluster ADDRESS`, `--workers N`): a module-scoped local
cluster on 127.0.0.1 with two workers; the rows run in chunks on the workers, each chunk journaled
on the worker's disk, and the driver's journal ends up with the same report a batch run in one
process gives."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.evals.conftest import ROWS
from tests.support.cli import invoke

distributed = pytest.importorskip("distributed")

ROWS_40 = [{**row, "id": f"{row['id']}-{n}"} for n in range(8) for row in ROWS]


@pytest.fixture(scope="module")
def cluster():
    import logging

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, silence_logs=logging.ERROR) as local:
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
    shown = invoke(capsys, monkeypatch, "eval", "show", spread.json()["batch_id"], "--format", "json")
    assert comparable(shown.json()) == comparable(spread.json())  # the project journal has every row


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
