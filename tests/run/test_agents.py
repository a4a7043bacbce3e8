"""Agents: structured output with bounded re-asks, the tool-calling loop, bad tool calls."""

import asyncio
import json

from agentctl.llm.fake import ScriptedModel, reply
from tests.support.openai_server import Behaviour, answer

STRUCTURED = """
agents:
  a: {model: m, prompt: prompts/p.prompt, output_schema: schemas/answer.json, reasks: 2}
steps:
  - id: s
    agent: a
  - id: next
    agent: a
    with: {text: "${{ steps.s.output.answer }}"}
"""

TOOLS = """
tools:
  lookup: {python: "tools.lookup:lookup"}
  slow: {python: "tools.lookup:slow"}
agents:
  a: {model: m, prompt: prompts/p.prompt, tools: [lookup], max_iterations: 3}
steps:
  - id: s
    agent: a
"""


def test_invalid_output_is_reasked_and_never_reaches_downstream(project, server):
    server.push(answer("nope"), answer('{"wrong": 1}'), answer('{"answer": "good"}'), answer('{"answer": "next"}'))
    result = project.run(STRUCTURED)
    assert result.status == "succeeded" and result.steps["s"].output == {"answer": "good"}
    reask = server.requests[1][1]["messages"][-1]["content"]
    assert "not JSON" in reask
    assert server.requests[3][1]["messages"][-1]["content"] == "good"


def test_the_reask_bound(project, server):
    server.default = answer("never json")
    result = project.run(STRUCTURED)
    assert result.status == "failed" and server.count() == 3  # 1 + reasks
    assert result.steps["next"].status == "pending"
    assert "after 2 re-asks" in result.error


def test_the_tool_loop_feeds_results_back(project, server):
    server.push(Behaviour(content=None, tool_calls=[("lookup", '{"query": "paris"}')]), answer("Paris is PARIS"))
    result = project.run(TOOLS)
    assert result.outputs == {} and result.steps["s"].output == "Paris is PARIS"
    tools_offered = [t["function"]["name"] for t in server.requests[0][1]["tools"]]
    assert tools_offered == ["lookup"]  # only the agent's allowed tools
    tool_message = server.requests[1][1]["messages"][-1]
    assert tool_message["role"] == "tool" and json.loads(tool_message["content"]) == {"result": "PARIS"}
    assert result.usage.tool_calls == 1


def test_bad_tool_calls_are_told_to_the_model(project, server):
    server.push(Behaviour(content=None, tool_calls=[("slow", '{"seconds": 1}')]),
                Behaviour(content=None, tool_calls=[("lookup", '{"query": 5}')]),
                answer("gave up nicely"))
    result = project.run(TOOLS)
    assert result.status == "succeeded" and result.usage.tool_calls == 0
    first = server.requests[1][1]["messages"][-1]["content"]
    second = server.requests[2][1]["messages"][-1]["content"]
    assert first.startswith("error: no tool named 'slow' is available")
    assert "do not match the schema of lookup" in second


def test_the_tool_loop_is_bounded(project, server):
    server.default = Behaviour(content=None, tool_calls=[("lookup", '{"query": "again"}')])
    result = project.run(TOOLS)
    assert result.status == "failed" and server.count() == 3
    assert "max_iterations" in result.error


def test_no_tool_runs_unless_the_model_sees_its_result(project, server):
    """max_iterations: 3 used to run a third round of tools whose results no model ever saw (a
    side effect done, the step failed, and every resume did it again)."""
    server.default = Behaviour(content=None, tool_calls=[("lookup", '{"query": "again"}')])
    result = project.run(TOOLS)
    assert result.status == "failed" and "asked for tools again on its last turn" in result.error
    calls = [body for _, body in server.requests]
    assert [c.get("tool_choice") for c in calls] == [None, None, "none"]  # the last turn is told to answer
    tool_results = [m for m in calls[-1]["messages"] if m["role"] == "tool"]
    assert len(tool_results) == 2  # every tool that ran has its result in front of the model


