"""Who may answer an approval. An approval names a role (a tier's `approver:`, a tool's
`approver:`; `human` by default); `agentctl approve --as ROLE` answers as that role. The project
file `roles.yaml` maps roles to people (OS user names):

    roles:
      manager: [alice, bob]
      director: [carol]

When the file exists, only the people listed under a role may answer as it; without it, `--as`
is taken as given (and recorded). A team connects its identity source by generating roles.yaml
from it (a directory group export, a CODEOWNERS-like file), checked in or written by CI.
"""

from __future__ import annotations

import getpass
from pathlib import Path

from agentctl.errors import UsageError

ANYONE = "human"  # an approval any person may answer
FILE = "roles.yaml"


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def people(root: Path) -> dict[str, list[str]] | None:
    """roles.yaml as role -> user names; None when the project has none."""
    path = Path(root) / FILE
    if not path.is_file():
        return None
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"{path} cannot be read: {exc}", "roles: {ROLE: [user, ...]}") from None
    roles = data.get("roles") if isinstance(data, dict) else None
    if not isinstance(roles, dict) or not all(isinstance(v, list) for v in roles.values()):
        raise UsageError(f"{path}: expected roles: {{ROLE: [user, ...]}}")
    return {str(k): [str(u) for u in v] for k, v in roles.items()}


def check_answer(root: Path, role: str, asked: str, step: str, user: str) -> None:
    """Refuses an answer from a role that may not give it, or from a user not in that role."""
    if asked not in (ANYONE, role):
        raise UsageError(f"step '{step}' waits for approval by {asked}; you answer as {role}",
                         f"answer with --as {asked} (roles.yaml says who may)")
    if role != ANYONE:
        check_person(root, role, user, "answer as")


def check_person(root: Path, role: str, user: str, doing: str = "run as") -> None:
    """With roles.yaml, only the people it lists under a role may act as that role."""
    listed = people(root)
    if listed is None:
        return
    if role not in listed:
        raise UsageError(f"role '{role}' is not in {FILE}", f"roles there: {', '.join(sorted(listed)) or 'none'}")
    if user not in listed[role]:
        raise UsageError(f"user '{user}' may not {doing} {role} ({FILE} lists: {', '.join(listed[role])})")
