"""Gates and approvals, including the tiered expense example end to end."""

import asyncio
import json

import pytest

from agentctl import api
from agentctl.run.approvals import FixedApprover
from agentctl.run.executor import Executor
from agentctl.llm.fake import ScriptedModel, reply
from agentctl.tools.registry import build_tools
from tests.support.example import copy_example


@pytest.fixture
def expense(tmp_path):
    copy_example(tmp_path)
    result = api.compile_file(str(tmp_path / "pipelines" / "expense_approval.yaml"), cwd=tmp_path)
    compiled = result.pipeline
    assert compiled is not None, result.diagnostics
    return compiled


def run_expense(compiled, amount, approve, within_policy=True):
    policy = {"category": "travel", "within_policy": within_policy, "reason": "economy train"}
    model = ScriptedModel([reply(json.dumps(policy))])
    inputs = {"requester": "ada", "description": "train", "amount_usd": amount}
    executor = Executor(compiled, model, inputs=inputs, approver=FixedApprover(approve), tools=build_tools(compiled))
    return asyncio.run(executor.run())


def test_below_the_threshold_is_approved_automatically(expense):
    result = run_expense(expense, 80, approve=None)  # nobody to ask, and nobody needed
    assert result.status == "succeeded"
    assert result.outputs["approved_by"] == "auto"
    assert result.outputs["payment"]["approved_by"] == "auto"


@pytest.mark.parametrize("amount, role", [(800, "manager"), (12_000, "director")])
def test_higher_amounts_need_the_right_approver(expense, amount, role):
    paused = run_expense(expense, amount, approve=None)
    assert paused.status == "paused" and paused.exit_code == 4
    assert f"approval by {role}" in paused.error
    assert paused.steps["pay"].status == "pending" and paused.steps["policy"].status == "succeeded"
    approved = run_expense(expense, amount, approve=True)
    assert approved.status == "succeeded" and approved.outputs["approved_by"] == role


def test_a_denial_skips_what_needs_it(expense):
    result = run_expense(expense, 800, approve=False)
    assert result.status == "succeeded"
    assert result.steps["sign_off"].status == "denied"
    assert result.steps["pay"].status == "skipped"  # the side effect never happens


def test_a_failed_gate_fails_the_run_with_its_message(expense):
    result = run_expense(expense, 80, approve=True, within_policy=False)
    assert result.status == "failed"
    assert "Outside the expense policy: economy train" in result.error
    assert result.steps["sign_off"].status == "pending"


def test_an_optional_field_left_out_reads_as_null_and_default_applies(project):
    # Was: "cannot evaluate ... has no attribute 'feedback'", with outputs {} after every step succeeded.
    (project.root / "schemas" / "review.json").write_text(
        '{"type": "object", "properties": {"answer": {"type": "string"}, "feedback": {"type": "string"}}, '
        '"required": ["answer"]}')
    body = """
agents:
  a: {model: m, prompt: prompts/p.prompt, output_schema: schemas/review.json}
steps:
  - {id: s, agent: a}
outputs:
  feedback: ${{ steps.s.output.feedback }}
  said: ${{ steps.s.output.feedback | default('nothing') }}
  text: "feedback: ${{ steps.s.output.feedback }}"
  defined: ${{ steps.s.output.feedback is defined }}
"""
    result = project.run(body, model=ScriptedModel([reply('{"answer": "fine"}')]))
    assert result.status == "succeeded", result.error
    assert result.outputs == {"feedback": None, "said": "nothing", "text": "feedback: ", "defined": False}


def test_a_skipped_steps_output_is_null_and_default_replaces_it(project):
    body = """
tools:
  lookup: {python: "tools.lookup:lookup"}
agents:
  a: {model: m, prompt: prompts/p.prompt}
steps:
  - {id: maybe, agent: a, when: "${{ false }}"}
  - {id: after, tool: lookup, allow_skipped: true, needs: [maybe], with: {query: "${{ steps.maybe.output | default('none') }}"}}
outputs:
  raw: ${{ steps.maybe.output }}
  after: ${{ steps.after.output }}
"""
    result = project.run(body, model=ScriptedModel())
    assert result.status == "succeeded", result.error
    assert result.outputs == {"raw": None, "after": {"result": "NONE"}}
