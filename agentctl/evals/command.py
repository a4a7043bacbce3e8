"""`agentctl eval FILE`: compile, check the data (`--dry-run` stops there), run the batch, report.
Returns what to print and the exit code; the CLI only parses arguments and prints."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from agentctl.errors import (EXIT_BUDGET, EXIT_CHECKS, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, AgentctlError,
                             InvalidSpec, UsageError)
from agentctl.evals.compile import CompiledEval, compile_eval, dry_run_problems
from agentctl.tools.registry import Tools


@dataclass
class EvalOutcome:
    text: str
    exit_code: int
    report: dict | None = None


def load(path: str, cwd: Path | None = None) -> CompiledEval:
    from agentctl.compile.project import display_path

    file = (cwd or Path.cwd()) / path
    if not file.is_file():
        raise UsageError(f"{path} does not exist", "an eval file, e.g. evals/smoke.eval.yaml")
    compiled, diagnostics = compile_eval(file, display_path(file))
    if compiled is None:
        raise InvalidSpec(diagnostics, 1)
    return compiled


def dry_run(compiled: CompiledEval) -> EvalOutcome:
    """Every row's inputs checked, all problems at once; then rows x repeat x worst case vs the budget."""
    from agentctl.dimensions import COUNTED
    from agentctl.evals.data import rows

    problems = dry_run_problems(compiled, lambda: rows(compiled.data))
    if problems:
        raise AgentctlError(f"{len(problems)} problem(s) in the data:\n  " + "\n  ".join(problems[:200]),
                            "fix the rows or the inputs: mapping of the eval file")
    count = sum(1 for _ in rows(compiled.data))
    runs = count * compiled.repeat
    worst = compiled.pipeline.uncapped or compiled.pipeline.bounds
    lines = [f"{compiled.path}: {count} rows x {compiled.repeat} = {runs} runs of {compiled.pipeline.path}; "
             "worst case of the whole batch:"]
    for d in COUNTED:
        each, limit = getattr(worst, d.name), getattr(compiled.limits, d.limit)
        total = None if each is None else each * runs
        budget = "" if limit is None else f" (batch budget {d.format(limit)}{', reached' if total is None or total > limit else ''})"
        lines.append(f"  {d.label}: {d.format(total)}{budget}")
    return EvalOutcome("\n".join(lines), EXIT_OK)


def run(compiled: CompiledEval, replay: str | None, decision: bool | None, output: str | None,
        junit: str | None = None, markdown: bool = False) -> EvalOutcome:
    from agentctl import api, console, runs
    from agentctl.evals import report as reporting
    from agentctl.evals.batch import Batch
    from agentctl.evals.data import sha256
    from agentctl.record.batches import batch_rows, start_batch
    from agentctl.record.redact import Redactor
    from agentctl.run.approvals import FixedApprover
    from agentctl.tools.registry import build_tools

    pipeline = compiled.pipeline
    model = api.make_model(api.RunOptions(replay=replay), pipeline)
    tools = build_tools(pipeline)
    journal = runs.journal_for(pipeline.root)
    journal.redact = Redactor.for_pipeline(pipeline)
    data_sha = sha256(compiled.data)
    batch = Batch(compiled, model, SharedTools(tools), journal, FixedApprover(decision))
    batch.on_row = lambda r: console.print_note(
        f"row {r['row_number']} ({r['row_id']}): {'pass' if r['passed'] else 'FAIL'} [{r['status']}]")
    start_batch(journal, batch.batch_id, compiled, data_sha)
    try:
        status = asyncio.run(_with_tools(batch, tools))
    except KeyboardInterrupt:
        status = "interrupted"
    try:
        report = reporting.build(compiled, batch.batch_id, status, batch_rows(journal, batch.batch_id), data_sha)
    finally:
        journal.close()
    text = journal.redact.text((reporting.as_markdown if markdown else reporting.as_text)(report))
    if output:
        Path(output).write_text(journal.redact.text(reporting.as_json(report)), encoding="utf-8")
    if junit:
        Path(junit).write_text(journal.redact.text(reporting.as_junit(report)), encoding="utf-8")
    return EvalOutcome(text, _exit_code(compiled, report, status), report)


async def _with_tools(batch, tools) -> str:
    try:
        return await batch.run()
    finally:
        await tools.close()


def _exit_code(compiled: CompiledEval, report: dict, status: str) -> int:
    from agentctl.evals import report as reporting

    if status == "interrupted":
        return EXIT_INTERRUPTED
    if status == "budget_exceeded":
        return EXIT_BUDGET
    if reporting.error_rate_exceeded(compiled, report):
        return EXIT_FAILED
    return EXIT_CHECKS if report["missed"] else EXIT_OK


class SharedTools(Tools):
    """The batch's tools, shared by every row: started once (MCP servers), closed by the batch,
    not by each row's run."""

    def __init__(self, tools: Tools) -> None:
        super().__init__(tools.tools, tools.servers)
        self.ready: asyncio.Future | None = None

    async def prepare(self, names) -> None:
        if self.ready is None:  # the first row starts them; the others wait for that, not start them again
            self.ready = asyncio.ensure_future(super().prepare(names))
        await asyncio.shield(self.ready)

    async def close(self) -> None:
        pass
