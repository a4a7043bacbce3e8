"""The container image (Dockerfile): built and run on the README demo, offline, as a non-root
user with the project (and its .agentctl/ state) mounted; skipped with the reason where no
container engine can build here."""

import shutil
import subprocess

import pytest

from tests.conftest import REPO


BASE = "python:3.11-slim"


def _engine() -> tuple[str | None, str]:
    """(engine, why not): an engine that answers and has, or can pull, the base image."""
    found = [name for name in ("podman", "docker") if shutil.which(name)]
    for name in found:
        if subprocess.run([name, "info"], capture_output=True, timeout=60).returncode != 0:
            continue
        if subprocess.run([name, "image", "inspect", BASE], capture_output=True, timeout=60).returncode == 0:
            return _can_run(name)
        try:
            pulled = subprocess.run([name, "pull", BASE], capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            return None, f"{name} could not pull {BASE} within 60 s"
        if pulled.returncode == 0:
            return _can_run(name)
        return None, f"{name} cannot pull {BASE}: {(pulled.stderr.strip().splitlines() or ['?'])[-1][:200]}"
    return None, (f"no container engine answers here ({', '.join(found)} found)" if found
                  else "no container engine (docker or podman) is installed")


def _can_run(name: str) -> tuple[str | None, str]:
    """An engine that has the image but cannot start a container (a VM whose kernel refuses the
    runtime's cgroups or rlimits) is no engine for this test."""
    ran = subprocess.run([name, "run", "--rm", "--network", "none", BASE, "python", "-c", "pass"],
                         capture_output=True, text=True, timeout=120)
    if ran.returncode != 0:
        return None, f"{name} cannot start a container here: {(ran.stderr.strip().splitlines() or ['?'])[-1][:200]}"
    return name, ""


def test_the_dockerfile_is_multi_stage_non_root_and_stateless():
    text = (REPO / "Dockerfile").read_text()
    assert text.count("\nFROM ") >= 1 and "AS build" in text and "COPY --from=build" in text
    assert "USER agentctl" in text and "-r requirements.lock" in text and 'VOLUME ["/project"]' in text
    assert ".agentctl" in (REPO / ".dockerignore").read_text()


@pytest.fixture(scope="module")
def engine() -> str:
    name, why_not = _engine()
    if name is None:
        pytest.skip(why_not)
    return name


def test_the_image_runs_the_readme_demo_offline(engine, tmp_path):
    from tests.record.test_journal import copy_project

    subprocess.run([engine, "build", "-t", "agentctl-test", str(REPO)], check=True, timeout=1800)
    project = copy_project(tmp_path / "p")
    project.chmod(0o777)
    done = subprocess.run([engine, "run", "--rm", "--network", "none", "-v", f"{project}:/project", "agentctl-test",
                           "run", "pipelines/article_review.yaml", "-i", "topic=Idempotency keys in payment APIs",
                           "--replay", "pipelines/cassettes/article_review.json"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (project / ".agentctl" / "journal.db").is_file()  # the state is in the mount, not the image
