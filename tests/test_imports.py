"""validate and graph must not import litellm, mcp, OpenTelemetry exporters or Dask (start-up time)."""

import subprocess
import sys

from tests.conftest import REPO

HEAVY = ("litellm", "mcp", "opentelemetry", "openai", "tenacity", "distributed", "dask")
PROBE = """
import sys
from agentctl.boundary import main
sys.argv = ["agentctl", *{args!r}]
try:
    main()
except SystemExit:
    pass
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})
print("HEAVY:" + ",".join(heavy))
"""


def imported_by(*args):
    code = PROBE.format(args=list(args), heavy=HEAVY)
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    marker = [line for line in out.stdout.splitlines() if line.startswith("HEAVY:")]
    assert marker, out.stderr
    return marker[-1].removeprefix("HEAVY:")


def test_validate_imports_no_heavy_library():
    assert imported_by("validate", "-f", "json") == ""


def test_graph_imports_no_heavy_library():
    assert imported_by("graph", "pipelines/travel.yaml") == ""


def test_a_pipeline_without_agents_runs_without_litellm(tmp_path):
    """No agent, no model call: litellm's 2-3 s import is not paid (a gate-only pipeline)."""
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "agentctl.lock").write_text("")
    (tmp_path / "pipelines" / "g.yaml").write_text(
        "apiVersion: agentctl/v1\nname: g\nversion: 1\ninputs:\n  amount: {type: number}\n"
        "steps:\n  - {id: small, gate: {check: \"${{ inputs.amount < 100 }}\", message: too big}}\n")
    code = PROBE.format(args=["run", "pipelines/g.yaml", "-i", "amount=5"], heavy=("litellm", "openai"))
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert "HEAVY:\n" in out.stdout + "\n" and "succeeded" in out.stdout, out.stdout + out.stderr


def test_run_and_eval_without_a_cluster_import_no_dask(tmp_path):
    """Dask distributed is imported by `eval --workers/--cluster` only (evals/cluster.py)."""
    import shutil

    from tests.support.example import copy_example

    copy_example(tmp_path)
    shutil.copytree(REPO / "evals", tmp_path / "evals")
    for args, ran in ((["run", "pipelines/article_review.yaml", "-i", "topic=Idempotency keys in payment APIs",
                        "--replay", "pipelines/cassettes/article_review.json", "--json"], '"status": "succeeded"'),
                      (["eval", "evals/expense_approval.eval.yaml", "--replay", "evals/cassettes/expenses.json"],
                       "rows: 24")):
        code = PROBE.format(args=args, heavy=("distributed", "dask"))
        out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert ran in out.stdout and "HEAVY:\n" in out.stdout + "\n", out.stdout[-2000:] + out.stderr[-2000:]
