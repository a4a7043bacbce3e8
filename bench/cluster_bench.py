"""A batch on Dask distributed vs one process (issue 16). Prints figures; asserts nothing.

    bash bench/setup.sh && .venv/bin/python bench/cluster_bench.py [--rows 10000] [--concurrency 64]

ROWS rows x a 2-agent-step pipeline against the local OpenAI-compatible server (its own process)
at 50 ms latency, through litellm, `agentctl eval` in a process of its own:
1. one process (the in-process batch runner);
2. `--workers 2`: a local Dask cluster of two worker processes on 127.0.0.1, chunks of 500 rows.
For each: rows/s, CPU seconds per row (the command and every process under it), the largest
resident memory of each process (sampled every 0.2 s), the time to the first row recorded in the
project journal (a cluster records a chunk's rows when the chunk finishes: the time to the first
finished chunk), and the wall time. Then the start-up of a 2-worker local cluster alone.
"""

from __future__ import annotations

import argparse
import resource
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
from eval_bench import make_eval
from harness import ServerProcess


def run(root: Path, extra: list[str]) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    peaks: dict[int, tuple[str, int]] = {}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "agentctl", "eval", "evals/b.eval.yaml", *extra], cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done = threading.Event()
    sampler = threading.Thread(target=_sample, args=(proc.pid, peaks, done), daemon=True)
    sampler.start()
    first = _first_row(root, proc, start)
    proc.wait()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    rows = _rows(root)
    return {"wall": wall, "rows": rows, "cpu": cpu, "first": first, "peaks": peaks, "code": proc.returncode}


def _sample(pid: int, peaks: dict, done: threading.Event) -> None:
    try:
        top = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    while not done.is_set():
        try:
            family = [top, *top.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        for p in family:
            try:
                rss, name = p.memory_info().rss, " ".join(p.cmdline()[1:4])[:60]
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            if rss > peaks.get(p.pid, ("", 0))[1]:
                peaks[p.pid] = (name, rss)
        done.wait(0.2)


def _first_row(root: Path, proc, start: float) -> float | None:
    path = root / ".agentctl" / "journal.db"
    while proc.poll() is None:
        if path.is_file():
            try:
                db = sqlite3.connect(path)
                found = db.execute("SELECT COUNT(*) FROM batch_rows WHERE status != 'running'").fetchone()[0]
                db.close()
            except sqlite3.OperationalError:  # the tables are not there yet
                found = 0
            if found:
                return time.perf_counter() - start
        time.sleep(0.05)
    return None


def _rows(root: Path) -> int:
    db = sqlite3.connect(root / ".agentctl" / "journal.db")
    try:
        return db.execute("SELECT COUNT(*) FROM batch_rows WHERE status != 'running'").fetchone()[0]
    finally:
        db.close()


def cluster_start_up() -> float:
    import logging

    from distributed import Client, LocalCluster

    start = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0",
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        client.wait_for_workers(2)
        up = time.perf_counter() - start
    return up


def report(name: str, r: dict) -> None:
    rate = r["rows"] / r["wall"] if r["wall"] else 0.0
    print(f"{name}: {r['rows']} rows in {r['wall']:.1f} s = {rate:.1f} rows/s (exit {r['code']}); "
          f"CPU {r['cpu']:.1f} s = {1000 * r['cpu'] / max(1, r['rows']):.2f} ms/row; "
          f"first row recorded after {r['first']:.2f} s" if r["first"] is not None else "no row recorded")
    for pid, (what, rss) in sorted(r["peaks"].items(), key=lambda kv: -kv[1][1])[:6]:
        print(f"    peak RSS {rss / 2**20:6.0f} MB  pid {pid}  {what}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--chunk-rows", type=int, default=500)
    parser.add_argument("--delay", type=float, default=0.05)
    args = parser.parse_args()
    server = ServerProcess(delay_s=args.delay)
    try:
        print(f"{args.rows} rows x 2 model calls, server latency {args.delay * 1000:.0f} ms, "
              f"concurrency {args.concurrency} per process, {psutil.cpu_count()} cores")
        one = run(make_eval(server, args.rows, args.concurrency), [])
        report("one process", one)
        two = run(make_eval(server, args.rows, args.concurrency),
                  ["--workers", "2", "--chunk-rows", str(args.chunk_rows)])
        report(f"--workers 2 (chunks of {args.chunk_rows})", two)
        if one["wall"] and two["wall"]:
            print(f"speed-up: {(two['rows'] / two['wall']) / (one['rows'] / one['wall']):.2f}x")
    finally:
        server.stop()
    print(f"a 2-worker local cluster alone starts in {cluster_start_up():.2f} s")


if __name__ == "__main__":
    main()
