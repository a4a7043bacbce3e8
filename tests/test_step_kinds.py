"""Every registered step kind, through every command a user runs on it: validate, graph in all
three formats, run (--json), resume after a pause, runs show and trace. A kind added to the
registries without its parts (or with a part that breaks one command) fails here by name."""

import json

import pytest

from agentctl.compile.kinds import KINDS
from tests.support.cli import invoke

# One pipeline per kind: the step `subject` of that kind, then an approval that pauses the run.
SUBJECTS = {
    "agent": """
agents:
  a: {model: m, prompt: prompts/p.prompt}
steps:
  - {id: subject, agent: a, with: {text: hello}}
""",
    "tool": """
tools:
  lookup: {python: "tools.lookup:lookup"}
steps:
  - {id: subject, tool: lookup, with: {query: hello}}
""",
    "gate": """
steps:
  - id: subject
    gate: {check: "${{ 1 < 2 }}", message: never shown}
""",
    "approval": """
steps:
  - id: subject
    approval: {message: fine?, tiers: [{when: true, approver: auto}]}
""",
    "loop": """
steps:
  - id: subject
    loop:
      max_iterations: 3
      until: ${{ steps.inner.output.passed }}
      steps:
        - {id: inner, gate: {check: true}}
""",
}
HOLD = """
  - {id: hold, needs: [subject], approval: {message: continue?}}
outputs:
  result: ${{ steps.subject.output }}
"""


def test_every_registered_kind_has_a_case_here():
    assert set(SUBJECTS) == set(KINDS)


@pytest.fixture
def kind_project(project, monkeypatch):
    def make(kind: str) -> str:
        path = project.pipeline(SUBJECTS[kind] + HOLD)
        monkeypatch.chdir(project.root)
        return path
    return make


def spans_of(documents):
    return [s for d in documents for rs in d["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_validate_and_graph(kind, kind_project, capsys, monkeypatch):
    path = kind_project(kind)
    checked = invoke(capsys, monkeypatch, "validate", path)
    assert checked.code == 0 and "0 errors" in checked.out, checked.out
    for fmt in ("tree", "mermaid", "dot"):
        graph = invoke(capsys, monkeypatch, "graph", path, "-f", fmt)
        assert graph.code == 0 and "subject" in graph.out and kind in graph.out, (fmt, graph.err)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_run_pause_resume_show_and_trace(kind, kind_project, capsys, monkeypatch, server):
    path = kind_project(kind)
    paused = invoke(capsys, monkeypatch, "run", path, "--json")
    assert paused.code == 4, paused.err
    first = paused.json()
    assert first["status"] == "paused" and first["steps"]["subject"]["status"] == "succeeded"
    requests = len(server.requests)

    resumed = invoke(capsys, monkeypatch, "resume", first["run_id"], "--approve", "--json")
    assert resumed.code == 0, resumed.err
    final = resumed.json()
    assert final["status"] == "succeeded"
    assert final["outputs"]["result"] == first["steps"]["subject"]["output"]  # restored, equal
    assert len(server.requests) == requests  # the committed step was not run again

    shown = invoke(capsys, monkeypatch, "runs", "show", first["run_id"])
    assert shown.code == 0 and "subject: succeeded" in shown.out

    traced = invoke(capsys, monkeypatch, "trace", first["run_id"], "-f", "json")
    assert traced.code == 0
    spans = spans_of([json.loads(traced.out)])
    subject = [s for s in spans if {"key": "agentctl.step.id", "value": {"stringValue": "subject"}} in s["attributes"]]
    assert len(subject) == 1  # one span: the first attempt ran it, the resume restored it
    assert {"key": "agentctl.step.kind", "value": {"stringValue": kind}} in subject[0]["attributes"]
