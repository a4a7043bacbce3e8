"""An unexpected exception is a bug: its traceback and the versions involved go to a crash log
under .agentctl/, and the user sees one line pointing to it (as pre-commit's error handler does)."""

from __future__ import annotations

import platform
import sys
import time
import traceback
from importlib import metadata
from pathlib import Path

from agentctl import __version__

_PACKAGES = ("typer", "pydantic", "pyyaml", "jinja2", "rich", "litellm", "mcp", "opentelemetry-sdk")


def write_crash_log(exc: BaseException, directory: Path) -> Path:
    """Writes the log and returns its path; falls back to the temp directory if `directory` is not writable."""
    lines = [f"agentctl {__version__} crashed at {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
             f"command: {' '.join(sys.argv)}",
             f"python: {sys.version.split()[0]} ({sys.executable}) on {platform.platform()}",
             "versions: " + ", ".join(f"{name} {_version(name)}" for name in _PACKAGES), "",
             *traceback.format_exception(exc)]
    text = "\n".join(line.rstrip("\n") for line in lines) + "\n"
    name = f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{id(exc) % 10_000:04d}.log"
    for folder in (directory, Path(_tempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text, encoding="utf-8")
            return folder / name
        except OSError:
            continue
    raise exc


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _tempdir() -> str:
    import tempfile

    return tempfile.gettempdir()
