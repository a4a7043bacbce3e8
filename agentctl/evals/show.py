"""`agentctl eval show BATCH_ID`: a recorded batch's report, rebuilt from the journal (read only),
with its exit code as the batch would have ended now."""

from __future__ import annotations

from pathlib import Path

from agentctl.evals.command import EvalOutcome, Outputs, exit_code, write_files


def show(batch_id: str, root: Path, failed: bool, output: str | None, junit: str | None, fmt: str) -> EvalOutcome:
    from agentctl import runs
    from agentctl.evals import report as reporting
    from agentctl.record.redact import Redactor

    journal = runs.journal_for(root, create=False, read_only=True)
    try:
        report = reporting.from_journal(journal, batch_id)
    finally:
        journal.close()
    write_files(report, Outputs(output, junit), Redactor(()))  # the journal holds rows already masked
    shown = {**report, "rows": [r for r in report["rows"] if not r["passed"]]} if failed else report
    if fmt == "json":
        text = reporting.as_json(shown).rstrip("\n")
    elif fmt == "markdown":
        text = reporting.as_markdown(shown)
    else:
        text = reporting.as_text(shown, all_rows=failed)
    status = report["status"]
    if status in ("running", "interrupted"):
        if fmt != "json":
            text += f"\n  not finished: continue with `agentctl resume {batch_id}`"
        status = "interrupted"
    return EvalOutcome(text, exit_code(report, status), report)
