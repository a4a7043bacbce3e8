"""The command line in this process (as `agentctl ARGS` in the current directory): fast enough to
run every command for every step kind and budget dimension."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass


@dataclass
class Invocation:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


def invoke(capsys, monkeypatch, *args: str) -> Invocation:
    from agentctl import boundary

    monkeypatch.setattr(sys, "argv", ["agentctl", *args])
    capsys.readouterr()
    try:
        boundary.main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    captured = capsys.readouterr()
    return Invocation(code, captured.out, captured.err)


def scratch_project(root, files: dict[str, str]):
    """A project in `root` (agentctl.lock, then each relative path with its text), for commands run
    on a handful of files."""
    from pathlib import Path

    root = Path(root)
    (root / "agentctl.lock").write_text("")
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root
