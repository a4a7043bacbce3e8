"""Each budget stops the run at exactly its limit, before the call that would break it."""

import asyncio

from agentctl.llm.fake import ScriptedModel, reply
from tests.support.openai_server import Behaviour, answer

CHAIN = """
budgets: {BUDGET}
agents:
  a: {model: m, prompt: prompts/p.prompt}
steps:
  - id: s1
    agent: a
  - id: s2
    agent: a
    needs: [s1]
  - id: s3
    agent: a
    needs: [s2]
  - id: s4
    agent: a
    needs: [s3]
"""


def run_chain(project, budget, **kw):
    return project.run(CHAIN.replace("{BUDGET}", budget), **kw)


def test_max_llm_calls_stops_before_the_call_over_the_limit(project, server):
    result = run_chain(project, "{max_llm_calls: 2}")
    assert result.status == "budget_exceeded" and result.exit_code == 3
    assert server.count() == 2 and result.usage.llm_calls == 2
    assert "max_llm_calls" in result.error and "s3" in result.error
    assert [result.steps[s].status for s in ("s1", "s2", "s3", "s4")] == ["succeeded", "succeeded", "cancelled", "pending"]
    assert result.steps["s1"].output == "ok"  # finished results are kept


def test_max_steps(project, server):
    result = run_chain(project, "{max_steps: 3}")
    assert result.status == "budget_exceeded" and server.count() == 3 and result.usage.steps == 3


def test_max_tokens_is_checked_before_the_call_with_a_reservation(project, server):
    # Each call reserves its input estimate plus max_tokens (50); real usage is 12+8=20.
    result = run_chain(project, "{max_tokens: 100}")
    assert result.status == "budget_exceeded" and "max_tokens" in result.error
    assert result.usage.tokens <= 100 and server.count() == result.usage.llm_calls


def test_max_tokens_overshoots_by_at_most_one_response_beyond_its_reservation(project, server):
    server.default = Behaviour(content="ok", usage=(12, 400))  # far more output than max_tokens reserved
    result = run_chain(project, "{max_tokens: 300}")
    assert result.status == "budget_exceeded" and server.count() == 1
    assert result.usage.tokens == 412  # the one response that broke the reservation


def test_max_cost_usd_reserves_the_worst_case_before_each_call(project, server):
    from agentctl.llm.client import ChatRequest, estimate_tokens

    # $1 / $2 per million tokens. A call reserves its estimated input plus max_tokens (50) of
    # output, and really costs 12 + 8 tokens = $0.000028. The budget leaves room for two calls
    # but not for a third one's reservation, so the third call is never made.
    estimate = estimate_tokens(ChatRequest("openai/primary", ({"role": "user", "content": ""},)))
    reservation = (estimate * 1.0 + 50 * 2.0) / 1e6
    limit = 2 * 0.000028 + reservation - 1e-7
    result = run_chain(project, "{max_cost_usd: %.7f}" % limit)
    assert result.status == "budget_exceeded" and "max_cost_usd" in result.error
    assert server.count() == 2 and abs(result.usage.cost_usd - 0.000056) < 1e-9


def test_max_wall_s_stops_a_slow_run(project):
    async def answer_then_hang(request):
        if len(model.requests) > 1:
            await asyncio.Event().wait()  # never answers: only the wall-clock budget ends the run
        return reply("ok")

    model = ScriptedModel(default=answer_then_hang)
    result = run_chain(project, "{max_wall_s: 1.0}", model=model)
    assert result.status == "budget_exceeded" and "max_wall_s" in result.error
    assert result.steps["s1"].status == "succeeded" and result.steps["s4"].status != "succeeded"


def test_max_tool_calls(project, server):
    body = """
budgets: {max_tool_calls: 2}
tools:
  lookup: {python: "tools.lookup:lookup"}
steps:
  - {id: t1, tool: lookup, with: {query: a}}
  - {id: t2, tool: lookup, with: {query: b}, needs: [t1]}
  - {id: t3, tool: lookup, with: {query: c}, needs: [t2]}
"""
    result = project.run(body)
    assert result.status == "budget_exceeded" and result.usage.tool_calls == 2
    assert [result.steps[s].status for s in ("t1", "t2")] == ["succeeded", "succeeded"]
    assert result.steps["t1"].output == {"result": "A"}


def test_a_step_budget_stops_only_inside_that_step(project, server):
    body = """
agents:
  a: {model: m, prompt: prompts/p.prompt, output_schema: schemas/answer.json, reasks: 3}
steps:
  - id: s
    agent: a
    budgets: {max_llm_calls: 2}
"""
    server.default = answer("not json")
    result = project.run(body)
    assert result.status == "budget_exceeded" and server.count() == 2
    assert "step 's'" in result.error


def test_cancellation_on_budget_stop_keeps_finished_work(project, server):
    body = """
budgets: {max_llm_calls: 2}
agents:
  a: {model: m, prompt: prompts/p.prompt}
steps:
  - {id: fast, agent: a, with: {text: fast}}
  - {id: slow, agent: a, with: {text: slow}}
  - {id: after, agent: a, needs: [fast]}
"""
    server.default = lambda req: Behaviour(content=req["messages"][-1]["content"],
                                           delay_s=3.0 if req["messages"][-1]["content"] == "slow" else 0.0)
    result = project.run(body)
    assert result.status == "budget_exceeded"
    assert result.steps["fast"].status == "succeeded" and result.steps["fast"].output == "fast"
    assert result.steps["slow"].status == "cancelled"  # in flight when the budget was spent
    assert result.steps["slow"].duration_s < 2.5  # cancelled, not waited for (the call takes 3 s)
