"""`agentctl eval merge`: shard reports (`--shard i/n`) combined into the report of the whole
batch, rebuilt from their rows as a single batch's report is."""

from __future__ import annotations

from agentctl.errors import UsageError
from agentctl.evals import report as reporting

_SAME = ("eval", "pipeline", "data_sha256", "git_sha")
_WORST = ("interrupted", "budget_exceeded", "succeeded")


def merge(reports: list[tuple[str, dict]]) -> dict:
    """(name, report) of every shard; refuses reports of different evals, data or configuration,
    a shard given twice, and a set of shards that is not the whole."""
    if not reports:
        raise UsageError("no reports to merge", "agentctl eval merge shard1.json shard2.json -o report.json")
    first_name, first = reports[0]
    shards: dict[int, str] = {}
    for name, report in reports:
        for key in _SAME:
            if report.get(key) != first.get(key):
                raise UsageError(f"{name} and {first_name} differ in {key}: {report.get(key)} vs {first.get(key)}",
                                 "merge the shards of one eval, run on the same data and commit")
        config = {k: v for k, v in report["config"].items() if k != "shard"}
        if config != {k: v for k, v in first["config"].items() if k != "shard"}:
            raise UsageError(f"{name} and {first_name} were run with different eval settings")
        shard = report["config"].get("shard") or [1, 1]
        if shard[1] != (first["config"].get("shard") or [1, 1])[1]:
            raise UsageError(f"{name} is shard {shard[0]}/{shard[1]}, {first_name} is of another split")
        if shard[0] in shards:
            raise UsageError(f"{name} and {shards[shard[0]]} are both shard {shard[0]}/{shard[1]}")
        shards[shard[0]] = name
    total = (first["config"].get("shard") or [1, 1])[1]
    missing = sorted(set(range(1, total + 1)) - set(shards))
    if missing:
        raise UsageError(f"shard(s) {', '.join(f'{i}/{total}' for i in missing)} missing",
                         "give every shard's report, or compare shards one by one")
    rows = sorted((r for _, report in reports for r in report["rows"]), key=lambda r: (r["row_number"], r["attempt"]))
    statuses = [report["status"] for _, report in reports]
    head = {"id": "+".join(report["batch_id"] for _, report in reports),
            "status": next((s for s in _WORST if s in statuses), statuses[0]),
            "eval": first["eval"], "pipeline": first["pipeline"], "data_sha256": first["data_sha256"],
            "config": {**first["config"], "shard": None},
            "options": {"data": first["data"], "git_sha": first["git_sha"]}}
    return reporting.build(head, rows)
