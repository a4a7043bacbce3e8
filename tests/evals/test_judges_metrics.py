"""Judge checks (a pipeline whose output `pass` decides, run as a journaled run of its own, its
cost counted in the row's) and metrics (aggregated, with maxima as thresholds)."""

import json

from tests.support.cli import invoke
from tests.support.openai_server import Behaviour, fault

JUDGE_PROMPT = """---
name: judge
version: 1
inputs:
  answer: {type: string}
  expected: {type: string}
---
user:
judge {{ answer }} against {{ expected }}
"""
VERDICT = ('{"type": "object", "properties": {"pass": {"type": "boolean"}, "reason": {"type": "string"}}, '
           '"required": ["pass"]}')
JUDGE = """
inputs:
  answer: {type: string}
  expected: {type: string}
agents:
  j: {model: m, prompt: prompts/judge.prompt, output_schema: schemas/verdict.json}
steps:
  - {id: verdict, agent: j, with: {answer: "${{ inputs.answer }}", expected: "${{ inputs.expected }}"}}
outputs:
  pass: ${{ steps.verdict.output.pass }}
  reason: ${{ steps.verdict.output.reason }}
"""
CHECKS = """checks:
  - name: judged
    judge: pipelines/judge.yaml
    with: {answer: "${{ outputs.answer }}", expected: "${{ row.expected }}"}
metrics:
  length: {value: "${{ outputs.answer | length }}"}
  long_only: {value: "${{ outputs.answer | length }}", when: "${{ row.n > 1 }}"}
thresholds: {metrics: {length: {max: LIMIT}, tokens: {p95: 1000}}}
"""


def _judged(project, batch, limit="100"):
    path = batch()
    text = (project.root / path).read_text()
    text = text[:text.index("checks:")] + CHECKS.replace("LIMIT", limit)
    (project.root / path).write_text(text)
    (project.root / "prompts" / "judge.prompt").write_text(JUDGE_PROMPT)
    (project.root / "schemas" / "verdict.json").write_text(VERDICT)
    models = project.models(attempts="1")
    (project.root / "pipelines" / "judge.yaml").write_text(f"apiVersion: agentctl/v1\nname: judge\nversion: 1\n"
                                                          f"{models}{JUDGE}")
    return path


def _server(server):
    def answer(body):
        text = body["messages"][-1]["content"]
        if text.startswith("judge "):
            _, answer, _, expected = text.split(" ")
            verdict = {"pass": answer == expected} if answer == expected else {"pass": False, "reason": "differs"}
            return Behaviour(content=json.dumps(verdict))
        return fault(500) if text == "boom" else Behaviour(content=text.upper())
    server.default = answer


def test_a_judge_pipeline_decides_the_check_and_its_cost_counts(batch, capsys, monkeypatch, project, server):
    path = _judged(project, batch)
    _server(server)
    done = invoke(capsys, monkeypatch, "eval", path, "-o", "report.json")
    report = json.loads((project.root / "report.json").read_text())
    rows = {r["row_id"]: r for r in report["rows"]}
    assert rows["r1"]["checks"]["judged"]["passed"] is True
    assert rows["r3"]["checks"]["judged"] == {"passed": False, "judge_run": rows["r3"]["checks"]["judged"]["judge_run"],
                                              "reason": "differs"}
    assert rows["r4"]["checks"]["judged"]["skipped"]  # the row's run failed: nothing to judge
    assert rows["r1"]["usage"]["llm_calls"] == 2  # the row's call and its judge's
    judge_run = invoke(capsys, monkeypatch, "runs", "show", rows["r1"]["checks"]["judged"]["judge_run"], "--json")
    assert judge_run.code == 0 and json.loads(judge_run.out)["outputs"]["pass"] is True
    assert "check judged: 2/3" in done.out