def test_parallel_branches_overlap_in_time(project, server):
    body = """
agents:
  a: {model: m, prompt: prompts/p.prompt}
steps:
  - {id: left, agent: a}
  - {id: right, agent: a}
  - {id: join, agent: a, with: {text: "${{ steps.left.output }} ${{ steps.right.output }}"}}
"""
    both_asked, seen = asyncio.Event(), []

    async def answer_when_both_are_asked(request):
        seen.append(request.messages[-1]["content"])
        if len(seen) == 2:
            both_asked.set()
        # Run one after the other, the first would wait here for ever (the timeout fails the test).
        await asyncio.wait_for(both_asked.wait(), timeout=60)
        return reply(f"x{len(seen)}")

    result = project.run(body, model=ScriptedModel(default=answer_when_both_are_asked))
    assert result.status == "succeeded", result.error
    assert seen == ["", "", "x2 x2"]  # left and right together; the join last, with both outputs


def test_for_each_caps_concurrency_and_joins_in_order(project, server):
    body = """
inputs:
  items: {type: array}
agents:
  a: {model: m, prompt: prompts/p.prompt}
steps:
  - id: each
    agent: a
    for_each: ${{ inputs.items }}
    max_items: 10
    max_concurrency: 2
    with: {text: "${{ item }}"}
outputs:
  all: ${{ steps.each.output }}
"""
    in_flight, most, two = [0], [0], asyncio.Event()

    async def upper(request):
        in_flight[0] += 1
        most[0] = max(most[0], in_flight[0])
        if in_flight[0] == 2:
            two.set()
        # The first call waits for the second, on an event: under load the second item took more
        # than the ten loop turns this test used to give it (seen once with two busy loops running).
        await asyncio.wait_for(two.wait(), 60)
        for _ in range(10):  # then every other item that may start (none should), starts
            await asyncio.sleep(0)
        in_flight[0] -= 1
        return reply(request.messages[-1]["content"].upper())

    model = ScriptedModel(default=upper)
    result = project.run(body, inputs={"items": ["d", "c", "b", "a"]}, model=model)
    assert result.outputs == {"all": ["D", "C", "B", "A"]}  # in the items' order
    assert most[0] == 2  # two at once, never more
    too_many = project.run(body, inputs={"items": list("abcdefghijk")}, model=model)
    assert too_many.status == "failed" and "max_items is 10" in too_many.error


def test_an_input_that_overflows_the_prompt_limit_fails_before_any_call(project, server):
    body = """
inputs:
  text: {type: string}
agents:
  a: {model: m, prompt: prompts/p.prompt, max_input_tokens: 500}
steps:
  - {id: s, agent: a, with: {text: "${{ inputs.text }}"}}
"""
    result = project.run(body, inputs={"text": "word " * 5000})
    assert result.status == "failed" and server.count() == 0
    assert "more than agent 'a' allows (max_input_tokens: 500)" in result.error
    assert "the largest input is 'text' (25,000 characters)" in result.error


def test_a_prompt_beyond_the_model_context_window_falls_back_to_a_larger_model(project, server):
    from agentctl.compile import ir
    from agentctl.llm.litellm_client import LitellmModel
    from agentctl.run.approvals import FixedApprover
    from agentctl.run.executor import Executor
    import asyncio
    from dataclasses import replace

    body = """
inputs:
  text: {type: string}
agents:
  a: {model: m, prompt: prompts/p.prompt}
steps:
  - {id: s, agent: a, with: {text: "${{ inputs.text }}"}}
"""
    compiled = project.compile(project.pipeline(body, fallbacks="[openai/backup]"))
    route = compiled.models["m"]
    small = replace(route.chain[0], max_input_tokens=100)  # as if the primary had a tiny window
    compiled = replace(compiled, models=ir.frozen({"m": replace(route, chain=(small, route.chain[1]))}))
    result = asyncio.run(Executor(compiled, LitellmModel(), inputs={"text": "word " * 200},
                                  approver=FixedApprover(None), tools={}).run())
    assert result.status == "succeeded"
    assert [body["model"] for _, body in server.requests] == ["backup"]  # the primary was never sent it


def test_a_tool_returning_text_gives_the_model_text_not_a_json_string(project, server):
    (project.root / "tools" / "texty.py").write_text("def count(s: str) -> str:\n    return f'{len(s)} characters'\n")
    server.push(Behaviour(content=None, tool_calls=[("count", '{"s": "abc"}')]), answer("done"))
    result = project.run("""
tools:
  count: {python: "tools.texty:count"}
agents:
  a: {model: m, prompt: prompts/p.prompt, tools: [count], max_iterations: 2}
steps:
  - {id: s, agent: a}
""")
    assert result.status == "succeeded", result.error
    assert server.requests[1][1]["messages"][-1]["content"] == "3 characters"  # was '"3 characters"'
