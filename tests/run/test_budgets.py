"""Each budget stops the run at exactly its limit, before the call that would break it."""

import asyncio
import itertools

import pytest

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
    from agentctl.llm.client import ChatRequest, token_bound

    # Each call reserves a bound on its input plus max_tokens (50); real usage is 12+8=20.
    reservation = token_bound(ChatRequest("openai/primary", ({"role": "user", "content": ""},))) + 50
    limit = 2 * 20 + reservation + 19  # a third call fits (40 used), a fourth does not (60 used)
    result = run_chain(project, "{max_tokens: %d}" % limit)
    assert result.status == "budget_exceeded" and "max_tokens" in result.error
    assert server.count() == 3 and result.usage.tokens == 60


def test_max_tokens_overshoots_by_at_most_one_response_beyond_its_reservation(project, server):
    server.default = Behaviour(content="ok", usage=(12, 400))  # far more output than max_tokens reserved
    result = run_chain(project, "{max_tokens: 300}")
    assert result.status == "budget_exceeded" and server.count() == 1
    assert result.usage.tokens == 412  # the one response that broke the reservation


def test_max_cost_usd_reserves_the_worst_case_before_each_call(project, server):
    from agentctl.llm.client import ChatRequest, token_bound

    # $1 / $2 per million tokens. A call reserves its bounded input plus max_tokens (50) of
    # output, and really costs 12 + 8 tokens = $0.000028. The budget leaves room for two calls
    # but not for a third one's reservation, so the third call is never made.
    estimate = token_bound(ChatRequest("openai/primary", ({"role": "user", "content": ""},)))
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
    # A step in flight holds its step; `after` cannot have one, so the run stops while `slow` runs.
    body = """
budgets: {max_steps: 2}
agents:
  a: {model: m, prompt: prompts/p.prompt}
steps:
  - {id: fast, agent: a, with: {text: fast}}
  - {id: slow, agent: a, with: {text: slow}}
  - {id: after, agent: a, needs: [fast]}
"""
    server.default = lambda req: Behaviour(content=req["messages"][-1]["content"],
                                           delay_s=30.0 if req["messages"][-1]["content"] == "slow" else 0.0)
    result = project.run(body)
    assert result.status == "budget_exceeded" and "max_steps" in result.error
    assert result.steps["fast"].status == "succeeded" and result.steps["fast"].output == "fast"
    assert result.steps["slow"].status == "cancelled"  # in flight when the budget was spent
    assert result.steps["slow"].duration_s < 25  # cancelled, not waited for (the call takes 30 s)


FAN_OUT = """
budgets: {BUDGET}
inputs:
  items: {type: array}
tools:
  lookup: {python: "tools.lookup:lookup"}
agents:
  a: {model: m, prompt: prompts/p.prompt, tools: {TOOLS}, max_iterations: 2}
steps:
  - id: each
    agent: a
    for_each: ${{ inputs.items }}
    max_items: 40
    max_concurrency: 8
    with: {text: "${{ item }}"}
"""
CJK_ITEMS = ["語" * 3000] * 40  # a provider may count each of these characters as a token


def counting_every_character(output_tokens=50):
    """A provider that counts one token per character of the conversation (as for CJK text), and
    answers after letting every other item in flight start. With tools, it calls one first."""
    async def answer_(request):
        for _ in range(50):
            await asyncio.sleep(0)
        chars = sum(len(str(m.get("content") or "")) for m in request.messages)
        if request.messages[-1]["role"] == "tool" or not request.tools:
            return reply("done", input_tokens=chars, output_tokens=output_tokens)
        return reply(None, tool_calls=[("lookup", '{"query": "q"}')], input_tokens=chars, output_tokens=output_tokens)
    return answer_


# The first two are the cases that overshot: 24,400 tokens of 12,000 and $0.0248 of $0.012.
LIMITS = {"max_tokens": ("tokens", 12_000), "max_cost_usd": ("cost_usd", 0.012), "max_steps": ("steps", 20),
          "max_llm_calls": ("llm_calls", 30), "max_tool_calls": ("tool_calls", 15)}


@pytest.mark.parametrize("limit", sorted(LIMITS))
def test_no_dimension_overshoots_under_concurrency(project, limit):
    # 40 items, 8 at a time, each a tool round then an answer, counted one token per character:
    # reservations are sized by a bound no tokenizer exceeds, and calls that fit only once the
    # calls in flight settle wait for them.
    dimension, value = LIMITS[limit]
    result = run_fan_out(project, f"{{{limit}: {value}}}", counting_every_character())
    assert result.status == "budget_exceeded" and limit in result.error
    assert 0 < getattr(result.usage, dimension) <= value, result.usage


def test_a_provider_counting_beyond_max_tokens_bills_less_than_one_response_over(project, server):
    # max_tokens is 50, but every answer reports 400 output tokens, and the provider bills every
    # request it received, also those a stopping run gave up on. The first answer shows the
    # reservations were low: the calls in flight are reconciled, later ones reserve more, and
    # a call cancelled in flight is counted at its reservation.
    delays = itertools.cycle([0.0, 0.05, 0.1, 0.15])
    server.default = lambda req: Behaviour(content="ok", usage=(12, 400), delay_s=next(delays))
    result = project.run(FAN_OUT.replace("{BUDGET}", "{max_tokens: 3000}").replace("{TOOLS}", "[]"),
                         inputs={"items": ["x"] * 40})
    assert result.status == "budget_exceeded" and "max_tokens" in result.error
    billed = server.count() * 412
    assert billed - 3000 < 412, billed  # was 13 requests (5,356 tokens) for a limit of 3,000
    assert result.usage.tokens >= billed  # what a stopping run gave up on is counted, not lost


def run_fan_out(project, budget, answer_):
    return project.run(FAN_OUT.replace("{BUDGET}", budget).replace("{TOOLS}", "[lookup]"), inputs={"items": CJK_ITEMS},
                       model=ScriptedModel(default=answer_))


def test_a_stop_does_not_wait_for_a_provider_call_that_swallows_its_cancellation(project):
    # aiohttp and anyio can swallow a cancellation in a race (the Ctrl-C test once ran on for 180 s):
    # the engine must stop at once, not when the provider's client decides to.
    finished = []

    async def stubborn(request):
        deadline = asyncio.get_running_loop().time() + 3
        while asyncio.get_running_loop().time() < deadline:  # every cancellation swallowed: it goes on
            try:
                await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                pass
        finished.append(True)

    body = "budgets: {max_wall_s: 0.5}\nagents:\n  a: {model: m, prompt: prompts/p.prompt}\nsteps:\n  - {id: s, agent: a}\n"
    compiled = project.compile(project.pipeline(body))

    async def run_and_look():
        from agentctl.run.approvals import FixedApprover
        from agentctl.run.executor import Executor

        result = await Executor(compiled, ScriptedModel(default=stubborn), inputs={}, tools={},
                                approver=FixedApprover(None)).run()
        return result, list(finished)

    result, finished_when_stopped = asyncio.run(run_and_look())
    assert result.status == "budget_exceeded" and "max_wall_s" in result.error
    assert finished_when_stopped == []  # the run ended while the stubborn call was still going
