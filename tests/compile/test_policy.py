"""The policy's diagnostics, message and hint exactly (the golden cases pin codes and places)."""

import pytest

from agentctl import api
from tests.support.cli import scratch_project

PIPELINE = """apiVersion: agentctl/v1
name: p
version: 1
tools:
  read_file: {python: "tools.files:read_file", input_schema: {type: object, properties: {path: {type: string}}}}
roles: [analyst]
policy:
  roles: [analyst, admin]
  rules:
RULES
steps:
  - {id: r, tool: read_file, with: {path: x}}
"""


@pytest.mark.parametrize("rules, message, hint", [
    (["{role: analyst, tool: read_file, args: {path: '**'}, decision: allow}",
      "{role: analyst, tool: read_file, args: {path: 'reports/*'}, decision: deny}"],
     "rule 2 can never match: rule 1 before it matches every call it does", "remove it, or move it before rule 1"),
    (["{role: analyst, tool: read_fil, decision: deny}", "{role: analyst, decision: allow}"],
     "rule 1 can never match: no tool of the pipeline matches 'read_fil'", "did you mean 'read_file'?"),
    (["{role: admin, tool: read_file, decision: deny}", "{role: analyst, decision: allow}"],
     "rule 1 can never match: its roles (admin) do not run this pipeline (roles: analyst)",
     "add the role to the pipeline's roles:, or remove the rule"),
    (["{role: analyst, tool: read_file, args: {pth: 'a/*'}, decision: deny}", "{role: analyst, decision: allow}"],
     "rule 1 can never match: no tool it matches takes an argument 'pth'", "did you mean 'path'?"),
])
def test_a_rule_that_can_never_match_says_why_and_what_to_do(tmp_path, rules, message, hint):
    text = PIPELINE.replace("RULES", "\n".join(f"    - {r}" for r in rules))
    scratch_project(tmp_path, {"pipelines/p.yaml": text, "tools/__init__.py": "",
                               "tools/files.py": "def read_file(path: str) -> dict:\n    return {}\n"})
    found = [(d.code, d.message, d.hint) for d in api.validate(["pipelines/p.yaml"], cwd=tmp_path).diagnostics]
    assert found == [("W808", message, hint)]


def test_a_narrower_argument_pattern_first_is_not_reported(tmp_path):
    rules = ["{role: analyst, tool: read_file, args: {path: 'reports/*'}, decision: allow}",
             "{role: analyst, tool: read_file, args: {path: '**'}, decision: deny}"]
    text = PIPELINE.replace("RULES", "\n".join(f"    - {r}" for r in rules))
    scratch_project(tmp_path, {"pipelines/p.yaml": text, "tools/__init__.py": "",
                               "tools/files.py": "def read_file(path: str) -> dict:\n    return {}\n"})
    assert api.validate(["pipelines/p.yaml"], cwd=tmp_path).diagnostics == []


def test_an_approver_inside_a_loop_must_be_a_role_of_the_policy(tmp_path):
    text = PIPELINE.replace("RULES", "    - {role: analyst, decision: allow}").replace("steps:\n", """steps:
  - id: again
    loop:
      max_iterations: 2
      until: true
      steps:
        - {id: ok, approval: {message: go?, tiers: [{when: true, approver: manger}]}}
""")
    scratch_project(tmp_path, {"pipelines/p.yaml": text, "tools/__init__.py": "",
                               "tools/files.py": "def read_file(path: str) -> dict:\n    return {}\n"})
    found = [(d.code, d.message, d.span.line) for d in api.validate(["pipelines/p.yaml"], cwd=tmp_path).diagnostics
             if d.is_error]
    assert found == [("E316", "approver 'manger' is not a role of the policy", 17)]
