"""Options shared by several commands (run, resume, eval), declared once."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from agentctl.errors import UsageError

JsonFlag = Annotated[bool, typer.Option("--json", help="Print a machine-readable result.")]
Concurrency = Annotated[int, typer.Option("--concurrency", min=1, max=1000, help="Most steps running at once.")]
Replay = Annotated[Optional[str], typer.Option("--replay", help="Serve model calls from this cassette (offline).")]
Record = Annotated[Optional[str], typer.Option("--record", help="Record model calls to this cassette.")]
ApproveAll = Annotated[bool, typer.Option("--approve", help="Approve every approval gate.")]
DenyAll = Annotated[bool, typer.Option("--deny", help="Deny every approval gate.")]
NoLive = Annotated[bool, typer.Option("--no-live", help="One line per event instead of the live table.")]
Events = Annotated[Optional[str], typer.Option("--events", help="Write a JSON line per event to FILE (- for stdout).")]
TraceContent = Annotated[bool, typer.Option("--trace-content", help="Record prompts and completions (redacted).")]
OtlpEndpoint = Annotated[Optional[str], typer.Option("--otlp-endpoint", help="Send the trace to this collector.")]
Role = Annotated[Optional[str], typer.Option("--role", envvar="AGENTCTL_ROLE", show_envvar=True,
                                            help="Who runs it, for the pipeline's policy (recorded with the run).")]
ReportJson = Annotated[Optional[str], typer.Option("--output", "-o", help="Write the report (JSON) to this file.")]
Junit = Annotated[Optional[str], typer.Option("--junit", help="Write a JUnit XML file: one testcase per row.")]
ReportFormat = Annotated[str, typer.Option("--format", "-f", help="text, markdown (a PR comment) or json.")]
Baseline = Annotated[Optional[str], typer.Option("--baseline", help="Compare with this report (JSON file or "
                                                 "batch id): pass-rate deltas, flipped rows, cost and latency.")]


def decision(approve: bool, deny: bool) -> bool | None:
    if approve and deny:
        raise UsageError("--approve and --deny cannot be used together")
    return True if approve else False if deny else None
