"""The commands: each parses its arguments, calls api (or a module of its own), and hands the
result to console. The process around them (exit codes, crash logs) is agentctl/boundary.py."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from agentctl import __version__, completion
from agentctl.cli_options import (ApproveAll, Concurrency, DenyAll, Events, JsonFlag, NoLive, OtlpEndpoint, Replay,
                                  Role, TraceContent, decision)
from agentctl.errors import EXIT_CHECKS, EXIT_FAILED, EXIT_OK, UsageError, writing

app = typer.Typer(
    name="agentctl",
    help="Compile declarative YAML pipelines and Jinja prompts into a checked graph of LLM agents.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion, --show-completion (typer's own)
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class DiagnosticFormat(str, Enum):
    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"


class DiffFormat(str, Enum):
    text = "text"
    json = "json"
    github = "github"
    markdown = "markdown"


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
    pipeline: str = typer.Argument(..., help="The pipeline file.", autocompletion=completion.pipelines),
    format: GraphFormat = typer.Option(GraphFormat.tree, "--format", "-f", help="Output format."),
    role: Optional[str] = typer.Option(None, "--role", help="Show only what this role may do (tree format)."),
) -> None:
    """Show the compiled graph with worst-case bounds per step and for the run, and what each role may do."""
    from agentctl import api, console
    from agentctl.graph_render import RENDERERS, render_tree

    compiled = api.compile_file(pipeline).compiled()
    console.print_plain(render_tree(compiled, role) if role else RENDERERS[format.value](compiled))


@app.command(epilog="Examples:  agentctl diff  ·  agentctl diff main HEAD -f markdown -o diff.md  ·  "
                     "agentctl diff --fail-on breaking,budget,cost:+20%")
def diff(
    base: Optional[str] = typer.Argument(None, help="Base revision. Default: the merge base with the default branch."),
    head: Optional[str] = typer.Argument(None, help="Head revision. Default: the working tree."),
    paths: List[str] = typer.Option([], "--paths", help="Compare only these project paths (repeatable)."),
    format: DiffFormat = typer.Option(DiffFormat.text, "--format", "-f", help="Output format."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the output to this file."),
    fail_on: Optional[str] = typer.Option(None, "--fail-on", help="Exit 5 when a check fails: breaking, budget, "
                                          "cost:+N%."),
    eval_head: Optional[str] = typer.Option(None, "--eval", help="Add this eval report (JSON or batch id) to the diff."),
    eval_base: Optional[str] = typer.Option(None, "--eval-base", help="...compared with this baseline report."),
) -> None:
    """What a change does to prompts, pipelines, schemas and worst-case cost, compiled from git."""
    from agentctl import console
    from agentctl.compile.project import find_root
    from agentctl.diff import command, formats

    checks = command.parse_checks(fail_on)
    if eval_base and not eval_head:
        raise UsageError("--eval-base needs --eval", "agentctl diff --eval head.json --eval-base base.json")
    root = find_root(Path.cwd())
    report, head_side = command.diff(base, head, tuple(paths), root)
    text = formats.FORMATS[format.value](report)
    if eval_head:
        from agentctl.evals.compare import for_diff

        text = for_diff(text, format.value, eval_head, eval_base, root)
    text = command.redactor_for(head_side).text(text)
    if output is not None:
        with writing(output):
            output.write_text(text, encoding="utf-8")
    elif format is DiffFormat.text:
        console.print_diff(text)
    else:
        console.print_plain(text.rstrip("\n"))
    failed = command.failed_checks(report, checks)
    for problem in failed:
        console.print_warning(f"--fail-on {problem}")
    raise typer.Exit(EXIT_CHECKS if failed else EXIT_OK)


@app.command(epilog="Examples:  agentctl render prompts/triage.prompt --sample  ·  "
                     "agentctl render pipelines/travel.yaml --step classify -i request='a week in Lisbon'")
def render(
    path: str = typer.Argument(..., help="A prompt file, or a pipeline with --step."),
    step: Optional[str] = typer.Option(None, "--step", help="The pipeline's agent step whose prompt to render."),
    inputs: Optional[List[str]] = typer.Option(None, "--input", "-i", help="A value as name=value (repeatable)."),
    sample: bool = typer.Option(False, "--sample", help="Start from the prompt's sample: values."),
    json_out: JsonFlag = False,
) -> None:
    """Print a prompt's messages as a run would send them; say which values only a run can know."""
    import json

    from agentctl import console
    from agentctl import render as rendering

    values = rendering.parse_pairs(inputs or [])
    if path.endswith(".prompt"):
        if step:
            raise UsageError("--step applies to a pipeline, not to a prompt file")
        rendered = rendering.render_prompt_file(Path(path), values, sample)
    elif step:
        rendered = rendering.render_step(path, step, values, sample)
    else:
        raise UsageError(f"{path}: render a .prompt file, or a pipeline with --step ID")
    if json_out:
        console.print_plain(json.dumps({"version": 1, "messages": rendered.messages, "unknown": rendered.unknown},
                                       indent=2, ensure_ascii=False))
    else:
        console.print_plain(rendering.as_text(rendered))
    for item in rendered.unknown:
        console.print_note(f"unknown before a run: {item} (shown as <...>)")


