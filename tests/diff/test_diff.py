"""`agentctl diff` on a temporary git repository: each kind of change a pull request makes."""

import json
import os
import subprocess

import pytest

from tests.support.cli import invoke, scratch_project

PROMPT = """---
name: p
version: 1
description: the answerer
inputs:
  text: {type: string}
sample: {text: hello}
---
system:
You answer briefly.

user:
{{ text }}
"""
SCHEMA = ('{"type": "object", "properties": {"answer": {"type": "string"}, "score": {"type": "number"}}, '
          '"required": ["answer", "score"]}')
PIPELINE = """apiVersion: agentctl/v1
name: a
version: 1
budgets: {max_llm_calls: 5, max_steps: 10}
env:
  API_TOKEN: {secret: true, required: false}
prices:
  openai/m: {input_per_mtok: 1, output_per_mtok: 2}
models:
  m: {model: openai/m, params: {max_tokens: 100}}
mcp_servers:
  broken: {command: [/nonexistent/server]}
tools:
  t: {python: "tools.t:go"}
  remote: {mcp: broken}
agents:
  ans: {model: m, prompt: prompts/p.prompt, output_schema: schemas/out.json}
steps:
  - {id: s, agent: ans, with: {text: hi}}
  - {id: use, tool: t, with: {x: "${{ steps.s.output.score }}"}}
  - {id: ping, tool: remote}
"""
TOOL = "import pathlib\npathlib.Path('IMPORTED').write_text('yes')\n\ndef go(x: float) -> dict:\n    return {}\n"


def git(root, *args):
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t", "HOME": str(root), "PATH": "/usr/bin:/bin"})


@pytest.fixture
def repo(tmp_path, capsys, monkeypatch):
    scratch_project(tmp_path, {"prompts/p.prompt": PROMPT, "schemas/out.json": SCHEMA,
                               "pipelines/a.yaml": PIPELINE, "tools/__init__.py": "", "tools/t.py": TOOL})
    monkeypatch.chdir(tmp_path)
    assert invoke(capsys, monkeypatch, "lock").code == 0
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "base")
    return tmp_path


def edit(root, relative, old, new):
    path = root / relative
    text = path.read_text()
    assert old in text, (relative, old)
    path.write_text(text.replace(old, new))


def diff(capsys, monkeypatch, *args):
    return invoke(capsys, monkeypatch, "diff", "main", *args)


def test_a_prompt_change_with_a_version_bump(repo, capsys, monkeypatch):
    edit(repo, "prompts/p.prompt", "version: 1", "version: 2")
    edit(repo, "prompts/p.prompt", "You answer briefly.", "You answer in one sentence.")
    done = diff(capsys, monkeypatch, "-f", "json")
    assert done.code == 0, done.err
    prompt, = done.json()["prompts"]
    assert (prompt["key"], prompt["kind"], prompt["before"]) == ("p@2", "version bumped", "p@1")
    assert "-You answer briefly." in prompt["diff"]["system"] and "+You answer in one sentence." in prompt["diff"]["system"]
    assert prompt["lock"] == "missing" and prompt["rendered_diff"] is None  # no Jinja or input changed
    assert done.json()["affected"] == {"pipelines/a.yaml": ["prompt p@2"]}


def test_a_whitespace_only_change_is_still_reported(repo, capsys, monkeypatch):
    edit(repo, "prompts/p.prompt", "You answer briefly.", "You  answer   briefly.")
    prompt, = diff(capsys, monkeypatch, "-f", "json").json()["prompts"]
    assert (prompt["key"], prompt["kind"], prompt["lock"]) == ("p@1", "whitespace-only", "differs")


def test_a_moved_prompt(repo, capsys, monkeypatch):
    git(repo, "mv", "prompts/p.prompt", "prompts/answer.prompt")
    edit(repo, "pipelines/a.yaml", "prompts/p.prompt", "prompts/answer.prompt")
    report = diff(capsys, monkeypatch, "-f", "json").json()
    assert [(p["kind"], p["path"]) for p in report["prompts"]] == [("moved", "prompts/answer.prompt")]
    assert [c["path"] for c in report["pipelines"]["changes"]] == ["agents.ans.prompt"]


