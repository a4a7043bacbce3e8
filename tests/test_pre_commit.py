"""The pre-commit hooks (.pre-commit-hooks.yaml): a manifest pre-commit itself accepts, entries
that are agentctl commands; `pre-commit try-repo` on a project when pre-commit is installed and the
package registry may be used (it installs the hook's environment): AGENTCTL_TEST_NETWORK=1."""

import os
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import REPO


def test_the_hooks_are_agentctl_commands_on_project_files():
    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert hooks["agentctl-validate"]["entry"] == "agentctl validate"
    assert hooks["agentctl-lock"]["entry"] == "agentctl lock"
    assert all(h["language"] == "python" and h["pass_filenames"] is False for h in hooks.values())
    import re

    files = re.compile(hooks["agentctl-validate"]["files"])
    assert files.search("pipelines/travel.yaml") and files.search("prompts/triage.prompt")
    assert files.search("sub/evals/smoke.eval.yaml") and not files.search("README.md")


def test_pre_commit_accepts_the_manifest():
    clientlib = pytest.importorskip("pre_commit.clientlib", reason="pre-commit is not installed")
    manifest = clientlib.load_manifest(str(REPO / ".pre-commit-hooks.yaml"))
    assert {h["id"] for h in manifest} == {"agentctl-validate", "agentctl-lock"}


@pytest.mark.skipif(os.environ.get("AGENTCTL_TEST_NETWORK") != "1" or shutil.which("pre-commit") is None,
                    reason="needs pre-commit and the package registry (set AGENTCTL_TEST_NETWORK=1)")
def test_try_repo_validates_a_project(tmp_path):
    from tests.record.test_journal import copy_project

    project = copy_project(tmp_path / "p")
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    done = subprocess.run(["pre-commit", "try-repo", str(REPO), "agentctl-validate", "--all-files"], cwd=project,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0 and "agentctl validate" in done.stdout, done.stdout + done.stderr
