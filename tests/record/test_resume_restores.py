"""What a resume gives back, in process: committed results as they were (loop bodies, fan-out
usage), tool results and model answers already paid for, and never a masked secret."""

import json
import sqlite3

import pytest

from agentctl import runs
from agentctl.run.approvals import FixedApprover
from agentctl.run.events import ToolCallRestored
from agentctl.tools.registry import build_tools
from tests.support.openai_server import Behaviour, answer, fault


AGENT_WITH_LOOKUP = """
tools:
  lookup: {python: "tools.lookup:lookup"}
agents:
  a: {model: m, prompt: prompts/p.prompt, tools: [lookup], max_iterations: 3}
steps:
  - {id: s, agent: a}
"""


def journaled_runs(project, subscribers=()):
    """A function running AGENT_WITH_LOOKUP through runs.execute: new, or continuing run_id."""
    from agentctl.llm.litellm_client import LitellmModel

    compiled = project.compile(project.pipeline(AGENT_WITH_LOOKUP, attempts="1"))

    def run(run_id=None):
        prepared = runs.Prepared(compiled, {}, build_tools(compiled), LitellmModel())
        return runs.execute(prepared, FixedApprover(None), subscribers,
                            continuation=runs.Continuation(run_id) if run_id else None)

    return run


def test_a_resumed_agent_asking_another_call_at_a_journaled_index_gets_a_call_of_its_own(project, server):
    """Keys go by call index; a re-run agent may ask something else at that index. It must not be
    handed the earlier call's result, nor reach the tool under the earlier call's key."""
    run = journaled_runs(project)
    server.push(Behaviour(content=None, tool_calls=[("lookup", '{"query": "a"}')]), fault(400))
    first = run()
    assert first.status == "failed"  # after the tool call: the step is run again by a resume
    server.push(Behaviour(content=None, tool_calls=[("lookup", '{"query": "b"}')]), answer("done"))
    again = run(first.run_id)
    assert again.status == "succeeded"
    assert json.loads(server.requests[-1][1]["messages"][-1]["content"]) == {"result": "B"}  # not A's result
    db = sqlite3.connect(project.root / runs.JOURNAL)
    rows = db.execute("SELECT key, args FROM tool_calls ORDER BY at").fetchall()
    assert [json.loads(args) for _, args in rows] == [{"query": "a"}, {"query": "b"}]
    assert rows[0][0] == f"{first.run_id}:s:0" and rows[1][0].startswith(f"{first.run_id}:s:0~")


def test_a_resumed_agent_asking_the_same_call_gets_the_journaled_result_without_a_second_call(project, server):
    restored = []
    run = journaled_runs(project, [lambda e: isinstance(e, ToolCallRestored) and restored.append(e)])
    server.push(Behaviour(content=None, tool_calls=[("lookup", '{"query": "a"}')]), fault(400))
    first = run()
    server.push(Behaviour(content=None, tool_calls=[("lookup", '{"query": "a"}')]), answer("done"))
    assert run(first.run_id).status == "succeeded"
    assert [e.call_id for e in restored] == [f"{first.run_id}:s:0"]
    db = sqlite3.connect(project.root / runs.JOURNAL)
    assert db.execute("SELECT COUNT(*) FROM tool_calls").fetchone()[0] == 1


LOOP_THEN_APPROVAL = """
steps:
  - id: rounds
    loop:
      max_iterations: 2
      until: ${{ steps.check.output.passed }}
      steps:
        - {id: check, gate: {check: true}}
  - {id: hold, needs: [rounds], approval: {message: go?}}
  - {id: report, needs: [hold], gate: {check: "${{ steps.check.output.passed }}"}}
outputs:
  passed: ${{ steps.check.output.passed }}
"""


def test_a_loop_body_step_read_after_the_loop_is_restored_by_a_resume(project, capsys, monkeypatch):
    """Paused after the loop, then approved: `steps.check` used to be undefined ('dict object' has
    no attribute 'check') in this and every later resume."""
    from tests.support.cli import invoke

    path = project.pipeline(LOOP_THEN_APPROVAL)
    monkeypatch.chdir(project.root)
    paused = invoke(capsys, monkeypatch, "run", path, "--json")
    assert paused.code == 4, paused.err
    approved = invoke(capsys, monkeypatch, "approve", paused.json()["run_id"])
    assert approved.code == 0, approved.out + approved.err
    assert "passed: true" in approved.out and "total: 4 steps" in approved.out


