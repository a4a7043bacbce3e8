"""Shell completion (`agentctl --install-completion`): pipeline, eval and prompt paths under the
project, and run and batch ids from the journal. Never raises and never writes: a completion
that fails offers nothing."""

from __future__ import annotations

from pathlib import Path


def _root() -> Path:
    from agentctl.compile.project import find_root

    return find_root(Path.cwd())


def _paths(incomplete: str, patterns: tuple[str, ...]) -> list[str]:
    try:
        root, here = _root(), Path.cwd()
        found = {str(p.relative_to(here)) if p.is_relative_to(here) else str(p)
                 for pattern in patterns for p in root.glob(pattern)}
        return sorted(p for p in found if p.startswith(incomplete))
    except (OSError, ValueError):
        return []


def pipelines(incomplete: str) -> list[str]:
    return _paths(incomplete, ("pipelines/**/*.yaml", "pipelines/**/*.yml"))


def evals(incomplete: str) -> list[str]:
    return _paths(incomplete, ("evals/**/*.eval.yaml",))


def renderable(incomplete: str) -> list[str]:
    return _paths(incomplete, ("prompts/**/*.prompt", "pipelines/**/*.yaml"))


def run_ids(incomplete: str) -> list[tuple[str, str]]:
    """(id, what it is) of the newest runs whose id starts with `incomplete`."""
    try:
        from agentctl import runs

        rows = runs.list_runs(_root(), None, None, 200) or []
        return [(r["id"], f"{r['pipeline']} {r['status']}") for r in rows if r["id"].startswith(incomplete)]
    except Exception:  # noqa: BLE001 - a shell completion must never print a traceback
        return []


def batch_or_run_ids(incomplete: str) -> list[tuple[str, str]]:
    try:
        from agentctl import runs
        from agentctl.record.batches import batches

        root = _root()
        if not (root / runs.JOURNAL).is_file():
            return []
        journal = runs.journal_for(root, read_only=True)
        try:
            found = [(b["id"], f"eval {b['eval']} {b['status']}") for b in batches(journal, 200)
                     if b["id"].startswith(incomplete)]
        finally:
            journal.close()
        return found + run_ids(incomplete)
    except Exception:  # noqa: BLE001 - as above
        return []