def test_a_params_change_names_its_path_and_line(repo, capsys, monkeypatch):
    edit(repo, "pipelines/a.yaml", "max_tokens: 100", "max_tokens: 200")
    done = diff(capsys, monkeypatch)
    assert "models.m.params.max_tokens: 100 -> 200  (pipelines/a.yaml:10)" in done.out
    assert "pipelines/a.yaml: ans: models.m.params.max_tokens: 100 -> 200" in done.out  # joined per agent


def test_a_removed_schema_field_read_downstream_is_breaking(repo, capsys, monkeypatch):
    (repo / "schemas" / "out.json").write_text('{"type": "object", "properties": {"answer": {"type": "string"}}, '
                                               '"required": ["answer"]}')
    done = diff(capsys, monkeypatch, "-f", "json", "--fail-on", "breaking")
    assert done.code == 5
    report = done.json()
    assert any("E309" in b and "score" in b for b in report["breaking"])
    assert {"file": "schemas/out.json", "path": "score.type", "before": "number", "after": None} in report["schemas"]
    assert report["affected"]["pipelines/a.yaml"] == ["uses schemas/out.json"]


def test_a_budget_lowered_below_the_worst_case_fails_the_budget_check(repo, capsys, monkeypatch):
    edit(repo, "pipelines/a.yaml", "max_steps: 10", "max_steps: 2")  # the worst case is 3 steps
    done = diff(capsys, monkeypatch, "--fail-on", "budget")
    assert done.code == 5 and "--fail-on budget: pipelines/a.yaml worst case steps is above its budget (2)" in done.err
    assert diff(capsys, monkeypatch, "--fail-on", "breaking").code == 0


def test_reordered_keys_comments_and_quoting_are_no_change(repo, capsys, monkeypatch):
    text = (repo / "pipelines" / "a.yaml").read_text()
    head, _, rest = text.partition("budgets:")
    budgets, _, rest = rest.partition("\n")
    (repo / "pipelines" / "a.yaml").write_text(
        "# reviewed\n" + head.replace("name: a", 'name: "a"') + rest + "budgets:" + budgets + "  # moved\n")
    done = diff(capsys, monkeypatch)
    assert done.code == 0 and "No changes to prompts, pipelines or schemas between main and working tree." in done.out


def test_no_project_code_runs(repo, capsys, monkeypatch):
    edit(repo, "tools/t.py", "return {}", "return {'changed': True}")
    done = diff(capsys, monkeypatch)
    assert done.code == 0, done.err
    assert not (repo / "IMPORTED").exists()  # the tool module writes this file when imported
    assert "uses tools/t.py" in done.out  # a changed tool source affects its pipelines


def test_a_secret_in_a_prompt_sample_never_appears(repo, capsys, monkeypatch):
    secret = "kSEC-7f3a9b1e2c4d"
    monkeypatch.setenv("API_TOKEN", secret)
    edit(repo, "prompts/p.prompt", "version: 1", "version: 2")
    edit(repo, "prompts/p.prompt", "sample: {text: hello}", f"sample: {{text: 'token {secret}'}}")
    edit(repo, "prompts/p.prompt", "{{ text }}", "Say: {{ text }}")
    for fmt in ("text", "json", "github", "markdown"):
        done = diff(capsys, monkeypatch, "-f", fmt)
        assert done.code == 0 and secret not in done.out + done.err, fmt
    assert "token ***" in diff(capsys, monkeypatch).out  # the rendered sample, masked


def test_git_problems_are_explained(tmp_path, repo, capsys, monkeypatch):
    unknown = invoke(capsys, monkeypatch, "diff", "no-such-branch")
    assert unknown.code == 2 and "unknown revision 'no-such-branch'" in unknown.err
    outside = tmp_path.parent / (tmp_path.name + "-outside")
    outside.mkdir()
    scratch_project(outside, {})
    monkeypatch.chdir(outside)
    done = invoke(capsys, monkeypatch, "diff")
    assert done.code == 2 and "is not in a git repository" in done.err


