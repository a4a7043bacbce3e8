"""What `agentctl eval` shows while it runs: the expected total, counts, cost against the budget,
time left; off a terminal, a line per row."""

from types import SimpleNamespace

from agentctl.console import BatchProgress
from agentctl.evals.live import BatchView, expected_runs


def _compiled(tmp_path, lines: int, repeat: int = 1, max_cost=None):
    data = tmp_path / "rows.jsonl"
    data.write_text("".join('{"id": %d}\n' % i for i in range(lines)))
    return SimpleNamespace(data=data, repeat=repeat, limits=SimpleNamespace(max_cost_usd=max_cost))


def test_the_expected_total_counts_lines_shards_and_finished_rows(tmp_path):
    compiled = _compiled(tmp_path, 10, repeat=2)
    assert expected_runs(compiled, None, 0) == 20
    assert expected_runs(compiled, (1, 3), 0) == 8  # ceil(10 / 3) rows x 2
    assert expected_runs(compiled, None, 15) == 5


def test_the_status_line_counts_rows_and_cost_against_the_budget(tmp_path, capsys):
    compiled = _compiled(tmp_path, 4, max_cost=1.0)
    batch = SimpleNamespace(shard=None, progress=SimpleNamespace(finished=set()), on_row=None)
    view = BatchView(compiled, batch)
    assert batch.on_row == view.row
    view.display = BatchProgress(live=False)
    view.row({"row_number": 1, "row_id": "a", "passed": True, "status": "succeeded", "error": None,
              "usage": {"cost_usd": 0.25}})
    view.row({"row_number": 2, "row_id": "b", "passed": False, "status": "failed", "error": "boom",
              "usage": {"cost_usd": 0.5}})
    status = view.status()
    assert status.startswith("2/4 runs · 1 passing · 1 failing · 1 errors · $0.7500 of $1.00 · ")
    assert status.endswith(" s left")
    err = capsys.readouterr().err
    assert "row 1 (a): pass [succeeded]  1/4" in err and "row 2 (b): FAIL [failed]  2/4" in err


def test_no_live_at_a_terminal_prints_a_line_per_row(tmp_path):
    """`run` and `resume` had --no-live; `eval` showed its live line at a terminal whatever one asked."""
    import shutil
    import sys

    from tests.conftest import REPO
    from tests.support.example import copy_example
    from tests.support.terminal import run_in_terminal

    root = copy_example(tmp_path)
    shutil.copytree(REPO / "evals", root / "evals")
    args = ["eval", "evals/expense_approval.eval.yaml", "--replay", "evals/cassettes/expenses.json", "--approve"]
    code, screen = run_in_terminal([sys.executable, "-m", "agentctl", *args, "--no-live"], root, columns=120)
    assert code == 0, screen
    import re

    assert re.search(r"^row 1 \(e01\): pass \[succeeded\]  \d+/24$", screen, re.M) and "runs · 22 passing" not in screen


def test_at_a_terminal_the_status_line_shows_before_the_first_row_finishes(tmp_path):
    """The live line appeared only when a row finished: with rows of a slow pipeline the terminal
    stayed blank, nothing said the batch had started. It now shows at once, its clock moving."""
    import sys

    from tests.support.cli import scratch_project
    from tests.support.terminal import Terminal

    go = tmp_path / "go"
    scratch_project(tmp_path, {
        "tools/__init__.py": "",
        "tools/wait.py": f"import pathlib, time\n\ndef wait(n: int) -> dict:\n    while not pathlib.Path({str(go)!r}).exists():\n"
                         "        time.sleep(0.05)\n    return {}\n",
        "pipelines/w.yaml": "apiVersion: agentctl/v1\nname: w\nversion: 1\ninputs:\n  n: {type: integer}\n"
                            "tools:\n  wait: {python: tools.wait:wait, timeout_s: 600}\n"
                            "steps:\n  - {id: w, tool: wait, with: {n: \"${{ inputs.n }}\"}}\n",
        "evals/rows.jsonl": "".join('{"n": %d}\n' % i for i in range(3)),
        "evals/w.eval.yaml": "apiVersion: agentctl/v1\nname: w\npipeline: pipelines/w.yaml\ndata: evals/rows.jsonl\n"
                             "inputs:\n  n: ${{ row.n }}\nchecks:\n  - {name: ok, expect: \"${{ true }}\"}\n",
    })
    terminal = Terminal([sys.executable, "-m", "agentctl", "eval", "evals/w.eval.yaml"], tmp_path, columns=120)
    terminal.expect("0/3 runs · 0 passing · 0 failing · 0 errors · $0.0000 · ")
    go.touch()
    code, screen = terminal.finish()
    assert code == 0, screen
    assert "3/3 runs · 3 passing" in screen
