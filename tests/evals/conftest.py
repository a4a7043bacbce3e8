"""An eval project for the tests of this package: a one-step pipeline answering in capitals
from the local server, five rows with every outcome (pass, failed check, error, invalid)."""

import json

import pytest

from tests.support.openai_server import Behaviour, fault

PIPELINE = """
inputs:
  q: {type: string}
  n: {type: integer, default: 1}
agents:
  a: {model: m, prompt: prompts/p.prompt}
steps:
  - {id: say, agent: a, with: {text: "${{ inputs.q }}"}}
outputs:
  answer: ${{ steps.say.output }}
"""
EVAL = """apiVersion: agentctl/v1
pipeline: pipelines/t.yaml
data: evals/rows.jsonl
row_id: ${{ row.id }}
inputs:
  q: ${{ row.question }}
  n: ${{ row.n }}
checks:
  - {name: exact, expect: "${{ outputs.answer == row.expected }}"}
  - {name: short, expect: "${{ outputs.answer | length < 10 }}", when: "${{ row.id != 'r1' }}"}
thresholds: {pass_rate: PASS_RATE, checks: {exact: 0.5}}
"""
ROWS = [
    {"id": "r1", "question": "hello", "n": 1, "expected": "HELLO"},       # passes
    {"id": "r2", "question": "bye", "n": 2, "expected": "BYE"},           # passes
    {"id": "r3", "question": "wrong", "n": 3, "expected": "nope"},        # check `exact` fails
    {"id": "r4", "question": "boom", "n": 4, "expected": "BOOM"},         # the model fails: an error
    {"id": "r5", "question": "typed", "n": "five", "expected": "TYPED"},  # n is not an integer: invalid
]


@pytest.fixture
def batch(project, server, monkeypatch):
    server.default = lambda body: (fault(500) if body["messages"][-1]["content"] == "boom"
                                   else Behaviour(content=body["messages"][-1]["content"].upper()))
    project.pipeline(PIPELINE, attempts="1")
    (project.root / "evals").mkdir()
    (project.root / "evals" / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    monkeypatch.chdir(project.root)

    def write(pass_rate="0.4", rows=ROWS):
        (project.root / "evals" / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        (project.root / "evals" / "smoke.eval.yaml").write_text(EVAL.replace("PASS_RATE", pass_rate))
        return "evals/smoke.eval.yaml"
    return write
