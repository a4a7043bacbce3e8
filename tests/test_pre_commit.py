"""The pre-commit hooks (.pre-commit-hooks.yaml): a manifest pre-commit itself accepts, entries
that are agentctl commands, and `pre-commit try-repo` on a project for real, the hook's
environment installed offline from the wheelhouse that scripts/test.sh downloads."""

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
    # what validate also reads: a policy file (any name a pipeline's `policy:` gives), a Python
    # tool's module (E315), an eval's data; a commit of only these skipped the hook
    assert all(files.search(path) for path in ("policy.yaml", "security/support.policy.yaml", "tools/booking.py",
                                               "evals/expenses.jsonl", "schemas/review.json"))


def test_pre_commit_accepts_the_manifest():
    clientlib = pytest.importorskip("pre_commit.clientlib", reason="pre-commit is not installed")
    manifest = clientlib.load_manifest(str(REPO / ".pre-commit-hooks.yaml"))
    assert {h["id"] for h in manifest} == {"agentctl-validate", "agentctl-lock"}


WHEELS = REPO / ".venv" / "wheelhouse"


def _try_repo(project, hook: str) -> subprocess.CompletedProcess:
    """`pre-commit try-repo` of this repository (its working tree) on `project`, the hook's
    environment installed from the wheelhouse scripts/test.sh fills, with no index."""
    if shutil.which("pre-commit", path=str(REPO / ".venv" / "bin")) is None or not (WHEELS / ".stamp").is_file():
        pytest.skip("pre-commit or the wheelhouse is missing: scripts/test.sh installs both")
    env = {**os.environ, "PRE_COMMIT_HOME": str(project.parent / "pre-commit-cache"), "PIP_NO_INDEX": "1",
           "PIP_FIND_LINKS": str(WHEELS), "VIRTUALENV_NO_PERIODIC_UPDATE": "1"}
    return subprocess.run([str(REPO / ".venv" / "bin" / "pre-commit"), "try-repo", str(REPO), hook, "--all-files"],
                          cwd=project, capture_output=True, text=True, timeout=900, env=env)


def _git_project(tmp_path):
    from tests.record.test_journal import copy_project

    project = copy_project(tmp_path / "p")
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    return project


def test_try_repo_passes_a_clean_project_and_fails_a_broken_one_with_its_diagnostic(tmp_path):
    project = _git_project(tmp_path)
    done = _try_repo(project, "agentctl-validate")
    assert done.returncode == 0 and "agentctl validate" in done.stdout and "Passed" in done.stdout, done.stdout + done.stderr
    (project / "pipelines" / "broken.yaml").write_text("apiVersion: agentctl/v1\nname: b\nversion: 1\nstepz: []\n")
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    done = _try_repo(project, "agentctl-validate")
    assert done.returncode == 1 and "Failed" in done.stdout, done.stdout + done.stderr
    assert "pipelines/broken.yaml:4:1" in done.stdout and "unknown key 'stepz'" in done.stdout


def test_the_lock_hook_records_a_new_prompt_version_and_fails_the_commit(tmp_path):
    project = _git_project(tmp_path)
    prompt = next((project / "prompts").glob("*.prompt"))
    prompt.write_text(prompt.read_text().replace("version: ", "version: 9", 1))
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    done = _try_repo(project, "agentctl-lock")
    assert done.returncode == 1 and "files were modified by this hook" in done.stdout, done.stdout + done.stderr
    assert done.stdout.count("agentctl lock") == 1
