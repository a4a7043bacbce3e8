"""Every step kind is declared once per layer, and each declaration is complete: a kind missing
from a registry, or missing a part, fails here by name."""

import inspect
import typing

import pytest

from agentctl.compile.ir import StepDefBase
from agentctl.compile.kinds import KINDS, StepDef
from agentctl.compile.kinds.base import CompileKind
from agentctl.run.kinds import RUNNERS
from agentctl.run.kinds.base import RunKind
from agentctl.spec.models import STEP_KINDS, Step

DEFINITIONS = typing.get_args(StepDef)


def members(protocol) -> set[str]:
    return {name for name in vars(protocol) if not name.startswith("_")} | set(protocol.__annotations__)


def test_the_spec_the_compiler_and_the_runner_know_the_same_kinds():
    assert set(STEP_KINDS) == set(KINDS)
    assert {d.kind for d in DEFINITIONS} == set(KINDS)
    assert set(RUNNERS) == set(DEFINITIONS)
    assert all(name in Step.model_fields for name in STEP_KINDS)


@pytest.mark.parametrize("name", sorted(KINDS))
def test_each_compile_kind_defines_every_part_itself(name):
    kind = KINDS[name]
    missing = [m for m in members(CompileKind) if m not in vars(type(kind))]
    assert not missing, f"step kind '{name}' (compile side) lacks {missing}"
    assert kind.name == name and kind.definition in DEFINITIONS and kind.definition.kind == name
    assert issubclass(kind.definition, StepDefBase)


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: d.kind)
def test_each_run_kind_defines_every_part_itself(definition):
    runner = RUNNERS[definition]
    missing = [m for m in members(RunKind) if m not in vars(type(runner))]
    assert not missing, f"step kind '{definition.kind}' (run side) lacks {missing}"
    assert inspect.iscoroutinefunction(runner.run)


def test_adding_a_step_kind_in_the_docs_names_every_part_and_registry():
    from tests.conftest import REPO

    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## Adding a step kind", 1)[1].split("\n## ", 1)[0]
    for part in sorted(members(CompileKind) | members(RunKind)) + ["STEP_KINDS", "StepDef", "KINDS", "RUNNERS"]:
        assert f"`{part}`" in section, f"docs/architecture.md, 'Adding a step kind', does not name `{part}`"


def test_a_steps_worst_case_is_capped_by_the_run_budgets(tmp_path):
    """graph showed 24 tool calls and $50.44 for one step under run limits of 8 calls and $1."""
    from agentctl import api
    from tests.support.cli import scratch_project

    scratch_project(tmp_path, {
        "prompts/p.prompt": "---\nname: p\nversion: 1\n---\nuser:\nhi\n",
        "tools/t.py": "def f(q: str) -> dict:\n    return {}\n",
    })
    path = tmp_path / "pipelines" / "c.yaml"
    path.parent.mkdir()
    path.write_text("""apiVersion: agentctl/v1
name: c
version: 1
prices: {openai/x: {input_per_mtok: 100, output_per_mtok: 100}}
models:
  m: {model: openai/x, params: {max_tokens: 1000}}
budgets: {max_tool_calls: 8, max_cost_usd: 1}
tools:
  f: {python: "tools.t:f"}
agents:
  a: {model: m, prompt: prompts/p.prompt, tools: [f], max_iterations: 7, parallel_tool_calls: 4, max_input_tokens: 10000}
steps:
  - {id: s, agent: a}
""")
    bounds = api.compile_file(str(path)).pipeline.steps["s"].bounds
    assert bounds.tool_calls == 8 and bounds.cost_usd == 1
