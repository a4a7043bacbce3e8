"""The GitHub Actions workflow users copy (examples/github/agentctl.yml): valid against GitHub's
workflow schema (check-jsonschema's vendored copy), and doing what docs/ci.md says."""

import subprocess
import sys

import yaml

from tests.conftest import REPO

WORKFLOW = REPO / "examples" / "github" / "agentctl.yml"


def test_the_workflow_is_valid_against_githubs_schema():
    done = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                           str(WORKFLOW)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_workflow_needs_no_secrets_comments_only_for_its_own_prs_and_summarises_every_pr():
    text = WORKFLOW.read_text()
    steps = yaml.safe_load(text)["jobs"]["check"]["steps"]
    assert "secrets." not in text.replace("needs no secrets.", "")
    assert steps[0]["with"]["fetch-depth"] == 0
    runs = " ".join(s.get("run", "") for s in steps)
    assert "agentctl validate --format github" in runs and "--format markdown" in runs
    assert ">> \"$GITHUB_STEP_SUMMARY\"" in runs  # every pull request, forks included
    comment = next(s for s in steps if s.get("name") == "Comment")
    assert comment["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert "<!-- agentctl:diff v1 -->" in comment["with"]["script"] and "updateComment" in comment["with"]["script"]
