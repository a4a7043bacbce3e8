"""A finished row checked: expression checks evaluated, judge pipelines run (each a journaled run
on the batch's event loop, its usage counted in the row's), metrics measured."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from agentctl.dimensions import Usage
from agentctl.evals.compile import CheckDef, CompiledEval
from agentctl.run.evaluate import why_false

# How the batch runs a judge: (judge pipeline, inputs) -> its RunResult and run id.
RunJudge = Callable[[Any, dict], Awaitable[tuple[Any, str]]]


@dataclass
class Checked:
    checks: dict[str, dict] = field(default_factory=dict)
    metrics: dict[str, float | None] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)  # what the judges spent


def context_of(row: dict, inputs: dict, result, duration_s: float) -> dict[str, Any]:
    return {"row": row, "inputs": inputs, "outputs": result.outputs or {},
            "steps": {sid: {"output": s.output, "status": s.status} for sid, s in result.steps.items()},
            "run": {"status": result.status, "usage": result.usage.as_dict(), "duration_s": duration_s}}


async def check_row(compiled: CompiledEval, context: dict, run_judge: RunJudge) -> Checked:
    """Each check: {"passed": bool} with a reason on failure, or {"skipped": True}: its `when` was
    false, or the run did not succeed and the check could not be evaluated on what it left."""
    from agentctl.run.evaluate import EvaluationError, evaluate

    checked, status = Checked(), context["run"]["status"]
    for check in compiled.checks:
        try:
            if check.when is not None and not evaluate(check.when, context):
                checked.checks[check.name] = {"skipped": True}
            elif check.judge is not None:
                checked.checks[check.name] = await _judge(check, context, run_judge, checked.usage)
            else:
                passed = bool(evaluate(check.expect, context))
                checked.checks[check.name] = {"passed": passed} if passed else {
                    "passed": False, "reason": why_false(check.expect, context)}
        except EvaluationError as exc:  # after a failed run there may be nothing to check: not counted
            checked.checks[check.name] = ({"passed": False, "reason": str(exc)} if status == "succeeded"
                                          else {"skipped": True, "reason": f"the run {status}: {exc}"})
    checked.metrics = measure(compiled, context)
    return checked


async def _judge(check: CheckDef, context: dict, run_judge: RunJudge, usage: Usage) -> dict:
    """The judge's verdict: its output `pass`, with its `reason`; a judge that fails is a failed check."""
    from agentctl.run.evaluate import evaluate
    from agentctl.run.inputs import checked_values

    if context["run"]["status"] != "succeeded":
        return {"skipped": True, "reason": f"the run {context['run']['status']}: nothing to judge"}
    inputs, problems = checked_values(check.judge.inputs, evaluate(check.with_ or {}, context),
                                      "give it under the check's with:")
    if problems:
        return {"passed": False, "reason": f"judge {check.judge.path}: " + "; ".join(problems)}
    result, run_id = await run_judge(check.judge, inputs)
    usage.add(result.usage)
    if result.status != "succeeded":
        return {"passed": False, "judge_run": run_id,
                "reason": f"judge {check.judge.path} {result.status}: {result.error or ''}".rstrip(": ")}
    verdict, reason = result.outputs.get("pass"), result.outputs.get("reason")
    if not isinstance(verdict, bool):
        return {"passed": False, "judge_run": run_id,
                "reason": f"judge {check.judge.path} gave pass = {verdict!r}, not true or false"}
    outcome = {"passed": verdict, "judge_run": run_id}
    if reason is not None and not verdict:
        outcome["reason"] = str(reason)[:2000]
    return outcome


def measure(compiled: CompiledEval, context: dict) -> dict[str, float | None]:
    """Each metric's value for the row; None when its `when` is false or it is not a number."""
    from agentctl.run.evaluate import EvaluationError, evaluate

    values: dict[str, float | None] = {}
    for metric in compiled.metrics:
        try:
            if metric.when is not None and not evaluate(metric.when, context):
                values[metric.name] = None
                continue
            value = evaluate(metric.value, context)
        except EvaluationError:
            value = None
        values[metric.name] = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    return values
