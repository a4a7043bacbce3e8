"""Every permission decision of a run, from the journal (`agentctl runs show --audit RUN`): tool
calls that ran (allowed), approvals asked and who answered them, and calls refused before they
ran (a precondition, a bound argument, a tool the agent was not given). JSON version 1."""

from __future__ import annotations

import json
import time
from typing import Any

VERSION = 1


def record_refusal(journal, run_id: str, step: str, tool: str, reason: str) -> None:
    journal.write("INSERT INTO refusals (run_id, step, tool, reason, at) VALUES (?, ?, ?, ?, ?)",
                   (run_id, step, tool, journal.as_text(reason), time.time()))


def decisions(journal, run_id: str) -> list[dict[str, Any]]:
    calls = [dict(r) for r in journal.db.execute("SELECT * FROM tool_calls WHERE run_id = ?", (run_id,))]
    found = [{"decision": "allowed" if r["status"] != "failed" else "allowed (failed)", "step": r["step"],
              "tool": r["tool"], "by": r["allowed_by"] or "tool permission", "detail": f"call {r['key']}",
              "at": r["at"]} for r in calls]
    tool_of = {r["key"]: r["tool"] for r in calls}
    for r in journal.db.execute("SELECT * FROM approvals WHERE run_id = ?", (run_id,)):
        decision = {"approved": "approved", "denied": "denied"}.get(r["decision"] or "", "asked (pending)")
        subject = r["subject"] or ""  # a tool call's key (/role for a second approver), or empty for a step
        asked_for = json.loads(r["context"] or "{}")
        tool = tool_of.get(subject.split("/")[0]) or (asked_for.get("tool") if isinstance(asked_for, dict) else None)
        found.append({"decision": decision, "step": r["step"], "tool": tool,
                      "by": r["decided_by"] or r["approver"],
                      "detail": (r["message"] or "") + (f" (call {subject})" if subject else ""), "at": r["at"]})
    found += [{"decision": "refused", "step": r["step"], "tool": r["tool"], "by": "agentctl", "detail": r["reason"],
               "at": r["at"]} for r in journal.db.execute("SELECT * FROM refusals WHERE run_id = ?", (run_id,))]
    return sorted(found, key=lambda d: d["at"] or 0.0)


def as_text(run_id: str, found: list[dict]) -> str:
    if not found:
        return f"run {run_id}: no permission decisions (no tool call, approval or refusal)"
    lines = [f"run {run_id}: {len(found)} permission decision(s)",
             f"  {'when':<20}{'decision':<18}{'step':<16}{'tool':<18}by / why"]
    for d in found:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(d["at"])) if d["at"] else "-"
        lines.append(f"  {when:<20}{d['decision']:<18}{d['step'] or '-':<16}{d['tool'] or '-':<18}"
                     f"{d['by'] or '-'}: {d['detail']}")
    return "\n".join(lines)


def as_json(run_id: str, found: list[dict]) -> str:
    return json.dumps({"version": VERSION, "run_id": run_id, "decisions": found}, indent=2, ensure_ascii=False)