@app.command(epilog="Examples:  agentctl schema  ·  agentctl schema --check   (exit 1 when stale)")
def schema(
    directory: Path = typer.Option(Path("schemas"), "--dir", help="Where to write the schemas."),
    check: bool = typer.Option(False, "--check", help="Write nothing; exit 1 if the files are stale."),
) -> None:
    """Write schemas/pipeline.schema.json, prompt.schema.json and eval.schema.json for editors."""
    from agentctl import api, console

    stale = api.write_schemas(directory, check=check)
    if check:
        for path in stale:
            console.print_info(f"stale: {path} (run `agentctl schema`)")
        raise typer.Exit(EXIT_FAILED if stale else EXIT_OK)
    console.print_info(f"wrote {', '.join(str(p) for p in api.schema_files(directory))}")


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
    pipeline: str = typer.Argument(..., help="The pipeline file.", autocompletion=completion.pipelines),
    inputs: Optional[List[str]] = typer.Option(None, "--input", "-i", help="An input as name=value (repeatable)."),
    input_file: Optional[str] = typer.Option(None, "--input-file", help="A YAML or JSON file of inputs."),
    json_output: JsonFlag = False,
    concurrency: Concurrency = 8,
    record: Optional[str] = typer.Option(None, "--record", help="Record every model call to this cassette."),
    replay: Replay = None,
    approve: ApproveAll = False,
    deny: DenyAll = False,
    trace_content: TraceContent = False,
    otlp_endpoint: OtlpEndpoint = None,
    no_live: NoLive = False,
    events: Events = None,
    role: Role = None,
) -> None:
    """Run a pipeline: live progress, then a summary. Exit 0 ok, 1 failed, 3 budget, 4 paused, 130 Ctrl-C."""
    from agentctl import api, service

    settings = _run_settings(decision(approve, deny), json_output, concurrency, trace_content, otlp_endpoint,
                             no_live, events)
    outcome = service.run(pipeline, api.RunOptions(inputs or [], input_file, record, replay, role), settings)
    _finish(outcome, _summary_stream(events))


def _run_settings(decision: Optional[bool], json_output: bool, concurrency: int, trace_content: bool,
                  otlp_endpoint: Optional[str], no_live: bool, events: Optional[str]):
    """How run, resume, approve and deny show and record the run they run or continue."""
    from agentctl import console, service
    from agentctl.runs import TraceOptions

    return service.RunSettings(decision, json_output, concurrency, TraceOptions(trace_content, otlp_endpoint),
                               False if no_live else None, events, console.terminal_width(_summary_stream(events)))


def _summary_stream(events: Optional[str]):
    """Where a run's summary (or --json) goes: stdout, unless the events' stream is there (--events -)."""
    return sys.stderr if events == "-" else sys.stdout


def _finish(outcome, stream=None) -> None:
    from agentctl import console

    console.print_plain(outcome.text, stream or sys.stdout)
    raise typer.Exit(outcome.exit_code)