def test_a_shallow_clone_says_to_fetch_the_history(repo, tmp_path, capsys, monkeypatch):
    (repo / "x.txt").write_text("x")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "second")
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(clone))
    monkeypatch.chdir(clone)
    done = invoke(capsys, monkeypatch, "diff", "HEAD~1")
    assert done.code == 2 and "fetch-depth: 0" in done.err


def test_markdown_is_capped_at_section_boundaries_and_never_inside_a_character(repo, capsys, monkeypatch):
    for n in range(12):
        body = PROMPT.replace("name: p", f"name: p{n}").replace("{{ text }}", "{{ text }} " + "é€😀 " * 3000)
        (repo / "prompts" / f"p{n}.prompt").write_text(body)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "big prompts")
    for n in range(12):
        edit(repo, f"prompts/p{n}.prompt", "{{ text }}", "{{ text | upper }}")
    done = invoke(capsys, monkeypatch, "diff", "HEAD", "-f", "markdown", "-o", "comment.md")
    assert done.code == 0, done.err
    comment = (repo / "comment.md").read_bytes()
    assert len(comment) <= 60_000
    text = comment.decode("utf-8")  # whole characters only
    assert text.startswith("<!-- agentctl:diff v1 -->\n**agentctl diff**")
    assert "dropped to stay under GitHub's comment limit" in text


def test_the_markdown_comment_orders_verdict_cost_prompts_then_pipelines(repo, capsys, monkeypatch):
    edit(repo, "prompts/p.prompt", "version: 1", "version: 2")
    edit(repo, "prompts/p.prompt", "{{ text }}", "Say: {{ text }}")
    edit(repo, "pipelines/a.yaml", "max_tokens: 100", "max_tokens: 200")
    out = diff(capsys, monkeypatch, "-f", "markdown").out
    order = [out.index(s) for s in ("<!-- agentctl:diff v1 -->", "**agentctl diff**", "### Worst case",
                                    "#### Prompt `p@2`", "### Pipelines and schemas")]
    assert order == sorted(order)
    assert "<details><summary>rendered on its sample</summary>" in out and "+Say: hello" in out


def test_github_annotations_point_at_changed_prompt_sections_and_breaking_changes(repo, capsys, monkeypatch):
    edit(repo, "prompts/p.prompt", "version: 1", "version: 2")
    edit(repo, "prompts/p.prompt", "You answer briefly.", "You answer in one sentence.")
    (repo / "schemas" / "out.json").write_text('{"type": "object", "properties": {"answer": {"type": "string"}}}')
    lines = diff(capsys, monkeypatch, "-f", "github").out.splitlines()
    assert "::notice file=prompts/p.prompt,line=10,title=prompt p@2::version bumped: the system section changed here" in lines
    assert any(line.startswith("::error file=pipelines/a.yaml,line=") and "E309" in line for line in lines)



def test_golden_outputs(repo, capsys, monkeypatch):
    from pathlib import Path

    edit(repo, "prompts/p.prompt", "version: 1", "version: 2")
    edit(repo, "prompts/p.prompt", "{{ text }}", "Say: {{ text }}")
    edit(repo, "pipelines/a.yaml", "max_tokens: 100", "max_tokens: 200")
    assert invoke(capsys, monkeypatch, "lock").code == 0
    golden = Path(__file__).parent / "golden"
    for fmt, suffix in (("text", "txt"), ("json", "json"), ("github", "github.txt"), ("markdown", "md")):
        done = diff(capsys, monkeypatch, "-f", fmt)
        assert done.code == 0, done.err
        expected = golden / f"bump.{suffix}"
        if os.environ.get("AGENTCTL_UPDATE_GOLDEN"):  # rewrite, then review the change before committing
            expected.write_text(done.out)
        assert done.out == expected.read_text(), fmt


def test_paths_limit_the_comparison(repo, capsys, monkeypatch):
    edit(repo, "prompts/p.prompt", "You answer briefly.", "You  answer   briefly.")
    edit(repo, "pipelines/a.yaml", "max_tokens: 100", "max_tokens: 200")
    only_prompts = diff(capsys, monkeypatch, "--paths", "prompts", "-f", "json").json()
    assert [p["key"] for p in only_prompts["prompts"]] == ["p@1"] and only_prompts["pipelines"]["changes"] == []


