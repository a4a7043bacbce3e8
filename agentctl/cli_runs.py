"""`agentctl runs list` and `agentctl runs show` (with --audit): the run journal."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from agentctl import completion
from agentctl.cli_options import JsonFlag
from agentctl.errors import RUN_STATUSES

runs_app = typer.Typer(help="The run journal.", no_args_is_help=True)

RunStatus = Enum("RunStatus", {name: name for name in RUN_STATUSES}, type=str)


@runs_app.command("list", epilog="Example:  agentctl runs list --pipeline travel-planner --status failed")
def runs_list(pipeline: Optional[str] = typer.Option(None, "--pipeline", help="Only this pipeline."),
              status: Optional[RunStatus] = typer.Option(None, "--status", help="Only runs with this status."),
              limit: int = typer.Option(50, "--limit", min=1, help="At most this many, newest first."),
              json_output: JsonFlag = False) -> None:
    """List runs, newest first."""
    from agentctl import console, run_display, runs
    from agentctl.compile.project import find_root

    root = find_root(Path.cwd())
    wanted = {"--pipeline": pipeline, "--status": status.value if status else None}  # named when none match
    rows = runs.list_runs(root, *wanted.values(), limit)
    if json_output:
        console.print_plain(run_display.runs_json(rows or []))
    elif rows is None:
        console.print_info(f"no runs recorded in {root}")
    elif not rows and any(wanted.values()):
        console.print_info("no runs match " + " and ".join(f"{option} {value}" for option, value in wanted.items()
                                                           if value))
    else:
        console.print_plain(run_display.runs_table(rows))


@runs_app.command("show", epilog="Example:  agentctl runs show 3f2a9c1b7d4e")
def runs_show(run_id: str = typer.Argument(..., help="The run.", autocompletion=completion.run_ids),
              json_output: JsonFlag = False,
              audit: bool = typer.Option(False, "--audit", help="Every permission decision: allowed, asked, "
                                         "answered by whom, denied, refused.")) -> None:
    """A run's steps, usage, outputs and errors (or, with --audit, its permission decisions)."""
    from agentctl import console, run_display, runs
    from agentctl.compile.project import find_root

    if audit:
        console.print_plain(runs.audit_text(find_root(Path.cwd()), run_id, json_output))
        return
    record = runs.show_run(find_root(Path.cwd()), run_id)
    if json_output:
        console.print_plain(run_display.run_json(record))
    else:
        console.print_plain(run_display.run_details(record.row, record.steps, record.pending, record.items))
