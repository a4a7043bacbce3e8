"""Shell completion (`agentctl --install-completion`): pipeline, eval and prompt paths under the
project, and run and batch ids from the journal. Never raises and never writes: a completion
that fails offers nothing."""

from __future__ import annotations

from pathlib import Path

from agentctl.errors import RUN_STATUSES

UNFINISHED = tuple(status for status in RUN_STATUSES if status != "succeeded")  # what resume takes


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


# typer passes a completion callback only the parameters it knows (incomplete, ctx, args): the
# callbacks below take `incomplete` alone and share these two.
def _runs(incomplete: str, statuses: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(id, what it is) of the newest runs whose id starts with `incomplete` (with one of these
    statuses, when given)."""
    try:
        from agentctl import runs

        rows = runs.list_runs(_root(), None, None, 200) or []
        return [(r["id"], f"{r['pipeline']} {r['status']}") for r in rows
                if r["id"].startswith(incomplete) and (not statuses or r["status"] in statuses)]
    except Exception:  # noqa: BLE001 - a shell completion must never print a traceback
        return []


def paused_run_ids(incomplete: str) -> list[tuple[str, str]]:
    """What approve and deny take."""
    return _runs(incomplete, ("paused",))


def run_ids(incomplete: str) -> list[tuple[str, str]]:
    return _runs(incomplete)


def batch_ids(incomplete: str) -> list[tuple[str, str]]:
    return _batches(incomplete)


def _batches(incomplete: str, statuses: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(id, what it is) of the newest eval batches (with one of these statuses, when given)."""
    try:
        from agentctl import runs
        from agentctl.record.batches import batches

        root = _root()
        if not (root / runs.JOURNAL).is_file():
            return []
        journal = runs.journal_for(root, read_only=True)
        try:
            return [(b["id"], f"eval {b['eval']} {b['status']}") for b in batches(journal, 200)
                    if b["id"].startswith(incomplete) and (not statuses or b["status"] in statuses)]
        finally:
            journal.close()
    except Exception:  # noqa: BLE001 - as above
        return []


def resumable_ids(incomplete: str) -> list[tuple[str, str]]:
    """What resume takes: eval batches and runs that did not finish (a run of a process that died
    reads as interrupted; one still running is refused by resume itself)."""
    return _batches(incomplete, UNFINISHED) + _runs(incomplete, UNFINISHED)