def test_diff_imports_no_model_library(repo):
    import sys as _sys

    done = subprocess.run([_sys.executable, "-X", "importtime", "-m", "agentctl", "diff", "main"], cwd=repo,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    imported = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines() if "|" in line}
    assert not imported & {"litellm", "openai", "mcp", "opentelemetry"}


def test_annotations_point_at_the_first_changed_line_of_each_hunk():
    import difflib

    from agentctl.diff.compare import hunk_starts

    old = [f"line {n}" for n in range(1, 21)]
    new = old[:2] + ["inserted"] + old[2:14] + old[15:]  # a line added after 2, line 15 removed
    diff = list(difflib.unified_diff(old, new, lineterm="", n=2))
    assert hunk_starts(diff) == [3, 16]


def test_a_removed_prompt_and_a_docs_only_change(repo, capsys, monkeypatch):
    edit(repo, "prompts/p.prompt", "description: the answerer", "description: answers briefly")
    edit(repo, "prompts/p.prompt", "sample: {text: hello}", "sample: {text: bonjour}")
    prompt, = diff(capsys, monkeypatch, "-f", "json").json()["prompts"]
    assert (prompt["kind"], prompt["diff"], prompt["lock"]) == ("docs-only", {}, "recorded")
    (repo / "prompts" / "p.prompt").unlink()
    prompt, = diff(capsys, monkeypatch, "-f", "json").json()["prompts"]
    assert (prompt["key"], prompt["kind"]) == ("p@1", "removed")


def test_a_worst_case_cost_increase_above_the_threshold_fails(repo, capsys, monkeypatch):
    edit(repo, "pipelines/a.yaml", "openai/m", "openai/gpt-4o-mini")
    git(repo, "commit", "-qam", "a model litellm knows the context window of")
    edit(repo, "pipelines/a.yaml", "max_tokens: 100", "max_tokens: 4000")
    report = diff(capsys, monkeypatch, "-f", "json").json()  # base: main, which has the new model too
    cost = next(r for r in report["cost"] if r["dimension"] == "cost_usd")
    assert cost["after"] > cost["before"] > 0
    assert diff(capsys, monkeypatch, "--fail-on", "cost:+1000%").code == 0
    failed = diff(capsys, monkeypatch, "--fail-on", "cost:+1%")
    assert failed.code == 5 and "--fail-on cost: pipelines/a.yaml worst-case USD +" in failed.err
    assert invoke(capsys, monkeypatch, "diff", "main", "--fail-on", "cost:lots").code == 2


def test_a_long_value_shows_where_it_changed():
    from agentctl.diff.compare import shown

    before = "${{ " + "x and " * 30 + "y }}"
    old, new = shown(before, before.replace("y }}", "z }}"))
    assert old.endswith("y }}") and new.endswith("z }}") and old.startswith("...") and len(old) <= 86


def test_a_retyped_schema_field_read_downstream_is_breaking(repo, capsys, monkeypatch):
    edit(repo, "schemas/out.json", '"score": {"type": "number"}', '"score": {"type": "string"}')
    report = diff(capsys, monkeypatch, "-f", "json").json()
    assert report["breaking"] == ["pipelines/a.yaml:20:1: schemas/out.json field 'score' changed type "
                                  "(number -> string) and steps.use.with.x reads it"]


def test_anchors_are_no_change(repo, capsys, monkeypatch):
    edit(repo, "pipelines/a.yaml", "params: {max_tokens: 100}", "params: &p {max_tokens: 100}")
    edit(repo, "pipelines/a.yaml", "  - {id: s, agent: ans, with: {text: hi}}", "  - {id: s, agent: ans, with: &w {text: hi}}")
    done = diff(capsys, monkeypatch)
    assert done.code == 0 and "No changes to prompts, pipelines or schemas" in done.out