def test_metrics_are_aggregated_and_their_maxima_are_thresholds(batch, capsys, monkeypatch, project, server):
    path = _judged(project, batch, limit="4")
    _server(server)
    done = invoke(capsys, monkeypatch, "eval", path, "-o", "report.json")
    report = json.loads((project.root / "report.json").read_text())
    # answers HELLO, BYE, WRONG: lengths 5, 3, 5 (r4 failed, r5 invalid: not measured)
    assert report["metrics"]["length"] == {"of": 3, "mean": round(13 / 3, 6), "p50": 5, "p95": 5, "min": 3, "max": 5,
                                           "sum": 13}
    assert report["metrics"]["long_only"]["of"] == 2  # r2, r3 have n > 1
    assert report["metrics"]["llm_calls"]["of"] == 5
    assert done.code == 5 and "threshold missed: metric 'length' max 5 is above 4" in done.out
    assert "metric length: mean 4.33333, p50 5, p95 5, min 3, max 5 (of 3)" in done.out


def test_validate_locates_judge_and_metric_mistakes(batch, capsys, monkeypatch, project):
    path = _judged(project, batch)
    text = (project.root / path).read_text()
    (project.root / path).write_text(text.replace("expected: \"${{ row.expected }}\"", "expectd: \"${{ row.expected }}\"")
                                     .replace("tokens: {p95", "tokns: {p95"))
    (project.root / "pipelines" / "judge.yaml").write_text(
        (project.root / "pipelines" / "judge.yaml").read_text().replace("  pass: ", "  verdict: "))
    done = invoke(capsys, monkeypatch, "validate", path)
    assert done.code == 1
    assert "error[E904]: judge pipelines/judge.yaml has no output 'pass'" in done.out
    assert "error[E903]: judge 'judge' has no input 'expectd'" in done.out and "did you mean 'expected'" in done.out
    assert "error[E903]: thresholds.metrics.tokns: there is no metric 'tokns'" in done.out


def test_a_judge_with_mcp_tools_judges_every_row_and_leaves_no_server_behind(tmp_path, capsys, monkeypatch):
    """The judge's tools were closed after each judge run and never started again: every row after
    the first failed its check with "MCPError: Connection closed". The judge's servers now start
    with its first run and stop with the batch, as the pipeline's own do."""
    import sys

    from tests.conftest import REPO
    from tests.support.cli import scratch_project

    ledger = tmp_path / "ledger.jsonl"
    scratch_project(tmp_path, {
        "pipelines/main.yaml": "apiVersion: agentctl/v1\nname: main\nversion: 1\ninputs:\n  n: {type: integer}\n"
                               "steps:\n  - {id: g, gate: {check: \"${{ inputs.n >= 0 }}\"}}\n",
        "pipelines/judge.yaml": f"""apiVersion: agentctl/v1
name: judge
version: 1
inputs:
  n: {{type: integer}}
mcp_servers:
  test:
    command: [{sys.executable}, -m, tests.support.mcp_server]
    env: {{PYTHONPATH: "{REPO}", LEDGER: "{ledger}"}}
tools:
  shout: {{mcp: test}}
steps:
  - {{id: s, tool: shout, with: {{text: "row ${{{{ inputs.n }}}}"}}}}
outputs:
  pass: ${{{{ steps.s.output.text == 'ROW ' ~ inputs.n }}}}
""",
        "evals/rows.jsonl": "".join('{"n": %d}\n' % i for i in range(4)),
        "evals/j.eval.yaml": "apiVersion: agentctl/v1\nname: j\npipeline: pipelines/main.yaml\ndata: evals/rows.jsonl\n"
                             "row_id: ${{ row.n }}\ninputs:\n  n: ${{ row.n }}\nchecks:\n  - name: judged\n"
                             "    judge: pipelines/judge.yaml\n    with: {n: \"${{ row.n }}\"}\n",
    })
    monkeypatch.chdir(tmp_path)
    done = invoke(capsys, monkeypatch, "eval", "evals/j.eval.yaml", "--format", "json")
    report = done.json()
    assert {r["row_id"]: r["passed"] for r in report["rows"]} == {"0": True, "1": True, "2": True, "3": True}, \
        [r["checks"] for r in report["rows"]]
    assert "Connection closed" not in done.err
    import psutil

    def this_tests_server(process) -> bool:  # started in this project (other tests' servers are not ours)
        try:
            return "tests.support.mcp_server" in process.cmdline() and process.cwd() == str(tmp_path)
        except psutil.Error:  # gone meanwhile
            return False

    assert [p.pid for p in psutil.Process().children(recursive=True) if this_tests_server(p)] == []
