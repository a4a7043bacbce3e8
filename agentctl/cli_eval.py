"""`agentctl eval`: run an eval file (the default command: `agentctl eval FILE`), and the batch
commands `eval show`, `eval compare` and `eval merge`."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typer.core import TyperGroup

from agentctl import completion

from agentctl.cli_options import (ApproveAll, Baseline, DenyAll, Junit, NoLive, OtlpEndpoint, Record, Replay, Role,
                                  ReportFormat, ReportJson, decision)


class RunByDefault(TyperGroup):
    """`agentctl eval FILE ...` is `agentctl eval run FILE ...`: a first argument that is not a
    subcommand is the eval file."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)

    def shell_complete(self, ctx, incomplete: str):
        """Subcommand names, and the eval files `agentctl eval FILE` takes."""
        from typer._click.shell_completion import CompletionItem

        return [*super().shell_complete(ctx, incomplete), *(CompletionItem(p) for p in completion.evals(incomplete))]


eval_app = typer.Typer(cls=RunByDefault, no_args_is_help=True, context_settings={"help_option_names": ["-h", "--help"]},
                       help="Run a pipeline over a dataset, check every row, report against the thresholds.\n\n"
                            "agentctl eval FILE runs an eval file (same as agentctl eval run FILE).")


def _finish(outcome) -> None:
    from agentctl import console

    console.print_plain(outcome.text)
    raise typer.Exit(outcome.exit_code)


@eval_app.command("run", epilog="Examples:  agentctl eval evals/smoke.eval.yaml --dry-run  ·  "
                                "agentctl eval evals/smoke.eval.yaml -o report.json --baseline main.json")
def run(
    path: str = typer.Argument(..., help="The eval file (evals/*.eval.yaml).", autocompletion=completion.evals),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check every row's inputs and the batch's worst case; "
                                 "run nothing."),
    output: ReportJson = None,
    junit: Junit = None,
    format: ReportFormat = "text",
    baseline: Baseline = None,
    shard: Optional[str] = typer.Option(None, "--shard", help="Run shard i of n (by a stable hash of each row id), "
                                        "e.g. 2/4; combine with `agentctl eval merge`."),
    cache: Optional[str] = typer.Option(None, "--cache", help="Keep answers in this folder and reuse them "
                                        "(errors are never cached)."),
    replay: Replay = None,
    record: Record = None,
    approve: ApproveAll = False,
    deny: DenyAll = False,
    otlp_endpoint: OtlpEndpoint = None,
    role: Role = None,
    workers: Optional[int] = typer.Option(None, "--workers", min=1, max=256, help="Run the rows on a local Dask "
                                          "cluster of N worker processes (pip install 'agentctl[cluster]')."),
    cluster: Optional[str] = typer.Option(None, "--cluster", help="Run the rows on the Dask scheduler at this "
                                          "address, e.g. tcp://10.0.0.5:8786."),
    chunk_rows: int = typer.Option(500, "--chunk-rows", min=1, max=100_000, help="Rows per chunk on a cluster."),
    no_live: NoLive = False,
) -> None:
    """Run an eval file: every row as a journaled run, checked, reported from the journal."""
    from agentctl.evals import command

    outputs = command.Outputs(output, junit, command.report_format(format), baseline, False if no_live else None)
    options = command.Options(replay, record, cache, decision(approve, deny), command.parse_shard(shard), outputs,
                              otlp_endpoint, role, workers, cluster, chunk_rows)
    options.check_cluster()
    compiled = command.load(path)
    _finish(command.dry_run(compiled) if dry_run else command.run(compiled, options))


@eval_app.command("show", epilog="Examples:  agentctl eval show 3f2a9c1b7d4e --failed  ·  "
                                 "agentctl eval show 3f2a9c1b7d4e -o report.json --junit junit.xml")
def show(
    batch_id: str = typer.Argument(..., help="The batch (printed by `agentctl eval`).",
                                   autocompletion=completion.batch_ids),
    failed: bool = typer.Option(False, "--failed", help="Only the rows that did not pass."),
    output: ReportJson = None,
    junit: Junit = None,
    format: ReportFormat = "text",
) -> None:
    """A recorded batch's report, rebuilt from the journal."""
    from agentctl.compile.project import find_root
    from agentctl.evals import command, show as showing

    _finish(showing.show(batch_id, find_root(Path.cwd()), failed, output, junit, command.report_format(format)))


@eval_app.command("compare", epilog="Example:  agentctl eval compare main.json head.json -f markdown")
def compare(
    base: str = typer.Argument(..., help="The baseline: a report (JSON) or a batch id."),
    head: str = typer.Argument(..., help="The change: a report (JSON) or a batch id."),
    format: ReportFormat = "text",
) -> None:
    """Pass-rate deltas per check, rows that flipped, cost and latency deltas between two reports."""
    import json

    from agentctl import console
    from agentctl.compile.project import find_root
    from agentctl.evals import command, compare as comparing

    fmt = command.report_format(format)
    root = find_root(Path.cwd())
    delta = comparing.compare(comparing.load_report(base, root), comparing.load_report(head, root))
    text = (json.dumps(delta, indent=2) if fmt == "json" else
            comparing.as_markdown(delta) if fmt == "markdown" else comparing.as_text(delta))
    console.print_plain(text.rstrip("\n"))


@eval_app.command("merge", epilog="Example:  agentctl eval merge shard-*.json -o report.json --junit junit.xml")
def merge(
    reports: List[str] = typer.Argument(..., help="Every shard's report (JSON)."),
    output: ReportJson = None,
    junit: Junit = None,
    format: ReportFormat = "text",
) -> None:
    """Shard reports (`--shard i/n`) combined into the report of the whole batch."""
    from agentctl.compile.project import find_root
    from agentctl.evals import command, compare as comparing, merge as merging
    from agentctl.record.redact import Redactor

    root = find_root(Path.cwd())
    report = merging.merge([(name, comparing.load_report(name, root)) for name in reports])
    _finish(command.outcome_of(report, report["status"], command.Outputs(output, junit, command.report_format(format)), Redactor(())))
