"""The retail support example (pipelines/retail_support.yaml) against a scripted model that tries
to act on another customer's order through a bound argument, through a free argument and through
a tool it was not given: each is refused and told, and no tool runs for another customer."""

import asyncio
import json

from agentctl import api
from agentctl.llm.fake import ScriptedModel, reply
from agentctl.run.approvals import FixedApprover
from agentctl.run.events import EventBus, ToolCallRefused, ToolCallSucceeded
from agentctl.run.executor import Executor
from agentctl.tools.registry import build_tools
from tests.conftest import REPO


def test_the_agent_acts_only_for_the_authenticated_customer():
    compiled = api.compile_file(str(REPO / "pipelines" / "retail_support.yaml")).pipeline
    model = ScriptedModel([
        reply(tool_calls=[("get_order", json.dumps({"order_id": "o9", "customer_id": "c2"}))]),  # a bound argument
        reply(tool_calls=[("cancel_order", json.dumps({"order_id": "o9"}))]),  # a free argument: not ana's order
        reply(tool_calls=[("refund_order", json.dumps({"order_id": "o9"}))]),  # a tool it was not given
    ])
    model.add(reply(tool_calls=[("cancel_order", json.dumps({"order_id": "o1"}))]), reply("Your kettle order is cancelled."))
    result, refused, ran = run(compiled, model, "support_agent")
    assert result.steps["auth"].status == "succeeded", result.error
    assert result.status == "failed"  # max_iterations 4: the agent spent its turns on refused calls
    assert [r.split(" ")[0:3] for r in refused][:3] == [["argument(s)", "customer_id", "of"],
                                                       ["precondition", "of", "cancel_order"],
                                                       ["no", "tool", "named"]]
    told = [[m for m in r.messages if m.get("role") == "tool"][-1]["content"] for r in model.requests[1:4]]
    assert "set by the pipeline" in told[0] and "precondition of cancel_order not met" in told[1]
    assert "no tool named 'refund_order'" in told[2]
    assert ran == [("authenticate", {"email": "ana@example.com"})]  # nothing ran for another customer


def test_an_auditor_reads_but_the_policy_refuses_a_cancellation():
    compiled = api.compile_file(str(REPO / "pipelines" / "retail_support.yaml")).pipeline
    model = ScriptedModel([reply(tool_calls=[("get_order", json.dumps({"order_id": "o1"}))]),
                           reply(tool_calls=[("cancel_order", json.dumps({"order_id": "o1"}))]),
                           reply("I may not cancel orders.")])
    result, refused, ran = run(compiled, model, "auditor")
    assert result.status == "succeeded", result.error
    assert refused == ["policy rule 3 (policy.yaml:13:5) denies role 'auditor' this call of cancel_order"]
    told = [m for m in model.requests[2].messages if m.get("role") == "tool"][-1]["content"]
    assert "policy rule 3 (policy.yaml:13:5) denies" in told
    assert [name for name, _ in ran] == ["authenticate", "get_order"]


def run(compiled, model, role):
    events, refused, ran = EventBus(), [], []
    events.subscribe(lambda e: refused.append(e.reason) if isinstance(e, ToolCallRefused) else None)
    events.subscribe(lambda e: ran.append((e.tool, e.args)) if isinstance(e, ToolCallSucceeded) else None)
    executor = Executor(compiled, model, inputs={"email": "ana@example.com", "request": "cancel o9"},
                        approver=FixedApprover(None), tools=build_tools(compiled), events=events, role=role)
    return asyncio.run(executor.run()), refused, ran
