"""`agentctl diff`: both sides read from git (or the working tree), compiled, compared; and the
CI checks of `--fail-on`. What is printed passes through the redactor (formats are plain text)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from agentctl.diff.compare import DiffReport, compare
from agentctl.diff.sides import commit_of, default_base, materialize, repository
from agentctl.diff.snapshot import Snapshot, snapshot
from agentctl.errors import UsageError

CHECKS = "breaking, budget, cost:+N%"


def diff(base: str | None, head: str | None, paths: tuple[str, ...], project_root: Path) -> tuple[DiffReport, Snapshot]:
    top, prefix = repository(project_root)
    base_commit = commit_of(top, base) if base else default_base(top, head)
    with tempfile.TemporaryDirectory(prefix="agentctl-diff-") as scratch:
        base_root = materialize(top, prefix, base_commit, Path(scratch) / "base")
        before = snapshot(base_root, paths)
        if head is None:
            after = snapshot(project_root, paths)
            head_label = "working tree"
        else:
            head_root = materialize(top, prefix, commit_of(top, head), Path(scratch) / "head")
            after = snapshot(head_root, paths)
            head_label = head
        report = compare(before, after, base or base_commit[:12], head_label)
    return report, after


def redactor_for(side: Snapshot):
    """The secrets any pipeline of the head side declares, as set in this environment."""
    from agentctl.record.redact import Redactor

    secrets: list[str] = []
    for info in side.pipelines.values():
        if info.compiled is not None:
            secrets += Redactor.for_pipeline(info.compiled).secrets
    return Redactor(secrets)


def parse_checks(spec: str | None) -> list[tuple[str, float]]:
    if not spec:
        return []
    checks = []
    for item in (part.strip() for part in spec.split(",") if part.strip()):
        cost = re.fullmatch(r"cost:\+?(\d+(?:\.\d+)?)%", item)
        if item in ("breaking", "budget"):
            checks.append((item, 0.0))
        elif cost:
            checks.append(("cost", float(cost.group(1))))
        else:
            raise UsageError(f"--fail-on: unknown check '{item}'", f"use a comma-separated list of: {CHECKS}")
    return checks


def failed_checks(report: DiffReport, checks: list[tuple[str, float]]) -> list[str]:
    failed = []
    for check, percent in checks:
        if check == "breaking" and report.breaking:
            failed.append(f"breaking: {len(report.breaking)} breaking change(s)")
        if check == "budget":
            for row in report.cost:
                if row.limit is not None and (row.after is None or row.after > row.limit):
                    failed.append(f"budget: {row.pipeline} worst case {row.dimension} is above its budget ({row.limit:g})")
        if check == "cost":
            for row in report.cost:
                if row.dimension == "cost_usd" and row.before is not None and row.after is not None:
                    grew = (row.after - row.before) / row.before * 100 if row.before else (100.0 if row.after else 0)
                    if grew > percent:
                        failed.append(f"cost: {row.pipeline} worst-case USD +{grew:.0f}% (more than +{percent:g}%)")
    return failed
