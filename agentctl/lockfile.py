"""agentctl.lock: the content hash of every prompt version, so a change without a bump is caught.

One line per prompt version, sorted, so that the file diffs cleanly in review:

    triage@3 sha256:9f2c...
"""

from __future__ import annotations

from pathlib import Path

from agentctl.errors import writing

HEADER = (
    "# agentctl.lock: content hash of every prompt version. Commit this file.\n"
    "# A prompt whose text changes must get a new version; then run `agentctl lock`.\n"
)


def read_lock(path: Path) -> dict[str, str] | None:
    """name@version -> sha256, or None when there is no lock file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError):
        return None
    entries = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and not line.startswith("#") and parts[1].startswith("sha256:"):
            entries[parts[0]] = parts[1].removeprefix("sha256:")
    return entries


def write_lock(path: Path, entries: dict[str, str]) -> None:
    body = "".join(f"{key} sha256:{entries[key]}\n" for key in sorted(entries))
    with writing(path):
        path.write_text(HEADER + body, encoding="utf-8")


def lock_key(name: str, version: str) -> str:
    return f"{name}@{version}"
