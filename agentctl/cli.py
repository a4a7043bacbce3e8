"""Command-line entry point: parse arguments, call api, hand results to console.

Exit codes are a contract (errors.py): 0 success, 1 failed run or invalid spec, 2 usage error,
3 budget exceeded, 4 paused for approval, 130 interrupted.
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from agentctl import __version__
from agentctl.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, AgentctlError, UsageError

app = typer.Typer(
    name="agentctl",
    help="Compile declarative YAML pipelines and Jinja prompts into a checked graph of LLM agents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class DiagnosticFormat(str, Enum):
    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"


class GraphFormat(str, Enum):
    tree = "tree"
    mermaid = "mermaid"
    dot = "dot"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"agentctl {__version__}")
        raise typer.Exit()


@app.callback()
def root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit.")) -> None:
    """agentctl: declarative, checked, budgeted LLM pipelines."""


@app.command(epilog="Examples:  agentctl validate  ·  agentctl validate pipelines/ --format github --strict")
def validate(
    paths: Optional[List[str]] = typer.Argument(None, help="Pipeline (.yaml) and prompt (.prompt) files or "
                                                "folders. Default: the project's pipelines/ and prompts/."),
    format: DiagnosticFormat = typer.Option(DiagnosticFormat.text, "--format", "-f", help="Output format."),
    strict: bool = typer.Option(False, "--strict", help="Fail on warnings too."),
) -> None:
    """Check pipelines and prompts without calling any model: exit 0 clean, 1 on errors."""
    from agentctl import api, console, report

    result = api.validate(paths or None)
    if format is DiagnosticFormat.text:
        console.print_diagnostics(result.diagnostics, result.files)
    elif format is DiagnosticFormat.json:
        console.print_plain(report.to_json(result.diagnostics, result.files))
    elif format is DiagnosticFormat.github:
        console.print_plain(report.to_github(result.diagnostics) or "")
    else:
        console.print_plain(report.to_sarif(result.diagnostics))
    failed = result.errors > 0 or (strict and result.warnings > 0)
    raise typer.Exit(EXIT_FAILED if failed else EXIT_OK)


@app.command(epilog="Examples:  agentctl graph pipelines/travel.yaml  ·  agentctl graph pipelines/travel.yaml -f mermaid")
def graph(
    pipeline: str = typer.Argument(..., help="The pipeline file."),
    format: GraphFormat = typer.Option(GraphFormat.tree, "--format", "-f", help="Output format."),
) -> None:
    """Show the compiled graph with worst-case bounds per step and for the run."""
    from agentctl import api, console
    from agentctl.graph_render import RENDERERS

    compiled, result = api.compile_file(pipeline)
    if compiled is None:
        console.print_diagnostics(result.diagnostics, result.files)
        raise typer.Exit(EXIT_FAILED)
    console.print_plain(RENDERERS[format.value](compiled))


@app.command(epilog="Examples:  agentctl schema  ·  agentctl schema --check   (exit 1 when stale)")
def schema(
    directory: Path = typer.Option(Path("schemas"), "--dir", help="Where to write the schemas."),
    check: bool = typer.Option(False, "--check", help="Write nothing; exit 1 if the files are stale."),
) -> None:
    """Write schemas/pipeline.schema.json and schemas/prompt.schema.json for editors."""
    from agentctl import api, console

    stale = api.write_schemas(directory, check=check)
    if check:
        for path in stale:
            console.print_info(f"stale: {path} (run `agentctl schema`)")
        raise typer.Exit(EXIT_FAILED if stale else EXIT_OK)
    console.print_info(f"wrote {directory / 'pipeline.schema.json'} and {directory / 'prompt.schema.json'}")


@app.command(epilog="Example:  agentctl init my-agents && cd my-agents && agentctl validate")
def init(directory: Path = typer.Argument(..., help="The new project's folder (created; must be empty).")) -> None:
    """Start a new project that validates clean."""
    from agentctl import console, scaffold

    written = scaffold.init_project(directory)
    console.print_info(f"created {len(written)} files in {directory}; next: cd {directory} && agentctl validate")


@app.command(epilog="Example:  agentctl lock   (after bumping a prompt's version)")
def lock(force: bool = typer.Option(False, "--force", help="Re-record versions whose text changed.")) -> None:
    """Record the content hash of every prompt version in agentctl.lock."""
    from agentctl import api, console

    result = api.lock_prompts(force=force)
    added = ", ".join(result.added) if result.added else "nothing new"
    console.print_info(f"{result.path}: recorded {added}; {result.unchanged} unchanged")


@app.command(epilog="Examples:  agentctl run pipelines/article_review.yaml -i topic=idempotency "
                        "--replay pipelines/cassettes/article_review.json  ·  agentctl run p.yaml --input-file in.yaml --json")
def run(
    pipeline: str = typer.Argument(..., help="The pipeline file."),
    inputs: Optional[List[str]] = typer.Option(None, "--input", "-i", help="An input as name=value (repeatable)."),
    input_file: Optional[str] = typer.Option(None, "--input-file", help="A YAML or JSON file of inputs."),
    json_output: bool = typer.Option(False, "--json", help="Print a machine-readable result."),
    concurrency: int = typer.Option(8, "--concurrency", min=1, max=1000, help="Most steps running at once."),
    record: Optional[str] = typer.Option(None, "--record", help="Record every model call to this cassette."),
    replay: Optional[str] = typer.Option(None, "--replay", help="Serve model calls from this cassette (offline)."),
    approve: bool = typer.Option(False, "--approve", help="Approve every approval gate."),
    deny: bool = typer.Option(False, "--deny", help="Deny every approval gate."),
) -> None:
    """Run a pipeline: live progress, then a summary. Exit 0 ok, 1 failed, 3 budget, 4 paused, 130 Ctrl-C."""
    from agentctl import api, console, run_display
    from agentctl.run.approvals import FixedApprover, PromptApprover
    from agentctl.run.events import EventBus

    if approve and deny:
        raise UsageError("--approve and --deny cannot be used together")
    decision = True if approve else False if deny else None
    options = api.RunOptions(inputs or [], input_file, concurrency, record, replay, decision)
    compiled, checked, values, tools, model = api.prepare_run(pipeline, options)
    if compiled is None:
        console.print_diagnostics(checked.diagnostics, checked.files)
        raise typer.Exit(EXIT_FAILED)
    events = EventBus()
    with run_display.RunDisplay(compiled) as display:
        events.subscribe(display)
        if decision is None and sys.stdin.isatty():
            approver = PromptApprover(display.paused(run_display.ask_approval))
        else:
            approver = FixedApprover(decision)
        result = api.execute(compiled, model, values, tools, approver, events, concurrency)
    if json_output:
        console.print_plain(run_display.result_json(result))
    else:
        console.print_plain(run_display.summary_text(result, compiled))
    raise typer.Exit(result.exit_code)


def main() -> None:
    """The one boundary that maps errors to exit codes; bad input never shows a traceback.

    typer (which vendors its own click) reports usage errors itself, with exit code 2.
    """
    try:
        app()
    except AgentctlError as exc:
        from agentctl import console

        console.print_error(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if os.environ.get("AGENTCTL_DEBUG"):
            raise
        from agentctl import console

        console.print_internal_error(exc)
        sys.exit(EXIT_FAILED)
