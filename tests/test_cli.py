"""The command line as users and CI see it: exit codes, output formats, help, init, schema."""

import json
import shutil

import pytest

from agentctl import api
from tests.conftest import GOLDEN, REPO, run_cli


def test_validate_the_examples_exits_0():
    result = run_cli("validate")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no problems" in result.stdout


def test_text_output_shows_the_line_and_a_caret():
    result = run_cli("validate", "cases/undefined_agent.yaml", cwd=GOLDEN)
    assert result.returncode == 1
    assert result.stdout == (
        "error[E303]: agent 'echoo' is not defined\n"
        "  --> cases/undefined_agent.yaml:16:12\n"
        "   |\n"
        "16 |     agent: echoo\n"
        "   |            ^^^^^\n"
        "   = hint: did you mean 'echo'?\n"
        "\n"
        "1 file checked: 1 error, 0 warnings\n"
    )


def test_json_output_is_machine_readable():
    result = run_cli("validate", "cases/undefined_model.yaml", "--format", "json", cwd=GOLDEN)
    payload = json.loads(result.stdout)
    assert result.returncode == 1
    assert payload["errors"] == 1 and payload["warnings"] == 1
    first = next(d for d in payload["diagnostics"] if d["code"] == "E301")
    assert (first["file"], first["line"], first["column"]) == ("cases/undefined_model.yaml", 10, 17)


def test_github_output_is_workflow_commands():
    result = run_cli("validate", "cases/undefined_input.yaml", "-f", "github", cwd=GOLDEN)
    assert result.stdout.strip() == (
        "::error file=cases/undefined_input.yaml,line=14,col=23,endColumn=33,title=E307::"
        "input 'txt' is not declared (hint: did you mean 'text'?)"
    )


def test_sarif_output_is_valid_sarif_2_1_0():
    result = run_cli("validate", "cases/needs_cycle.yaml", "-f", "sarif", cwd=GOLDEN)
    sarif = json.loads(result.stdout)
    assert sarif["version"] == "2.1.0"
    (found,) = sarif["runs"][0]["results"]
    assert found["ruleId"] == "E501" and found["level"] == "error"
    assert found["locations"][0]["physicalLocation"]["region"]["startLine"] == 13


def test_warnings_fail_only_with_strict():
    assert run_cli("validate", "cases/warn_unused_model.yaml", cwd=GOLDEN).returncode == 0
    assert run_cli("validate", "cases/warn_unused_model.yaml", "--strict", cwd=GOLDEN).returncode == 1


def test_usage_errors_exit_2():
    assert run_cli("validate", "--format", "xml").returncode == 2
    assert run_cli("nonsense").returncode == 2
    assert run_cli("graph").returncode == 2


def test_validate_in_a_folder_without_a_project_is_a_usage_error(tmp_path):
    result = run_cli("validate", cwd=tmp_path)
    assert result.returncode == 2
    assert "no pipelines or prompts found" in result.stderr


@pytest.mark.parametrize("command", ["validate", "graph", "schema", "init", "lock", "run", "resume", "approve",
                                     "deny", "trace", "runs list", "runs show"])
def test_every_command_has_help_with_an_example(command):
    result = run_cli(*command.split(), "--help")
    assert result.returncode == 0
    assert "Example" in result.stdout


@pytest.mark.parametrize("fmt, marker", [("tree", "worst case for the run"), ("mermaid", "flowchart TD"),
                                         ("dot", "digraph")])
def test_graph_formats(fmt, marker):
    result = run_cli("graph", "pipelines/article_review.yaml", "--format", fmt)
    assert result.returncode == 0, result.stderr
    assert marker in result.stdout and "review" in result.stdout


def test_graph_of_an_invalid_pipeline_prints_diagnostics_and_exits_1():
    result = run_cli("graph", "cases/needs_cycle.yaml", cwd=GOLDEN)
    assert result.returncode == 1 and "E501" in result.stdout


def test_committed_schemas_are_current(tmp_path):
    assert api.write_schemas(REPO / "schemas", check=True) == []
    assert run_cli("schema", "--check", cwd=REPO).returncode == 0
    stale = tmp_path / "schemas"
    stale.mkdir()
    (stale / "pipeline.schema.json").write_text("{}")
    assert run_cli("schema", "--check", "--dir", str(stale)).returncode == 1


def test_init_creates_a_project_that_validates_clean(tmp_path):
    target = tmp_path / "new"
    assert run_cli("init", str(target)).returncode == 0
    result = run_cli("validate", "--strict", cwd=target)
    assert result.returncode == 0, result.stdout
    assert run_cli("init", str(target)).returncode == 2  # never overwrites


