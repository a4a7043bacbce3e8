"""A deterministic example tool: candidate profiles from a small built-in table."""

from __future__ import annotations

_PROFILES = {
    "ada": "12 years of distributed systems; led a payments platform.",
    "grace": "Compiler engineer; built a query planner; mentors juniors.",
    "linus": "Kernel maintainer; strong opinions on version control.",
}


def load_profiles(names: list[str]) -> dict:
    """Profiles of the named candidates (unknown names get an empty summary)."""
    return {"profiles": [{"name": n, "summary": _PROFILES.get(n.lower(), "")} for n in names]}