SECRETIVE = '''
import os

def bearer(token: str) -> dict:
    return {"header": f"Bearer {token}"}

def check(header: str) -> dict:
    return {"ok": header == "Bearer " + os.environ["API_TOKEN"]}
'''
SECRET_THEN_APPROVAL = """
env:
  API_TOKEN: {secret: true}
tools:
  bearer: {python: "tools.secretive:bearer"}
  check: {python: "tools.secretive:check"}
steps:
  - {id: auth, tool: bearer, with: {token: "${{ env.API_TOKEN }}"}}
  - {id: hold, needs: [auth], approval: {message: go?}}
  - {id: use, needs: [hold], tool: check, with: {header: "${{ steps.auth.output.header }}"}}
outputs:
  ok: ${{ steps.use.output.ok }}
"""


def test_a_resume_never_feeds_a_masked_secret_to_a_later_step(project, capsys, monkeypatch):
    """The journal masks secrets, so a restored output that held one is not what the step returned:
    it used to reach `use` as 'Bearer ***', which silently computed ok: false."""
    from tests.support.cli import invoke

    (project.root / "tools" / "secretive.py").write_text(SECRETIVE)
    monkeypatch.setenv("API_TOKEN", "sk-live-0123456789")
    monkeypatch.chdir(project.root)
    path = project.pipeline(SECRET_THEN_APPROVAL)
    whole = invoke(capsys, monkeypatch, "run", path, "--approve", "--json")
    assert whole.code == 0 and whole.json()["outputs"] == {"ok": True}
    paused = invoke(capsys, monkeypatch, "run", path, "--json")
    assert paused.code == 4
    resumed = invoke(capsys, monkeypatch, "resume", paused.json()["run_id"], "--approve", "--json")
    assert resumed.code == 1, resumed.out
    assert "the output of step 'auth' held a secret" in resumed.json()["error"]
    assert "sk-live-0123456789" not in resumed.out + resumed.err


FAN_OUT_THEN_APPROVAL = """
inputs:
  names: {type: array, default: [ada, bob, cy, dee, eve]}
tools:
  lookup: {python: "tools.lookup:lookup"}
steps:
  - {id: score, tool: lookup, for_each: "${{ inputs.names }}", max_items: 10, with: {query: "${{ item }}"}}
  - {id: hold, needs: [score], approval: {message: go?}}
  - {id: report, needs: [hold], tool: lookup, with: {query: done}}
"""


@pytest.mark.parametrize("max_steps, finishes", [(7, True), (6, False)])
def test_a_resume_counts_what_the_run_spent_before_it(project, capsys, monkeypatch, max_steps, finishes):
    """A finished for_each step counted as 1 step after a resume (5 items + 2 steps: 7 uninterrupted,
    3 after pause and approve), so pausing bypassed max_steps."""
    from tests.support.cli import invoke

    monkeypatch.chdir(project.root)
    path = project.pipeline(FAN_OUT_THEN_APPROVAL + f"budgets: {{max_steps: {max_steps}}}\n")
    whole = invoke(capsys, monkeypatch, "run", path, "--approve", "--json")
    paused = invoke(capsys, monkeypatch, "run", path, "--json")
    assert paused.code == 4
    resumed = invoke(capsys, monkeypatch, "approve", paused.json()["run_id"])
    assert (whole.code, resumed.code) == ((0, 0) if finishes else (3, 3)), resumed.out
    if finishes:
        assert whole.json()["usage"]["steps"] == 7 and "total: 7 steps, 0 LLM calls, 6 tool calls" in resumed.out


AGENT_WITH_GATED_TOOL = """
tools:
  lookup: {python: "tools.lookup:lookup", approval: true}
agents:
  a: {model: m, prompt: prompts/p.prompt, tools: [lookup], max_iterations: 3}
steps:
  - {id: s, agent: a, with: {text: find it}}
outputs:
  said: ${{ steps.s.output }}
"""


def test_a_resumed_agent_does_not_pay_again_for_answers_it_had(project, server, capsys, monkeypatch):
    """Paused at an approval inside the agent's tool loop, then approved: the model's first answer
    (the tool call) used to be asked and paid for again."""
    from tests.support.cli import invoke

    server.push(Behaviour(content=None, tool_calls=[("lookup", '{"query": "a"}')]), answer("found A"))
    monkeypatch.chdir(project.root)
    path = project.pipeline(AGENT_WITH_GATED_TOOL)
    paused = invoke(capsys, monkeypatch, "run", path, "--json")
    assert paused.code == 4 and server.count() == 1
    resumed = invoke(capsys, monkeypatch, "approve", paused.json()["run_id"])
    assert resumed.code == 0, resumed.out + resumed.err
    assert server.count() == 2  # only the answer after the tool's result is new
    assert "said: found A" in resumed.out and "total: 1 step, 2 LLM calls, 1 tool call" in resumed.out
    assert "answer 1 restored from the journal" in resumed.err
