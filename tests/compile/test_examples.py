"""The shipped examples validate clean and between them use the whole format."""

import pytest

from agentctl import api
from tests.conftest import REPO

PIPELINES = sorted(p.name for p in (REPO / "pipelines").glob("*.yaml"))


def test_the_project_validates_clean(in_dir):
    in_dir(REPO)
    result = api.validate()
    assert result.diagnostics == []
    assert len(result.pipelines) == len(PIPELINES) >= 4


@pytest.fixture(scope="module")
def compiled():
    result = api.validate([str(REPO / "pipelines")], cwd=REPO)
    return {p.name: p for p in result.pipelines.values()}


def test_triage_routes_to_specialists_that_use_mcp_tools(compiled):
    travel = compiled["travel-planner"]
    assert travel.steps["plan"].when is not None and travel.steps["flights"].when is not None
    assert {travel.tools[t].kind for t in travel.agents["itinerary_planner"].tools} == {"mcp", "python"}
    assert [t.model for t in travel.models["fast"].chain] == ["openai/gpt-4o-mini", "anthropic/claude-3-5-haiku-latest"]
    assert travel.models["fast"].chain[1].price.source == "declared"


def test_the_review_loop_is_bounded_and_ordered(compiled):
    review = compiled["article-review"]
    loop = review.steps["write"].do
    assert (loop.max_iterations, loop.body) == (3, ("draft", "review"))
    assert review.steps["write"].bounds.llm_calls == 3 * (1 + 2)  # draft once, review with one re-ask


def test_the_fan_out_has_a_cap_and_a_join(compiled):
    shortlist = compiled["candidate-shortlist"]
    fan = shortlist.steps["score"].for_each
    assert (fan.max_items, fan.max_concurrency, fan.name) == (25, 8, "candidate")
    assert shortlist.steps["shortlist"].needs == ("score",)
    assert shortlist.order == ("profiles", "score", "shortlist")


def test_the_approval_flow_has_three_tiers(compiled):
    approval = compiled["expense-approval"].steps["sign_off"].do
    assert [t.approver for t in approval.tiers] == ["auto", "manager", "director"]
    assert compiled["expense-approval"].tools["reimburse"].side_effects


def test_worst_case_cost_is_computed_from_prices(compiled):
    for pipeline in compiled.values():
        assert pipeline.bounds.cost_usd is not None
        assert pipeline.bounds.cost_usd <= pipeline.limits.max_cost_usd


def test_example_pipelines_point_editors_at_the_schema():
    for name in PIPELINES:
        first = (REPO / "pipelines" / name).read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=../schemas/pipeline.schema.json"
