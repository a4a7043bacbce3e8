"""Inputs found by trying to break validate and graph: each gives a located diagnostic, never an
internal error, and never eats the machine's memory."""

import pytest

from tests.support.cli import invoke

HEAD = "apiVersion: agentctl/v1\nname: b\nversion: 1\n"
GATE = "steps:\n  - {{id: g, gate: {{check: {check}}}}}\n"
PIPELINES = {
    "a 400-digit budget (graph: OverflowError)": (HEAD + "budgets: {max_steps: " + "9" * 400 + "}\n"
                                                  + GATE.format(check="true"), "E101", 4),
    "a 5,000-digit integer (ValueError)": (HEAD + GATE.format(check="1" * 5000), "E101", 5),
    "100 nested parentheses (RecursionError)": (HEAD + GATE.format(check='"${{ ' + "(" * 100 + "1" + ")" * 100 + ' }}"'),
                                                "E401", 5),
    "400 nested brackets (RecursionError)": (HEAD + GATE.format(check='"${{ ' + "[" * 400 + "1" + "]" * 400 + ' }}"'),
                                             "E401", 5),
    "a budget above the largest allowed": (HEAD + "budgets: {max_cost_usd: 1e12}\n" + GATE.format(check="true"),
                                           "E204", 4),
}
PROMPTS = {
    "400 nested if blocks (RecursionError)": ("{% if true %}" * 400 + "x" + "{% endif %}" * 400, 6),
    "include (TypeError: no loader, at run time)": ('{% include "other.txt" %}', 6),
    "import": ('{% import "macros.txt" as m %}', 6),
    "extends": ('{% extends "base.txt" %}', 6),
}


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "agentctl.lock").write_text("")
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "prompts").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_a_hostile_pipeline_gets_a_located_error(name, project, capsys, monkeypatch):
    text, code, line = PIPELINES[name]
    (project / "pipelines" / "p.yaml").write_text(text)
    for command in ("validate", "graph"):
        done = invoke(capsys, monkeypatch, command, "pipelines/p.yaml")
        assert done.code == 1 and "internal error" not in done.err, (command, done.err)
        assert f"error[{code}]" in done.out and f"pipelines/p.yaml:{line}:" in done.out, (command, done.out)


@pytest.mark.parametrize("name", sorted(PROMPTS))
def test_a_hostile_prompt_gets_a_located_error(name, project, capsys, monkeypatch):
    body, line = PROMPTS[name]
    (project / "prompts" / "p.prompt").write_text(f"---\nname: p\nversion: 1\n---\nuser:\n{body}\n")
    done = invoke(capsys, monkeypatch, "validate", "prompts/p.prompt")
    assert done.code == 1 and "internal error" not in done.err, done.err
    assert "error[E602]" in done.out and f"prompts/p.prompt:{line}:" in done.out


def test_a_huge_constant_in_a_prompt_is_never_built(project, capsys, monkeypatch):
    """`{{ 'x' * 10**9 }}` was folded into a constant by Jinja's compiler: 2.9 GB at validate."""
    import resource

    (project / "prompts" / "p.prompt").write_text("---\nname: p\nversion: 1\n---\nuser:\n{{ 'x' * 10**9 }}\n")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    invoke(capsys, monkeypatch, "validate", "prompts/p.prompt")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KB: not a GB string


def test_the_sandbox_refuses_to_build_huge_values():
    from jinja2.sandbox import SecurityError

    from agentctl.compile.expressions import sandbox

    for source in ("{{ 'x' * 10**9 }}", "{{ [0] * 2000000 }}", "{{ 9 ** 9999999 }}"):
        with pytest.raises(SecurityError, match="would build a value"):
            sandbox().from_string(source).render()
    assert sandbox().from_string("{{ 'ab' * 3 }}{{ 2 ** 10 }}").render() == "ababab1024"


@pytest.mark.parametrize("value, problem", [("nan", "finite"), ("inf", "finite"), ("-1", "above 0")])
def test_resume_refuses_a_budget_that_is_not_a_limit(value, problem):
    from agentctl.errors import UsageError
    from agentctl.runs import with_budget

    with pytest.raises(UsageError, match=problem):
        with_budget(None, [f"max_cost_usd={value}"])


RENDER_FAILURES = {
    "range(10**9)": "{{ range(10**9) | list | length }}",
    "a recursive macro": "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "a huge string": "{{ text * 10**9 }}",
}


@pytest.mark.parametrize("name", sorted(RENDER_FAILURES))
def test_a_prompt_that_cannot_render_fails_its_step_cleanly(name, tmp_path, capsys, monkeypatch):
    """These validated clean, then crashed the run ("internal error"), left it `running` in the
    journal and printed no --json."""
    from tests.support.project import Project

    project = Project(tmp_path, server=None)
    (tmp_path / "prompts" / "p.prompt").write_text(
        "---\nname: p\nversion: 1\ninputs:\n  text: {type: string, default: x}\n---\nuser:\n"
        + RENDER_FAILURES[name] + "\n")
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "pipelines" / "t.yaml"
    path.write_text(HEAD + "models:\n  m: {model: openai/x, params: {max_tokens: 5}}\n"
                    "agents:\n  a: {model: m, prompt: prompts/p.prompt}\nsteps:\n  - {id: s, agent: a}\n")
    done = invoke(capsys, monkeypatch, "run", str(path), "--json", "--replay", str(empty_cassette(tmp_path)))
    assert done.code == 1 and "internal error" not in done.err, done.err
    result = done.json()
    assert result["status"] == "failed" and "prompts/p.prompt:8: cannot render the user section" in result["error"]


def empty_cassette(root):
    import json

    path = root / "none.json"
    path.write_text(json.dumps({"version": 1, "entries": []}))
    return path