@app.command(epilog="Examples:  agentctl resume 3f2a9c1b7d4e  ·  agentctl resume 3f2a9c1b7d4e --budget max_cost_usd=2")
def resume(
    run_id: str = typer.Argument(..., help="The run (see `agentctl runs list`) or eval batch to continue.",
                                 autocompletion=completion.resumable_ids),
    force: bool = typer.Option(False, "--force", help="Continue even if the pipeline or a prompt changed."),
    budget: Optional[List[str]] = typer.Option(None, "--budget", help="Raise a run budget, e.g. max_cost_usd=2."),
    json_output: JsonFlag = False,
    concurrency: Concurrency = 8,
    replay: Replay = None,
    approve: ApproveAll = False,
    deny: DenyAll = False,
    trace_content: TraceContent = False,
    otlp_endpoint: OtlpEndpoint = None,
    no_live: NoLive = False,
    events: Events = None,
) -> None:
    """Continue an interrupted, failed, paused or budget-stopped run, or the rest of an eval batch;
    committed steps and finished rows are not run again."""
    from agentctl import service
    from agentctl.compile.project import find_root
    from agentctl.evals import command

    root = find_root(Path.cwd())
    if command.is_batch(root, run_id):
        _finish(command.resume(run_id, root, force, command.Outputs(format="json" if json_output else "text")))
    settings = _run_settings(decision(approve, deny), json_output, concurrency, trace_content, otlp_endpoint,
                             no_live, events)
    _finish(service.resume(run_id, root, settings, replay, force, budget), _summary_stream(events))


def _answer(run_id: str, step: Optional[str], approved: bool, replay: Optional[str], role: str, settings) -> None:
    from agentctl import service
    from agentctl.compile.project import find_root

    _finish(service.answer(run_id, find_root(Path.cwd()), approved, step, settings, replay, role),
            _summary_stream(settings.events))


AnswerAs = typer.Option("human", "--as", help="Answer as this role (the approval names who may; roles.yaml "
                        "lists the people in each role).")


@app.command(epilog="Example:  agentctl approve 3f2a9c1b7d4e sign_off")
def approve(run_id: str = typer.Argument(..., help="A paused run.", autocompletion=completion.paused_run_ids),
            step: Optional[str] = typer.Argument(None, help="The step to approve (default: every pending one)."),
            replay: Replay = None, role: str = AnswerAs, json_output: JsonFlag = False, concurrency: Concurrency = 8,
            trace_content: TraceContent = False, otlp_endpoint: OtlpEndpoint = None, no_live: NoLive = False,
            events: Events = None) -> None:
    """Approve a paused run's pending approval and continue it."""
    _answer(run_id, step, True, replay, role,
            _run_settings(None, json_output, concurrency, trace_content, otlp_endpoint, no_live, events))


@app.command(epilog="Example:  agentctl deny 3f2a9c1b7d4e sign_off")
def deny(run_id: str = typer.Argument(..., help="A paused run.", autocompletion=completion.paused_run_ids),
         step: Optional[str] = typer.Argument(None, help="The step to deny (default: every pending one)."),
         replay: Replay = None, role: str = AnswerAs, json_output: JsonFlag = False, concurrency: Concurrency = 8,
         trace_content: TraceContent = False, otlp_endpoint: OtlpEndpoint = None, no_live: NoLive = False,
         events: Events = None) -> None:
    """Deny a paused run's pending approval and continue it (what needs the approval is skipped)."""
    _answer(run_id, step, False, replay, role,
            _run_settings(None, json_output, concurrency, trace_content, otlp_endpoint, no_live, events))


@app.command(epilog="Examples:  agentctl trace 3f2a9c1b7d4e  ·  agentctl trace 3f2a9c1b7d4e --format json")
def trace(run_id: str = typer.Argument(..., help="The run.", autocompletion=completion.run_ids),
          format: str = typer.Option("tree", "--format", "-f", help="tree or json (OTLP/JSON).")) -> None:
    """A run's trace as a tree with durations, tokens, cost and errors (the failing span marked)."""
    from agentctl import console, run_display, runs
    from agentctl.compile.project import find_root

    if format not in ("tree", "json"):
        raise UsageError(f"--format {format}: use tree or json")
    documents = runs.trace_documents(find_root(Path.cwd()), run_id)
    console.print_plain(run_display.trace_json(documents) if format == "json" else run_display.trace_tree(documents))


from agentctl.cli_eval import eval_app  # noqa: E402 - registered after the commands listed before them
from agentctl.cli_runs import runs_app  # noqa: E402

app.add_typer(eval_app, name="eval")
app.add_typer(runs_app, name="runs")
