"""An eval's report, built from the journal's batch rows: pass rates (overall and per check)
against the thresholds, errors, cost, tokens, time, and the failing rows with their reasons."""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from typing import Any

from agentctl.evals.compile import CompiledEval

VERSION = 1


def config_of(compiled: CompiledEval, shard: tuple[int, int] | None = None) -> dict[str, Any]:
    """What a report needs of the eval file, stored with the batch: `eval show`, `merge` and a
    resume report a batch as it was configured, whatever the file says now."""
    return {"repeat": compiled.repeat, "min_pass": compiled.min_pass, "concurrency": compiled.concurrency,
            "checks": [c.name for c in compiled.checks], "metrics": [m.name for m in compiled.metrics],
            "thresholds": compiled.thresholds.model_dump(mode="json"),
            "shard": list(shard) if shard else None}


def from_journal(journal, batch_id: str) -> dict[str, Any]:
    from agentctl.record.batches import batch, batch_rows

    head = batch(journal, batch_id)
    return build(head, batch_rows(journal, batch_id))


def build(head: dict, rows: list[dict]) -> dict[str, Any]:
    """The report of a batch (`head`: its journal record) from its finished rows."""
    config, options = head["config"], head["options"]
    by_row: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_row[row["row_id"]].append(row)
    verdicts = {rid: sum(r["passed"] for r in runs) >= config["min_pass"] for rid, runs in by_row.items()}
    errors = [r for r in rows if r["error"] is not None]
    checks = {}
    for name in config["checks"]:
        applied = [r["checks"].get(name, {}) for r in rows]
        applied = [a for a in applied if "passed" in a and not a.get("skipped")]
        passed = sum(a["passed"] for a in applied)
        checks[name] = {"passed": passed, "of": len(applied), "rate": _rate(passed, len(applied)),
                        "threshold": config["thresholds"]["checks"].get(name)}
    costs = [r["usage"].get("cost_usd", 0.0) for r in rows]
    durations = [r["duration_s"] or 0 for r in rows]
    totals = {"rows": len(by_row), "runs": len(rows), "passed": sum(verdicts.values()),
              "pass_rate": _rate(sum(verdicts.values()), len(by_row)), "errors": len(errors),
              "error_rate": _rate(len(errors), len(rows)),
              "cost_usd": {"sum": sum(costs), "mean": statistics.fmean(costs) if costs else 0.0,
                           "p95": aggregate(costs)["p95"] or 0.0},
              "tokens": sum(r["usage"].get("tokens", 0) for r in rows),
              "duration_s": {"sum": round(sum(durations), 3), "mean": statistics.fmean(durations) if durations else 0.0,
                             "p95": aggregate(durations)["p95"] or 0.0}}
    report = {"version": VERSION, "batch_id": head["id"], "status": head["status"], "eval": head["eval"],
              "pipeline": head["pipeline"], "data": options.get("data"), "data_sha256": head["data_sha256"],
              "config": config, "git_sha": options.get("git_sha"), "totals": totals, "checks": checks,
              "metrics": metrics_of(config, rows), "rows": [_row(r) for r in rows]}
    report["missed"] = missed(report)
    return report


ROW_FIELDS = ("row_id", "attempt", "row_number", "run_id", "status", "passed", "checks", "metrics", "error", "usage",
              "duration_s")
BUILTIN = {"cost_usd": lambda r: r["usage"].get("cost_usd", 0.0), "tokens": lambda r: r["usage"].get("tokens", 0),
           "llm_calls": lambda r: r["usage"].get("llm_calls", 0), "duration_s": lambda r: r["duration_s"] or 0.0}


def _row(row: dict) -> dict:
    """The row as the report lists it: the same dict when it is already in that shape (a report of
    100,000 rows held each row twice otherwise)."""
    if len(row) == len(ROW_FIELDS) and all(k in row for k in ROW_FIELDS):
        return row
    return {k: row.get(k) for k in ROW_FIELDS}


def metrics_of(config: dict, rows: list[dict]) -> dict[str, dict]:
    """Every metric aggregated over the runs that measured it: the eval's own, then the built-in
    ones (cost, tokens, model calls, duration per run)."""
    out = {}
    for name in config.get("metrics", []):
        out[name] = aggregate([v for r in rows if (v := (r.get("metrics") or {}).get(name)) is not None])
    for name, read in BUILTIN.items():
        out[name] = aggregate([read(r) for r in rows])
    return out


def aggregate(values: list[float]) -> dict[str, float | int | None]:
    """mean, p50, p95 (nearest rank), min, max, sum; None for each when nothing was measured."""
    if not values:
        return {"of": 0, **dict.fromkeys(("mean", "p50", "p95", "min", "max", "sum"))}
    ordered = sorted(values)

    def rank(q: float):
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]
    return {"of": len(values), "mean": round(statistics.fmean(values), 6), "p50": rank(0.5), "p95": rank(0.95),
            "min": ordered[0], "max": ordered[-1], "sum": round(sum(values), 6)}


def missed(report: dict) -> list[str]:
    thresholds, totals, out = report["config"]["thresholds"], report["totals"], []
    if thresholds.get("pass_rate") is not None and (totals["pass_rate"] or 0) < thresholds["pass_rate"]:
        out.append(f"pass rate {_pct(totals['pass_rate'])} is below {thresholds['pass_rate']:.1%}")
    for name, minimum in thresholds.get("checks", {}).items():
        rate = report["checks"].get(name, {}).get("rate")
        if rate is not None and rate < minimum:
            out.append(f"check '{name}' passes {rate:.1%}, below {minimum:.1%}")
    for name, maxima in thresholds.get("metrics", {}).items():
        for how, maximum in maxima.items():
            value = report["metrics"].get(name, {}).get(how)
            if value is not None and value > maximum:
                out.append(f"metric '{name}' {how} {value:g} is above {maximum:g}")
    return out


