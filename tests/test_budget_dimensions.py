"""Every budget dimension (dimensions.DIMENSIONS), end to end: the run stops at the limit with
exit 3, `resume --budget` raises it, and what the run spent in all, stopped and resumed, equals an
uninterrupted run's; `graph` and the live view show the limit."""

import pytest

from agentctl import api, run_display
from agentctl.dimensions import COUNTED, DIMENSIONS
from tests.support.cli import invoke
from tests.support.openai_server import Behaviour, answer

PIPELINE = """
tools:
  lookup: {python: "tools.lookup:lookup"}
agents:
  a: {model: m, prompt: prompts/p.prompt, tools: [lookup], max_iterations: 2}
steps:
  - {id: s1, agent: a, with: {text: use the tool}}
  - {id: s2, tool: lookup, needs: [s1], with: {query: direct}}
  - {id: s3, agent: a, needs: [s2], with: {text: answer}}
"""
# A limit that stops the run before some work starts (so nothing is spent twice), and one that lets it finish.
STOP = {"max_steps": (1, 10), "max_llm_calls": (2, 10), "max_tool_calls": (1, 10), "max_tokens": (1, 10_000),
        "max_cost_usd": (0.000001, 1.0), "max_wall_s": (0.5, 120)}


def test_every_dimension_has_a_case_here():
    assert set(STOP) == {d.limit for d in DIMENSIONS}


def behave(body: dict) -> Behaviour:
    last = body["messages"][-1]
    if last["role"] == "user" and last["content"] == "use the tool":
        return Behaviour(content=None, tool_calls=[("lookup", '{"query": "x"}')])
    return answer("done")


@pytest.fixture
def budget_project(project, server, monkeypatch):
    server.default = behave
    monkeypatch.chdir(project.root)

    def make(budgets: str = "") -> str:
        return project.pipeline(PIPELINE + (f"budgets: {{{budgets}}}\n" if budgets else ""))
    return make


@pytest.mark.parametrize("limit", sorted(STOP))
def test_a_run_stops_at_the_limit_and_a_raised_budget_finishes_it_spending_what_one_run_would(
        limit, budget_project, server, capsys, monkeypatch):
    whole = invoke(capsys, monkeypatch, "run", budget_project(), "--json").json()
    assert whole["status"] == "succeeded", whole["error"]
    stop, enough = STOP[limit]
    if limit == "max_wall_s":  # the first model call does not answer within the limit
        server.push(Behaviour(delay_s=30))
    stopped = invoke(capsys, monkeypatch, "run", budget_project(f"{limit}: {stop}"), "--json")
    assert stopped.code == 3, stopped.err
    assert stopped.json()["status"] == "budget_exceeded" and limit in stopped.json()["error"]
    resumed = invoke(capsys, monkeypatch, "resume", stopped.json()["run_id"], "--budget", f"{limit}={enough}",
                     "--json", "--force")
    assert resumed.code == 0, resumed.out + resumed.err
    spent, expected = resumed.json()["usage"], whole["usage"]
    compared = COUNTED
    if limit == "max_wall_s":  # the call cut off at the deadline counts its reservation: the provider may bill it
        assert spent["llm_calls"] == expected["llm_calls"] + 1 and spent["tokens"] > expected["tokens"]
        compared = [d for d in COUNTED if d.name in ("steps", "tool_calls")]
    for d in compared:
        assert spent[d.name] == pytest.approx(expected[d.name]), d.name


@pytest.mark.parametrize("dimension", DIMENSIONS, ids=lambda d: d.limit)
def test_graph_and_the_live_view_show_the_limit(dimension, budget_project, capsys, monkeypatch):
    value = STOP[dimension.limit][1]
    path = budget_project(f"{dimension.limit}: {value}")
    graph = invoke(capsys, monkeypatch, "graph", path)
    assert graph.code == 0 and f"{dimension.label} ≤ {value:g}" in graph.out
    line = run_display.Progress(api.compile_file(path).pipeline).budget_line()
    assert f"of {dimension.format(value)}" in line


def test_resume_refuses_an_unknown_or_invalid_budget(budget_project, capsys, monkeypatch):
    stopped = invoke(capsys, monkeypatch, "run", budget_project("max_steps: 1"), "--json").json()
    unknown = invoke(capsys, monkeypatch, "resume", stopped["run_id"], "--budget", "max_stepz=3")
    assert unknown.code == 2 and "unknown budget 'max_stepz'" in unknown.err and "max_steps" in unknown.err
    invalid = invoke(capsys, monkeypatch, "resume", stopped["run_id"], "--budget", "max_steps=-1")
    assert invalid.code == 2 and "must be at least 1" in invalid.err