def test_a_place_that_cannot_be_written_is_an_error_not_a_crash(tmp_path):
    """Found by trying `init` and `schema --dir` where a folder cannot be made, and `lock` with an
    agentctl.lock that cannot be written: 'internal error: agentctl crashed'."""
    (tmp_path / "taken").write_text("a file where a folder would go")
    for args, what in ((("init", str(tmp_path / "taken" / "new")), tmp_path / "taken" / "new" / "pipelines"),
                       (("schema", "--dir", str(tmp_path / "taken" / "schemas")), tmp_path / "taken" / "schemas")):
        done = run_cli(*args)
        assert done.returncode == 1, done.stderr
        assert done.stderr == (f"error: cannot write {what}: Not a directory\n"
                               "  hint: write it in a folder that exists and that you can write to\n"), done.stderr
    project = tmp_path / "p"
    run_cli("init", str(project))
    prompt = project / "prompts" / "summarize.prompt"
    prompt.write_text(prompt.read_text().replace("version: 1", "version: 2"))
    lock = project / "agentctl.lock"
    lock.rename(project / "kept.lock")
    lock.symlink_to("/proc/version")  # readable, not writable, even by root
    done = run_cli("lock", cwd=project)
    assert done.returncode == 1 and done.stderr.startswith(f"error: cannot write {lock}: "), done.stderr


def test_lock_refuses_a_changed_prompt_without_a_bump(tmp_path):
    project = tmp_path / "p"
    run_cli("init", str(project))
    prompt = project / "prompts" / "summarize.prompt"
    prompt.write_text(prompt.read_text().replace("one sentence", "two sentences"))
    assert "E607" in run_cli("validate", cwd=project).stdout
    refused = run_cli("lock", cwd=project)
    assert refused.returncode == 1 and "bump its version" in refused.stderr
    prompt.write_text(prompt.read_text().replace("version: 1", "version: 2"))
    assert run_cli("lock", cwd=project).returncode == 0
    assert run_cli("validate", "--strict", cwd=project).returncode == 0


def test_validate_reports_every_file_in_one_pass(tmp_path):
    shutil.copytree(GOLDEN, tmp_path / "g")
    result = run_cli("validate", "cases/undefined_model.yaml", "cases/needs_cycle.yaml",
                     "cases/prompt_undeclared_variable.prompt", "-f", "json", cwd=tmp_path / "g")
    codes = {d["code"] for d in json.loads(result.stdout)["diagnostics"]}
    assert {"E301", "E501", "E603"} <= codes


def test_an_unexpected_exception_writes_a_crash_log_and_prints_one_line(tmp_path, monkeypatch, capsys):
    from agentctl import api
    from tests.support.cli import invoke

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    (tmp_path / "agentctl.lock").write_text("")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AGENTCTL_DEBUG", raising=False)
    monkeypatch.setattr(api, "validate", broken)
    done = invoke(capsys, monkeypatch, "validate")
    assert done.code == 1 and done.out == ""
    lines = done.err.strip().splitlines()
    assert len(lines) == 1 and "this is a bug" in lines[0]
    logs = list((tmp_path / ".agentctl").glob("crash-*.log"))
    assert len(logs) == 1 and str(logs[0]) in lines[0]
    text = logs[0].read_text()
    assert "ZeroDivisionError: a bug" in text and "Traceback" in text and "versions: typer" in text


def test_control_characters_from_yaml_are_escaped_not_sent_to_the_terminal(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text('apiVersion: agentctl/v1\nname: t\nversion: 1\nsteps:\n'
                    '  - {id: "bad\\e[31mred", gate: {check: true}}\n'
                    '  - {id: ok, gate: {check: true}, "\\e[2Jkey": 1}\n')
    result = run_cli("validate", str(path))
    assert result.returncode == 1
    assert "\x1b" not in result.stdout + result.stderr
    assert "'bad\\x1b[31mred' is not a valid name" in result.stdout
    assert "unknown key '\\x1b[2Jkey'" in result.stdout


def test_init_associates_the_schemas_for_vs_code(tmp_path):
    target = tmp_path / "new"
    assert run_cli("init", str(target)).returncode == 0
    settings = json.loads((target / ".vscode" / "settings.json").read_text())
    for schema, globs in settings["yaml.schemas"].items():
        assert (target / schema).is_file() and globs
    assert "pipelines/*.yaml" in settings["yaml.schemas"]["./schemas/pipeline.schema.json"]


def test_every_property_of_every_editor_schema_is_described():
    from agentctl.spec.descriptions import undescribed

    schemas = api.json_schemas()
    assert {name: undescribed(schema) for name, schema in schemas.items()} == {name: [] for name in schemas}
    assert {schema["$id"] for schema in schemas.values()} == {
        "urn:agentctl:schema:pipeline:v1", "urn:agentctl:schema:prompt:v1", "urn:agentctl:schema:eval:v1",
        "urn:agentctl:schema:policy:v1"}


def test_the_field_reference_in_the_docs_is_generated():
    from agentctl.spec.descriptions import reference

    docs = (REPO / "docs" / "format.md").read_text()
    assert reference(api.json_schemas()["pipeline.schema.json"]) in docs, \
        "regenerate: .venv/bin/python -m agentctl.spec.descriptions"


def test_the_editor_schema_offers_examples_where_a_form_is_not_obvious():
    schema = api.json_schemas()["pipeline.schema.json"]
    model = schema["$defs"]["ModelAlias"]["properties"]["model"]
    assert "openai/gpt-4o-mini" in model["examples"]
    assert schema["$defs"]["Gate"]["properties"]["on_fail"].get("enum") == ["fail", "warn", "approve"]
