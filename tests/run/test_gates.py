"""Gates and approvals, including the tiered expense example end to end."""

import json
import shutil

import pytest

from agentctl import api
from agentctl.run.approvals import FixedApprover
from agentctl.run.executor import Executor
from agentctl.llm.fake import ScriptedModel, reply
from agentctl.tools.registry import build_tools
from tests.conftest import REPO

import asyncio


@pytest.fixture
def expense(tmp_path):
    for sub in ("pipelines", "prompts", "schemas", "tools"):
        shutil.copytree(REPO / sub, tmp_path / sub)
    shutil.copy(REPO / "agentctl.lock", tmp_path / "agentctl.lock")
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
