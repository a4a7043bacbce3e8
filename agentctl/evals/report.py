"""An eval's report, built from the journal's batch rows: pass rates (overall and per check)
against the thresholds, errors, cost, tokens, time, and the failing rows with their reasons."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from typing import Any

from agentctl.evals.compile import CompiledEval

VERSION = 1


def build(compiled: CompiledEval, batch_id: str, status: str, rows: list[dict], data_sha256: str) -> dict[str, Any]:
    by_row: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_row[row["row_id"]].append(row)
    verdicts = {rid: sum(r["passed"] for r in runs) >= compiled.min_pass for rid, runs in by_row.items()}
    errors = [r for r in rows if r["status"] != "succeeded"]
    checks = {}
    for check in compiled.checks:
        applied = [r["checks"].get(check.name, {}) for r in rows if not r["checks"].get(check.name, {}).get("skipped")]
        applied = [a for a in applied if "passed" in a]
        checks[check.name] = {"passed": sum(a["passed"] for a in applied), "of": len(applied),
                              "rate": _rate(sum(a["passed"] for a in applied), len(applied)),
                              "threshold": compiled.thresholds.checks.get(check.name)}
    costs = [r["usage"].get("cost_usd", 0.0) for r in rows]
    totals = {"rows": len(by_row), "runs": len(rows), "passed": sum(verdicts.values()),
              "pass_rate": _rate(sum(verdicts.values()), len(by_row)), "errors": len(errors),
              "error_rate": _rate(len(errors), len(rows)),
              "cost_usd": {"sum": sum(costs), "mean": statistics.fmean(costs) if costs else 0.0, "p95": _p95(costs)},
              "tokens": sum(r["usage"].get("tokens", 0) for r in rows),
              "duration_s": {"sum": round(sum(r["duration_s"] or 0 for r in rows), 3),
                             "p95": _p95([r["duration_s"] or 0 for r in rows])}}
    report = {"version": VERSION, "batch_id": batch_id, "status": status, "eval": compiled.path,
              "pipeline": compiled.pipeline.path, "data": str(compiled.data), "data_sha256": data_sha256,
              "config": {"repeat": compiled.repeat, "min_pass": compiled.min_pass,
                         "concurrency": compiled.concurrency,
                         "thresholds": compiled.thresholds.model_dump(mode="json")},
              "git_sha": _git_sha(compiled.pipeline.root), "totals": totals, "checks": checks,
              "rows": [{k: r[k] for k in ("row_id", "attempt", "row_number", "run_id", "status", "passed", "checks",
                                          "error", "usage", "duration_s")} for r in rows]}
    report["missed"] = missed(compiled, report)
    return report


def missed(compiled: CompiledEval, report: dict) -> list[str]:
    thresholds, out = compiled.thresholds, []
    totals = report["totals"]
    if thresholds.pass_rate is not None and (totals["pass_rate"] or 0) < thresholds.pass_rate:
        out.append(f"pass rate {totals['pass_rate']:.1%} is below {thresholds.pass_rate:.1%}")
    for name, minimum in thresholds.checks.items():
        rate = report["checks"][name]["rate"]
        if rate is not None and rate < minimum:
            out.append(f"check '{name}' passes {rate:.1%}, below {minimum:.1%}")
    return out


def error_rate_exceeded(compiled: CompiledEval, report: dict) -> bool:
    limit = compiled.thresholds.max_error_rate
    return limit is not None and (report["totals"]["error_rate"] or 0) > limit


def as_text(report: dict) -> str:
    t = report["totals"]
    lines = [f"eval {report['eval']} (batch {report['batch_id']}): {report['status']}",
             f"  rows: {t['rows']} ({t['runs']} runs), passed {t['passed']} ({_pct(t['pass_rate'])}), "
             f"errors {t['errors']} ({_pct(t['error_rate'])})"]
    for name, c in report["checks"].items():
        bar = f" (threshold {c['threshold']:.0%})" if c["threshold"] is not None else ""
        lines.append(f"  check {name}: {c['passed']}/{c['of']} ({_pct(c['rate'])}){bar}")
    cost = t["cost_usd"]
    lines.append(f"  cost ${cost['sum']:.4f} (mean ${cost['mean']:.4f}, p95 ${cost['p95']:.4f}), "
                 f"{t['tokens']:,} tokens, {t['duration_s']['sum']:.1f} s of runs")
    failing = [r for r in report["rows"] if not r["passed"]]
    if failing:
        lines.append("  failing rows:")
        for r in failing[:50]:
            reasons = r["error"] or "; ".join(f"{n}: {c.get('reason', 'failed')}" for n, c in r["checks"].items()
                                               if c.get("passed") is False)
            lines.append(f"    row {r['row_number']} ({r['row_id']}, run {r['run_id'] or '-'}): {r['status']}: {reasons}")
        if len(failing) > 50:
            lines.append(f"    ... and {len(failing) - 50} more (see -o report.json)")
    for problem in report["missed"]:
        lines.append(f"  threshold missed: {problem}")
    return "\n".join(lines)


def as_json(report: dict) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n"


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _pct(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.1%}"


def _p95(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def _git_sha(root: str) -> str | None:
    import subprocess

    try:
        done = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def as_junit(report: dict) -> str:
    """One testcase per row run (classname: the eval, name: the row id and attempt); a failed
    check is a <failure>, a run that did not succeed an <error>."""
    from xml.etree import ElementTree as ET

    rows = report["rows"]
    errors = [r for r in rows if r["status"] != "succeeded"]
    failures = [r for r in rows if r["status"] == "succeeded" and not r["passed"]]
    suite = ET.Element("testsuite", name=report["eval"], tests=str(len(rows)), failures=str(len(failures)),
                       errors=str(len(errors)), skipped="0", time=f"{report['totals']['duration_s']['sum']:.3f}")
    for r in rows:
        name = r["row_id"] if report["config"]["repeat"] == 1 else f"{r['row_id']}#{r['attempt'] + 1}"
        case = ET.SubElement(suite, "testcase", classname=report["eval"], name=name, time=f"{r['duration_s'] or 0:.3f}")
        if r["status"] != "succeeded":
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
