"""`agentctl render`: messages exactly as a run sends them, from a prompt or a pipeline's step."""

from tests.support.cli import invoke, scratch_project

PROMPT = """---
name: p
version: 1
inputs:
  text: {type: string}
  tone: {type: string, default: calm}
sample: {text: hello}
---
system:
Be {{ tone }}.

user:
{{ text }}
"""
PIPELINE = """apiVersion: agentctl/v1
name: r
version: 1
inputs:
  q: {type: string}
models:
  m: {model: openai/m, params: {max_tokens: 10}}
agents:
  a: {model: m, prompt: prompts/p.prompt}
steps:
  - {id: first, agent: a, with: {text: "Q: ${{ inputs.q }}"}}
  - {id: second, agent: a, with: {text: "${{ steps.first.output }}", tone: "${{ inputs.q | upper }}"}}
  - {id: check, gate: {check: "${{ true }}"}}
"""


def project(tmp_path, monkeypatch):
    scratch_project(tmp_path, {"prompts/p.prompt": PROMPT, "pipelines/r.yaml": PIPELINE})
    monkeypatch.chdir(tmp_path)


def test_a_prompt_on_its_sample_and_on_given_values(tmp_path, capsys, monkeypatch):
    project(tmp_path, monkeypatch)
    done = invoke(capsys, monkeypatch, "render", "prompts/p.prompt", "--sample")
    assert done.code == 0 and done.out == "system:\nBe calm.\n\nuser:\nhello\n"
    given = invoke(capsys, monkeypatch, "render", "prompts/p.prompt", "--sample", "-i", "tone=curt", "--json").json()
    assert given == {"version": 1, "unknown": [], "messages": [{"role": "system", "content": "Be curt."},
                                                                {"role": "user", "content": "hello"}]}


def test_a_pipeline_step_renders_its_with_and_names_what_only_a_run_knows(tmp_path, capsys, monkeypatch):
    project(tmp_path, monkeypatch)
    first = invoke(capsys, monkeypatch, "render", "pipelines/r.yaml", "--step", "first", "-i", "q=why")
    assert first.code == 0 and first.out == "system:\nBe calm.\n\nuser:\nQ: why\n" and first.err == ""
    second = invoke(capsys, monkeypatch, "render", "pipelines/r.yaml", "--step", "second", "-i", "q=why")
    assert second.out == "system:\nBe WHY.\n\nuser:\n<${{ steps.first.output }}>\n"
    assert "unknown before a run: text: ${{ steps.first.output }}" in second.err


def test_render_refuses_what_it_cannot_render(tmp_path, capsys, monkeypatch):
    project(tmp_path, monkeypatch)
    gate = invoke(capsys, monkeypatch, "render", "pipelines/r.yaml", "--step", "check")
    assert gate.code == 2 and "step 'check' is a gate step; only agent steps render a prompt" in gate.err
    missing = invoke(capsys, monkeypatch, "render", "pipelines/r.yaml", "--step", "nope")
    assert missing.code == 2 and "no step 'nope'" in missing.err
    bare = invoke(capsys, monkeypatch, "render", "pipelines/r.yaml")
    assert bare.code == 2 and "with --step ID" in bare.err
