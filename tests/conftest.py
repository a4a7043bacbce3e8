import os

# No test may reach the network: litellm fetches its price map at import unless told not to,
# whichever module happens to import it first.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import subprocess  # noqa: E402
import sys
from pathlib import Path

import pytest  # noqa: E402

pytest_plugins = ["tests.support.project"]  # the `project` and `server` fixtures, for every package

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "tests" / "golden"


@pytest.fixture
def in_dir(monkeypatch):
    """Change into a directory for the test (paths in diagnostics are relative to it)."""

    def enter(path: Path) -> Path:
        monkeypatch.chdir(path)
        return path

    return enter


def run_cli(*args: str, cwd: Path = REPO, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """The real command, in a fresh interpreter, as a user would run it."""
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    return subprocess.run([sys.executable, "-m", "agentctl", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)
