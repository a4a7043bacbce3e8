"""Two eval reports side by side (`--baseline`, `eval compare A B`, `diff --eval`): pass-rate
deltas per check, rows that flipped (counting only rows that were stable in the baseline: a row
whose repeats disagreed there says nothing about the change), and cost and latency deltas."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from agentctl.errors import UsageError


def load_report(ref: str, root: str | Path | None = None) -> dict:
    """A report from a JSON file (`-o report.json`), or a batch id from the project's journal."""
    path = Path(ref)
    if path.is_file():
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read the report {ref}: {exc}", "a file written by `agentctl eval -o`") from None
        if not isinstance(report, dict) or report.get("version") != 1 or "rows" not in report:
            raise UsageError(f"{ref} is not an eval report (version 1)", "a file written by `agentctl eval -o`")
        return report
    if root is not None and (Path(root) / ".agentctl" / "journal.db").is_file() and not path.suffix:
        from agentctl import runs
        from agentctl.evals.report import from_journal

        journal = runs.journal_for(root, read_only=True)
        try:
            return from_journal(journal, ref)
        finally:
            journal.close()
    raise UsageError(f"{ref} does not exist", "a report written by `agentctl eval -o`, or a batch id")


def verdicts(report: dict) -> dict[str, tuple[bool, bool]]:
    """Per row: (passed, stable), passed when at least min_pass of its runs passed, stable when
    all its runs agreed."""
    runs: dict[str, list[bool]] = defaultdict(list)
    for row in report["rows"]:
        runs[row["row_id"]].append(bool(row["passed"]))
    need = report["config"]["min_pass"]
    return {rid: (sum(r) >= need, len(set(r)) == 1) for rid, r in runs.items()}


def compare(base: dict, head: dict) -> dict[str, Any]:
    before, after = verdicts(base), verdicts(head)
    common = [rid for rid in after if rid in before and before[rid][1]]
    checks = {}
    for name in dict.fromkeys([*base["checks"], *head["checks"]]):
        a, b = base["checks"].get(name, {}).get("rate"), head["checks"].get(name, {}).get("rate")
        checks[name] = {"base": a, "head": b, "delta": None if a is None or b is None else round(b - a, 4)}
    bt, ht = base["totals"], head["totals"]
    return {
        "base": {"batch_id": base["batch_id"], "git_sha": base.get("git_sha")},
        "head": {"batch_id": head["batch_id"], "git_sha": head.get("git_sha")},
        "pass_rate": _delta(bt["pass_rate"], ht["pass_rate"]),
        "checks": checks,
        "pass_to_fail": sorted(rid for rid in common if before[rid][0] and not after[rid][0]),
        "fail_to_pass": sorted(rid for rid in common if not before[rid][0] and after[rid][0]),
        "unstable_in_base": sum(1 for rid in after if rid in before and not before[rid][1]),
        "only_in_head": sum(1 for rid in after if rid not in before),
        "only_in_base": sum(1 for rid in before if rid not in after),
        "cost_usd": {k: _delta(bt["cost_usd"][k], ht["cost_usd"][k]) for k in ("sum", "mean", "p95")},
        "duration_s": {k: _delta(bt["duration_s"].get(k), ht["duration_s"].get(k)) for k in ("mean", "p95")},
    }


def _delta(a: float | None, b: float | None) -> dict[str, float | None]:
    return {"base": a, "head": b, "delta": None if a is None or b is None else round(b - a, 6)}


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _signed(delta: float | None, unit: str = "pp") -> str:
    if delta is None:
        return "n/a"
    return f"{delta * 100:+.1f} pp" if unit == "pp" else f"{delta:+.4f}{unit}"


