"""The package as users install it: a wheel that builds offline and installs in a fresh virtual
environment, compatible ranges in its metadata (not exact pins), a light base install whose
commands say what to install when a run is asked for."""

import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser

import pytest

from tests.conftest import REPO
from tests.record.test_journal import copy_project
from tests.support.cli import invoke


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out)], check=True, capture_output=True, timeout=300)
    (built,) = out.glob("agentctl-*.whl")
    return built


def _metadata(wheel) -> tuple[list[str], object]:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        meta = Parser().parsestr(archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode())
    return names, meta


def test_the_wheel_holds_the_typed_marker_and_the_scaffold(wheel):
    names, meta = _metadata(wheel)
    assert "agentctl/py.typed" in names
    assert any(n.startswith("agentctl/scaffold/template/pipelines/") for n in names)
    assert meta["License-Expression"] == "Apache-2.0"


def test_dependencies_are_ranges_and_the_run_extra_holds_the_heavy_ones(wheel):
    _, meta = _metadata(wheel)
    requires = meta.get_all("Requires-Dist")
    base = [r for r in requires if "extra ==" not in r]
    run = [r for r in requires if 'extra == "run"' in r]
    assert not [r for r in requires if "==" in r.split(";")[0]]  # no exact pin: the lock file has those
    assert not [r for r in base if r.split(">")[0].split("<")[0].strip() in ("litellm", "mcp", "opentelemetry-sdk")]
    (litellm,) = [r for r in run if r.startswith("litellm")]
    assert "!=1.82.7" in litellm and "!=1.82.8" in litellm


def test_the_wheel_installs_in_a_fresh_virtual_environment(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    # the dependencies come from the project's environment, after the fresh one's own site-packages
    site = subprocess.run([sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    fresh = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                           capture_output=True, text=True, check=True).stdout.strip()
    with open(f"{fresh}/zz-deps.pth", "w") as pth:
        pth.write(site + "\n")
    project = copy_project(tmp_path / "project")  # not the checkout: its agentctl/ would shadow the wheel's
    where = subprocess.run([str(python), "-c", "import agentctl; print(agentctl.__file__)"], capture_output=True,
                           text=True, check=True, cwd=project).stdout
    assert where.startswith(fresh)  # the installed copy
    done = subprocess.run([str(venv / "bin" / "agentctl"), "validate"], cwd=project, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and "no problems" in done.stdout, done.stdout + done.stderr


def test_a_run_without_the_run_extra_says_what_to_install(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "litellm", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "agentctl.llm.litellm_client", raising=False)
    monkeypatch.chdir(REPO)
    done = invoke(capsys, monkeypatch, "run", "pipelines/article_review.yaml", "-i", "topic=x")
    assert done.code == 2, done.out + done.err
    assert "needs 'litellm', which is part of the run extra" in done.err
    assert "pip install 'agentctl[run]'" in done.err


def test_validate_without_the_run_extra_warns_that_usd_bounds_are_unchecked(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "litellm", None)  # a light install: no price table
    monkeypatch.chdir(REPO)
    done = invoke(capsys, monkeypatch, "validate", "pipelines/article_review.yaml")
    assert done.code == 0, done.out
    assert "warning[W704]: no price for model 'openai/gpt-4o' here: litellm's price table comes with the run extra" \
        in done.out


def test_a_batch_usd_budget_without_the_run_extra_warns_and_the_dry_run_says_unknown(capsys, monkeypatch, tmp_path):
    """Found by trying: the dry run said the batch budget was 'reached' by a worst case it could not know."""
    project = copy_project(tmp_path / "project")
    shutil.copytree(REPO / "evals", project / "evals")
    pipeline = project / "pipelines" / "expense_approval.yaml"
    pipeline.write_text(pipeline.read_text().replace("  max_cost_usd: 0.05\n", ""))  # nothing caps a row's USD
    monkeypatch.setitem(sys.modules, "litellm", None)  # a light install: no price table
    monkeypatch.chdir(project)
    checked = invoke(capsys, monkeypatch, "validate", "evals/expense_approval.eval.yaml")
    assert checked.code == 0, checked.out
    assert ("warning[W704]: budgets.max_cost_usd: a row's worst case in USD is unknown here: litellm's price table "
            "comes with the run extra") in checked.out
    dry = invoke(capsys, monkeypatch, "eval", "evals/expense_approval.eval.yaml", "--dry-run")
    assert dry.code == 0, dry.out + dry.err
    assert "USD: $? (batch budget $0.5000, worst case unknown)" in dry.out
