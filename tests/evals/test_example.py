"""The README's eval example, as a user runs it: offline from its cassette, the report, the
JUnit file valid against the JUnit schema CI tools read, the eval file valid in the editor schema."""

import json
import os
from pathlib import Path

import jsonschema
import pytest
import xmlschema

from agentctl.spec.yaml_source import load_yaml
from tests.conftest import REPO, run_cli

EXAMPLE = ["eval", "evals/expense_approval.eval.yaml", "--replay", "evals/cassettes/expenses.json", "--approve"]
JUNIT_XSD = Path(__file__).parent.parent / "support" / "junit.xsd"


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    out = tmp_path_factory.mktemp("example")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    result = run_cli(*EXAMPLE, "-o", str(out / "report.json"), "--junit", str(out / "junit.xml"), env=env,
                     timeout=120)
    return result, out


def test_the_readme_eval_replays_offline_and_meets_its_thresholds(example):
    result, out = example
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rows: 24 (24 runs), passed 22 (91.7%), errors 0 (0.0%)" in result.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["checks"]["category"]["rate"] == round(22 / 24, 4) and not report["missed"]
    assert {r["row_id"] for r in report["rows"] if not r["passed"]} == {"e15", "e22"}


def test_the_junit_file_is_valid_against_the_junit_schema(example):
    _, out = example
    schema = xmlschema.XMLSchema(str(JUNIT_XSD))
    schema.validate(str(out / "junit.xml"))
    assert not schema.is_valid('<testsuite name="x" tests="1"/>')  # the schema does reject a bad file


def test_the_example_eval_file_is_valid_in_the_editor_schema():
    schema = json.loads((REPO / "schemas" / "eval.schema.json").read_text())
    data, _ = load_yaml((REPO / "evals" / "expense_approval.eval.yaml").read_text(), "eval")
    jsonschema.validate(data, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**data, "concurrency": 0}, schema)
