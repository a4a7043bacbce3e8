"""The repository's example project, copied into a test's own folder (with its own journal)."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FOLDERS = ("pipelines", "prompts", "schemas", "tools")
FILES = ("agentctl.lock", "policy.yaml")  # the lock, and the policy the retail example shares


def copy_example(target: Path) -> Path:
    for sub in FOLDERS:
        shutil.copytree(REPO / sub, target / sub)
    for name in FILES:
        shutil.copy(REPO / name, target / name)
    return target
