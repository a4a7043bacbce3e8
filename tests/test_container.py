"""The container image (Dockerfile): built and run on the README demo, offline, as a non-root
user with the project (and its .agentctl/ state) mounted; skipped with the reason where no
container engine can build and start one here (tests/support/container.py)."""

import subprocess

import pytest

from tests.conftest import REPO
from tests.support import container


def test_the_dockerfile_is_multi_stage_non_root_and_stateless():
    text = (REPO / "Dockerfile").read_text()
    assert text.count("\nFROM ") >= 1 and "AS build" in text and "COPY --from=build" in text
    assert "USER agentctl" in text and "-r requirements.lock" in text and 'VOLUME ["/project"]' in text
    assert ".agentctl" in (REPO / ".dockerignore").read_text()


@pytest.fixture(scope="module")
def engine() -> container.Engine:
    found, why_not = container.find()
    if found is None:
        pytest.skip(why_not)
    return found


def test_the_image_runs_the_readme_demo_offline_as_a_user_with_state_in_the_mount(engine, tmp_path):
    from tests.record.test_journal import copy_project

    built = subprocess.run(engine.command("build", "--build-arg", f"BASE={engine.base}", "-t", "agentctl-test",
                                          str(REPO)), capture_output=True, text=True, timeout=1800)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    project = copy_project(tmp_path / "p")
    project.chmod(0o777)
    done = subprocess.run(engine.command("run", "--rm", "--network", "none", "-v", f"{project}:/project",
                                         "agentctl-test", "run", "pipelines/article_review.yaml",
                                         "-i", "topic=Idempotency keys in payment APIs",
                                         "--replay", "pipelines/cassettes/article_review.json"),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "succeeded" in done.stdout and "last_score: 9" in done.stdout
    journal = project / ".agentctl" / "journal.db"
    assert journal.is_file() and journal.stat().st_uid == 10001  # written by the image's user, into the mount
    inside = subprocess.run(engine.command("run", "--rm", "--network", "none", "--entrypoint", "sh", "agentctl-test",
                                           "-c", "id -u; ls -A /project"), capture_output=True, text=True, timeout=600)
    assert inside.returncode == 0 and inside.stdout.split() == ["10001"], inside.stdout + inside.stderr  # no state