def as_text(delta: dict) -> str:
    p = delta["pass_rate"]
    lines = [f"compared with batch {delta['base']['batch_id']}:",
             f"  pass rate {_rate(p['base'])} -> {_rate(p['head'])} ({_signed(p['delta'])})"]
    for name, c in delta["checks"].items():
        lines.append(f"  check {name}: {_rate(c['base'])} -> {_rate(c['head'])} ({_signed(c['delta'])})")
    lines.append(f"  flipped pass -> fail: {len(delta['pass_to_fail'])}"
                 + (f" ({', '.join(delta['pass_to_fail'][:20])})" if delta["pass_to_fail"] else ""))
    lines.append(f"  flipped fail -> pass: {len(delta['fail_to_pass'])}"
                 + (f" ({', '.join(delta['fail_to_pass'][:20])})" if delta["fail_to_pass"] else ""))
    if delta["unstable_in_base"]:
        lines.append(f"  not counted: {delta['unstable_in_base']} row(s) whose runs disagreed in the baseline")
    c, d = delta["cost_usd"], delta["duration_s"]
    lines.append(f"  cost ${c['sum']['base']:.4f} -> ${c['sum']['head']:.4f} ({_signed(c['sum']['delta'], ' USD')}); "
                 f"latency p95 {d['p95']['base'] or 0:.2f} s -> {d['p95']['head'] or 0:.2f} s "
                 f"({_signed(d['p95']['delta'], ' s')})")
    return "\n".join(lines)


def as_markdown(delta: dict) -> str:
    p, c, d = delta["pass_rate"], delta["cost_usd"], delta["duration_s"]
    lines = [f"#### Compared with the baseline (batch `{delta['base']['batch_id']}`)", "",
             "| | baseline | this change | delta |", "|---|---|---|---|",
             f"| pass rate | {_rate(p['base'])} | {_rate(p['head'])} | {_signed(p['delta'])} |"]
    for name, check in delta["checks"].items():
        lines.append(f"| check {name} | {_rate(check['base'])} | {_rate(check['head'])} | {_signed(check['delta'])} |")
    lines.append(f"| cost | ${c['sum']['base']:.4f} | ${c['sum']['head']:.4f} | {_signed(c['sum']['delta'], ' USD')} |")
    lines.append(f"| latency p95 | {d['p95']['base'] or 0:.2f} s | {d['p95']['head'] or 0:.2f} s | "
                 f"{_signed(d['p95']['delta'], ' s')} |")
    lines += ["", f"Flipped pass → fail: **{len(delta['pass_to_fail'])}**"
              + (f" ({', '.join(f'`{r}`' for r in delta['pass_to_fail'][:30])})" if delta["pass_to_fail"] else ""),
              f"Flipped fail → pass: **{len(delta['fail_to_pass'])}**"
              + (f" ({', '.join(f'`{r}`' for r in delta['fail_to_pass'][:30])})" if delta["fail_to_pass"] else "")]
    if delta["unstable_in_base"]:
        lines.append(f"({delta['unstable_in_base']} row(s) whose runs disagreed in the baseline are not counted)")
    return "\n".join(lines) + "\n"


def for_diff(text: str, fmt: str, head_ref: str, base_ref: str | None, root) -> str:
    """`agentctl diff --eval head.json [--eval-base base.json]`: the eval's summary, and with a base
    its comparison, added to the diff in the diff's format."""
    from agentctl.evals import report as reporting

    head = load_report(head_ref, root)
    delta = compare(load_report(base_ref, root), head) if base_ref else None
    if fmt == "json":
        document = json.loads(text)
        document["eval"] = {"batch_id": head["batch_id"], "totals": head["totals"], "checks": head["checks"],
                            "missed": head["missed"], "compare": delta}
        return json.dumps(document, indent=2)
    if fmt == "markdown":
        return "\n".join([text.rstrip("\n"), "", reporting.as_markdown(head).rstrip("\n")]
                         + ([as_markdown(delta).rstrip("\n")] if delta else [])) + "\n"
    if fmt == "github":
        lines = [text.rstrip("\n")] if text.strip() else []
        lines += [f"::error title=agentctl eval::threshold missed: {m}" for m in head["missed"]]
        if delta:
            lines += [f"::warning title=agentctl eval::row {rid} passed in the baseline and fails now"
                      for rid in delta["pass_to_fail"]]
        return "\n".join(lines) + "\n"
    return "\n".join([text.rstrip("\n"), "", reporting.as_text(head)] + ([as_text(delta)] if delta else [])) + "\n"