def test_a_change_to_a_shared_policy_shows_as_a_permission_change_of_each_pipeline(repo, capsys, monkeypatch):
    (repo / "policy.yaml").write_text("roles: [clerk, auditor]\nrules:\n"
                                      "  - {role: '*', tool: t, decision: allow}\n"
                                      "  - {role: auditor, decision: deny}\n"
                                      "  - {role: clerk, tool: remote, decision: ask, approver: auditor}\n")
    edit(repo, "pipelines/a.yaml", "tools:\n", "policy: policy.yaml\ntools:\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a policy")
    edit(repo, "policy.yaml", "{role: auditor, decision: deny}", "{role: auditor, tool: remote, decision: allow}")
    report = invoke(capsys, monkeypatch, "diff", "HEAD", "-f", "json").json()  # the working tree against HEAD
    changes = {c["path"]: (c["before"], c["after"]) for c in report["pipelines"]["changes"]}
    assert changes == {"permissions.auditor.remote": ("deny", "allow")}
    assert report["affected"] == {"pipelines/a.yaml": ["its definition changed"]}


def test_a_new_pipeline_or_one_that_no_longer_compiles_is_not_called_unbounded(repo, capsys, monkeypatch):
    """Found by trying: the worst-case table said `unbounded` for the base of a pipeline the change
    adds, and for the head of one the change breaks (a prompt edited without a version bump); and
    the pipeline that prompt broke was not among the affected ones, so it had no row at all."""
    (repo / "pipelines" / "b.yaml").write_text(PIPELINE.replace("name: a", "name: b"))
    added = diff(capsys, monkeypatch)
    assert "pipelines/b.yaml | steps | new | 3 steps | 10 steps | 7 steps" in added.out, added.out
    edit(repo, "prompts/p.prompt", "You answer briefly.", "You answer at length.")  # E607: no version bump
    broken = diff(capsys, monkeypatch)
    assert "pipelines/a.yaml | steps | 3 steps | does not compile |  | " in broken.out, broken.out
    assert "  pipelines/a.yaml: prompt p@1\n" in broken.out  # it was left out of the affected pipelines
    rows = {(r["pipeline"], r["dimension"]): r for r in diff(capsys, monkeypatch, "-f", "json").json()["cost"]}
    assert rows[("pipelines/a.yaml", "steps")] | {"pipeline": None} == {
        "pipeline": None, "dimension": "steps", "before": 3, "after": None, "limit": None,
        "before_note": None, "after_note": "does not compile"}
    assert ("pipelines/b.yaml", "steps") not in rows  # new and broken: no figure on either side


def test_a_renamed_pipeline_file_is_compared_with_what_it_was(repo, capsys, monkeypatch):
    """Found by trying: a pipeline moved to another file read as one pipeline added and one removed,
    which hid what the same change did to it (here its run budget, raised tenfold)."""
    git(repo, "mv", "pipelines/a.yaml", "pipelines/answer.yaml")
    edit(repo, "pipelines/answer.yaml", "max_llm_calls: 5", "max_llm_calls: 50")
    done = diff(capsys, monkeypatch)
    assert "  moved pipelines/a.yaml -> pipelines/answer.yaml\n" in done.out, done.out
    assert "  budgets.max_llm_calls: 5 -> 50  (pipelines/answer.yaml:4)" in done.out
    assert "  pipelines/answer.yaml: moved from pipelines/a.yaml, its definition changed" in done.out
    assert "pipelines/answer.yaml | llm_calls | 1 LLM call | 1 LLM call | 50 LLM calls | 49 LLM calls" in done.out
    assert "added" not in done.out and "removed" not in done.out
    report = diff(capsys, monkeypatch, "-f", "json").json()["pipelines"]
    assert (report["added"], report["removed"], report["moved"]) == (
        [], [], [{"from": "pipelines/a.yaml", "to": "pipelines/answer.yaml"}])
    assert "| `pipelines/answer.yaml` | (moved from `pipelines/a.yaml`) | | |" in diff(capsys, monkeypatch, "-f", "markdown").out


def test_an_output_file_that_cannot_be_written_is_an_error(repo, capsys, monkeypatch):
    edit(repo, "prompts/p.prompt", "You answer briefly.", "You  answer   briefly.")
    (repo / "taken").write_text("a file where a folder would go")
    done = diff(capsys, monkeypatch, "-f", "markdown", "-o", "taken/comment.md")
    assert done.code == 1 and "error: cannot write taken/comment.md: Not a directory" in done.err, done.err