def error_rate_exceeded(report: dict) -> bool:
    limit = report["config"]["thresholds"].get("max_error_rate")
    return limit is not None and (report["totals"]["error_rate"] or 0) > limit


def as_text(report: dict, all_rows: bool = False) -> str:
    t = report["totals"]
    lines = [f"eval {report['eval']} (batch {report['batch_id']}): {report['status']}",
             f"  rows: {t['rows']} ({t['runs']} runs), passed {t['passed']} ({_pct(t['pass_rate'])}), "
             f"errors {t['errors']} ({_pct(t['error_rate'])})"]
    for name, c in report["checks"].items():
        bar = f" (threshold {c['threshold']:.0%})" if c["threshold"] is not None else ""
        lines.append(f"  check {name}: {c['passed']}/{c['of']} ({_pct(c['rate'])}){bar}")
    for name in report["config"].get("metrics", []):
        lines.append(f"  metric {name}: {_aggregates(report['metrics'][name])}")
    cost = t["cost_usd"]
    lines.append(f"  cost ${cost['sum']:.4f} (mean ${cost['mean']:.4f}, p95 ${cost['p95']:.4f}), "
                 f"{t['tokens']:,} tokens, {t['duration_s']['sum']:.1f} s of runs")
    failing = [r for r in report["rows"] if not r["passed"]]
    if failing:
        lines.append("  failing rows:")
        shown = failing if all_rows else failing[:50]
        for r in shown:
            reasons = r["error"] or "; ".join(f"{n}: {c.get('reason', 'failed')}" for n, c in r["checks"].items()
                                               if c.get("passed") is False)
            lines.append(f"    row {r['row_number']} ({r['row_id']}, run {r['run_id'] or '-'}): {r['status']}: {reasons}")
        if len(failing) > len(shown):
            lines.append(f"    ... and {len(failing) - 50} more (see -o report.json)")
    for problem in report["missed"]:
        lines.append(f"  threshold missed: {problem}")
    if error_rate_exceeded(report):
        lines.append(f"  error rate {_pct(t['error_rate'])} is above max_error_rate "
                     f"{report['config']['thresholds']['max_error_rate']:.1%}: the results are not trusted")
    return "\n".join(lines)


def _aggregates(values: dict) -> str:
    if not values["of"]:
        return "not measured"
    return ", ".join(f"{how} {values[how]:g}" for how in ("mean", "p50", "p95", "min", "max")) + f" (of {values['of']})"


def as_json(report: dict) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n"


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _pct(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.1%}"


def git_sha(root: str) -> str | None:
    import subprocess

    try:
        done = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def as_junit(report: dict) -> str:
    """One testcase per row run (classname: the eval, name: the row id and attempt); a failed
    check is a <failure>, a run that did not end as expected an <error>."""
    from xml.etree import ElementTree as ET

    rows = report["rows"]
    errors = [r for r in rows if r["error"] is not None]
    failures = [r for r in rows if r["error"] is None and not r["passed"]]
    suite = ET.Element("testsuite", name=report["eval"], tests=str(len(rows)), failures=str(len(failures)),
                       errors=str(len(errors)), skipped="0", time=f"{report['totals']['duration_s']['sum']:.3f}")
    for r in rows:
        name = r["row_id"] if report["config"]["repeat"] == 1 else f"{r['row_id']}#{r['attempt'] + 1}"
        case = ET.SubElement(suite, "testcase", classname=report["eval"], name=name, time=f"{r['duration_s'] or 0:.3f}")
        if r["error"] is not None:
            ET.SubElement(case, "error", message=f"{r['status']}: {r['error'] or ''}"[:1000], type=r["status"])
        elif not r["passed"]:
            reasons = "; ".join(f"{n}: {c.get('reason', 'failed')}" for n, c in r["checks"].items()
                                if c.get("passed") is False)
            ET.SubElement(case, "failure", message=reasons[:1000], type="check")
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


def as_markdown(report: dict) -> str:
    t = report["totals"]
    lines = [f"### agentctl eval `{report['eval']}`: {'thresholds met' if not report['missed'] else 'thresholds missed'}",
             "", f"{t['rows']} rows, {t['passed']} passed ({_pct(t['pass_rate'])}), {t['errors']} errors; "
             f"cost ${t['cost_usd']['sum']:.4f}, {t['tokens']:,} tokens", "",
             "| check | passed | rate | threshold |", "|---|---|---|---|"]
    for name, c in report["checks"].items():
        threshold = "" if c["threshold"] is None else f"{c['threshold']:.0%}"
        lines.append(f"| {name} | {c['passed']}/{c['of']} | {_pct(c['rate'])} | {threshold} |")
    for name in report["config"].get("metrics", []):
        lines.append(f"\nmetric {name}: {_aggregates(report['metrics'][name])}")
    failing = [r for r in report["rows"] if not r["passed"]]
    if failing:
        lines += ["", "<details><summary>failing rows</summary>", "", "| row | status | why |", "|---|---|---|"]
        for r in failing[:100]:
            why = r["error"] or "; ".join(f"{n}: {c.get('reason', 'failed')}" for n, c in r["checks"].items()
                                          if c.get("passed") is False)
            lines.append(f"| {r['row_id']} | {r['status']} | {str(why).replace('|', '/')[:200]} |")
        lines += ["", "</details>"]
    lines += [f"- threshold missed: {m}" for m in report["missed"]]
    return "\n".join(lines) + "\n"
