"""Fuzz `validate` and `graph` (issue 10, item 15). Prints figures; saves every input that gives an
internal error or hangs to tests/fuzz_corpus/, where tests/compile/test_fuzz.py keeps it.

    .venv/bin/python scripts/fuzz.py [--count 10000] [--seed 0] [--cli-every 50]

Every input is checked in process (validate in every output format, graph in every format);
every --cli-every-th one also through `python -m agentctl validate` and `graph` in a fresh process.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.fuzz import REPO, check, make_input, project  # noqa: E402

CORPUS = REPO / "tests" / "fuzz_corpus"


def through_the_cli(root: Path, kind: str, text: str) -> str | None:
    path = root / ("pipelines/cli.yaml" if kind == "pipeline" else "prompts/cli.prompt")
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    commands = [["validate", str(path)]] + ([["graph", str(path)]] if kind == "pipeline" else [])
    try:
        for command in commands:
            done = subprocess.run([sys.executable, "-m", "agentctl", *command], cwd=root, capture_output=True,
                                  text=True, timeout=60, env={**os.environ, "NO_COLOR": "1"})
            if done.returncode not in (0, 1) or "internal error" in done.stderr:
                return f"{' '.join(command)}: exit {done.returncode}: {done.stderr[-2000:]}"
        return None
    except subprocess.TimeoutExpired:
        return "hang"
    finally:
        path.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cli-every", type=int, default=50)
    args = parser.parse_args()
    failures, cli_checked, started = [], 0, time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        root = project(Path(scratch))
        for index in range(args.count):
            kind, text = make_input(index, args.seed)
            outcome = check(root, kind, text)
            problem = None if outcome.ok else outcome.problem
            if problem is None and args.cli_every and index % args.cli_every == 0:
                cli_checked += 1
                problem = through_the_cli(root, kind, text)
            if problem is not None:
                name = f"seed{args.seed}-{index:05d}.{'yaml' if kind == 'pipeline' else 'prompt'}"
                (CORPUS / name).write_text(text, encoding="utf-8", errors="surrogatepass")
                failures.append((name, problem.strip().splitlines()[-1]))
                print(f"FAIL {name}: {failures[-1][1]}", flush=True)
            if (index + 1) % 1000 == 0:
                print(f"{index + 1} inputs, {len(failures)} failures, {time.monotonic() - started:.0f} s", flush=True)
    elapsed = time.monotonic() - started
    print(f"{args.count} inputs (seed {args.seed}) in {elapsed:.0f} s, {cli_checked} also through the CLI: "
          f"{len(failures)} internal errors or hangs")


if __name__ == "__main__":
    main()
