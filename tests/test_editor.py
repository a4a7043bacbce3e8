"""What an editor shows, asked of yaml-language-server: the server behind VS Code's YAML
extension, pinned and installed by scripts/test.sh where npm is available (this file skips,
saying so, where it is not). The schemas and the settings `agentctl init` writes are checked as
an editor uses them, not only against the JSON Schema metaschema."""

import json
import re
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.support.lsp import LanguageServer

SERVER = REPO / ".venv" / "yaml-language-server" / "node_modules" / ".bin" / "yaml-language-server"


def editor(root: Path) -> LanguageServer:
    """The language server as VS Code starts it for `root`: its `yaml.*` settings from
    .vscode/settings.json under the `yaml` section."""
    if not SERVER.exists():
        pytest.skip("yaml-language-server is not installed: scripts/test.sh installs it where npm is available")
    vscode = root / ".vscode" / "settings.json"
    chosen = json.loads(vscode.read_text()) if vscode.exists() else {}
    section = {key.removeprefix("yaml."): value for key, value in chosen.items() if key.startswith("yaml.")}
    return LanguageServer([str(SERVER), "--stdio"], root,
                          {"yaml": {"validate": True, "hover": True, "completion": True, **section}})


def problems(diagnostics: list[dict]) -> list[tuple[int, str]]:
    return [(d["range"]["start"]["line"] + 1, d["message"]) for d in diagnostics]


def test_the_settings_init_writes_associate_each_schema_without_a_modeline(tmp_path):
    from agentctl.scaffold import init_project

    root = tmp_path / "p"
    init_project(root)
    hello = (root / "pipelines" / "hello.yaml").read_text()
    assert hello.startswith("# yaml-language-server:")
    (root / "pipelines" / "typo.yaml").write_text(hello.split("\n", 1)[1].replace("\nsteps:", "\nstepz:"))
    (root / "evals").mkdir()
    (root / "evals" / "typo.eval.yaml").write_text("pipeline: pipelines/hello.yaml\ndata: rows.jsonl\nchecks: []\n"
                                                   "tresholds: {}\n")
    (root / "policy.yaml").write_text("roles: [clerk]\nrulez: []\n")
    server = editor(root)
    try:
        typo = problems(server.open(root / "pipelines" / "typo.yaml"))
        line = (root / "pipelines" / "typo.yaml").read_text().splitlines().index("stepz:") + 1
        assert (line, "Property stepz is not allowed.") in typo
        assert (4, "Property tresholds is not allowed.") in problems(server.open(root / "evals" / "typo.eval.yaml"))
        assert (2, "Property rulez is not allowed.") in problems(server.open(root / "policy.yaml"))
        assert problems(server.open(root / "pipelines" / "hello.yaml")) == []
    finally:
        server.close()


def test_the_examples_show_no_problem_in_an_editor():
    """The editor's schema must not flag what `agentctl validate` accepts (tests/compile/test_examples.py)."""
    server = editor(REPO)
    try:
        files = [*sorted((REPO / "pipelines").glob("*.yaml")), *sorted((REPO / "evals").glob("*.eval.yaml")),
                 REPO / "policy.yaml"]
        shown = {path.name: problems(server.open(path)) for path in files}
        # the same file with a key no schema has, unsaved beside it: the schema is applied, so [] means clean
        control = {path.name: problems(server.open(path.with_suffix(".control.yaml"), path.read_text() + "zz_key: 1\n"))
                   for path in files}
    finally:
        server.close()
    assert shown == {path.name: [] for path in files}
    assert all(found and found[-1][1] == "Property zz_key is not allowed." for found in control.values()), control


def _description(schema: dict, *path: str) -> str:
    node = schema
    for key in path:
        node = node["properties"][key]
        while "$ref" in node and key != path[-1]:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node["description"]


def test_hovers_show_the_documented_description_and_an_example():
    schema = json.loads((REPO / "schemas" / "pipeline.schema.json").read_text())
    pipeline = REPO / "pipelines" / "article_review.yaml"
    lines = pipeline.read_text().splitlines()
    server = editor(REPO)
    try:
        server.open(pipeline)

        def hover(key: str, after: str = "") -> str:
            number = next(i for i, line in enumerate(lines) if line.lstrip().startswith(key + ":")
                          and i > (lines.index(after) if after else -1))
            shown = server.hover(pipeline, number, lines[number].index(key) + 1)
            return re.sub(r"\\(.)", r"\1", shown)  # markdown escapes, as the editor renders them
        budgets, fallbacks = hover("budgets"), hover("fallbacks", "  writer:")
    finally:
        server.close()
    assert _description(schema, "budgets") in budgets and "max_cost_usd: 0.5" in budgets  # the example
    assert schema["$defs"]["ModelAlias"]["properties"]["fallbacks"]["description"] in fallbacks
