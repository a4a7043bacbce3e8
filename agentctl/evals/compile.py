"""An eval file compiled: its pipeline compiled, its data file found, and every expression's
references checked against what the pipeline has, each problem at its `file:line:col`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from agentctl.compile.expressions import Expr, Ref, has_expression, parse_template
from agentctl.compile.ir import CompiledPipeline, Limits
from agentctl.diagnostics import Diagnostic, DiagnosticSink, SourceSpan, did_you_mean
from agentctl.errors import EXIT_CODES
from agentctl.evals.spec import EvalFile, Thresholds

SUFFIX = ".eval.yaml"
RUN_FIELDS = ("status", "usage", "duration_s")
RUN_STATUSES = tuple(s for s in EXIT_CODES if s != "interrupted")  # what a row's run can be expected to end as
CHECK_ROOTS = ("row", "inputs", "outputs", "steps", "run")


BUILTIN_METRICS = ("cost_usd", "tokens", "llm_calls", "duration_s")


@dataclass(frozen=True)
class CheckDef:
    name: str
    expect: Expr | Any
    when: Expr | Any | None
    judge: CompiledPipeline | None = None
    with_: dict[str, Any] | None = None  # the judge's inputs: a template over the check roots


@dataclass(frozen=True)
class MetricDef:
    name: str
    value: Expr | Any
    when: Expr | Any | None


@dataclass(frozen=True)
class CompiledEval:
    path: str
    name: str
    pipeline: CompiledPipeline
    data: Path
    row_id: Expr | None
    inputs: dict[str, Any]  # a template over `row`
    checks: tuple[CheckDef, ...]
    repeat: int
    min_pass: int
    concurrency: int
    limits: Limits
    thresholds: Thresholds
    source_sha256: str
    metrics: tuple[MetricDef, ...] = ()
    expect_status: Expr | str | None = None

    @property
    def parts(self) -> list[CompiledPipeline]:
        """What one row runs: the pipeline, then each judge."""
        return [self.pipeline] + [c.judge for c in self.checks if c.judge is not None]

    @property
    def worst(self):
        """A row's worst case: its run's and its judges' compiled bounds, each capped by its own run
        budgets, which the runner enforces (None: unbounded)."""
        from agentctl.dimensions import COUNTED, Bounds

        values = {}
        for d in COUNTED:
            each = [getattr(p.bounds, d.name) for p in self.parts]
            values[d.name] = None if any(v is None for v in each) else sum(each)
        return Bounds(**values)


def is_eval(path: Path) -> bool:
    return path.name.endswith(SUFFIX)


def compile_eval(file: Path, display: str) -> tuple[CompiledEval | None, list[Diagnostic]]:
    from agentctl import api
    from agentctl.compile.definitions import limits
    from agentctl.compile.project import find_root
    from agentctl.spec.load import load_spec

    loaded, diags = load_spec(EvalFile, file, display, "an eval")
    if loaded is None:
        return None, diags
    spec, text, smap = loaded
    sink = DiagnosticSink(list(diags))
    root = find_root(file.parent)
    pipeline = _pipeline(api, root, spec.pipeline, smap.value(("pipeline",)), sink)
    source = _data(root, spec.data, smap, sink)
    checker = _Checker(pipeline, sink)

    def expr(value: Any, path: tuple, roots: tuple[str, ...]) -> Any:
        if not has_expression(value):
            return value
        parsed, problems = parse_template(value, lambda offset: smap.in_string(path, offset))
        sink.extend(problems)
        if parsed is not None:
            checker.check(parsed, roots)
        return parsed

    inputs = {k: expr(v, ("inputs", k), ("row",)) for k, v in spec.inputs.items()}
    if pipeline is not None:
        for name in spec.inputs:
            if name not in pipeline.inputs:
                sink.error("E903", f"pipeline '{pipeline.name}' has no input '{name}'", smap.key(("inputs", name)),
                           did_you_mean(name, pipeline.inputs) or f"its inputs: {', '.join(pipeline.inputs) or 'none'}")
    checks = tuple(_check(api, root, c, i, expr, smap, sink) for i, c in enumerate(spec.checks))
    metrics = tuple(MetricDef(name, expr(m.value, ("metrics", name, "value"), CHECK_ROOTS),
                              expr(m.when, ("metrics", name, "when"), CHECK_ROOTS) if m.when else None)
                    for name, m in spec.metrics.items())
    _check_thresholds(spec, smap, sink)
    row_id = expr(spec.row_id, ("row_id",), ("row", "inputs")) if spec.row_id else None
    expect_status = expr(spec.expect_status, ("expect_status",), ("row", "inputs"))
    if isinstance(expect_status, str) and expect_status not in RUN_STATUSES:
        sink.error("E904", f"expect_status: '{expect_status}' is not a run status", smap.value(("expect_status",)),
                   did_you_mean(expect_status, RUN_STATUSES) or f"one of: {', '.join(RUN_STATUSES)}")
    if sink.has_errors or pipeline is None:
        return None, sink.items
    compiled = CompiledEval(display, spec.name or file.name.removesuffix(SUFFIX), pipeline, source, row_id, inputs,
                            checks, spec.repeat, spec.min_pass or spec.repeat, spec.concurrency, limits(spec.budgets),
                            spec.thresholds, hashlib.sha256(text.encode()).hexdigest(), metrics, expect_status)
    _check_admission(compiled, smap, sink)
    if sink.has_errors:
        return None, sink.items
    return compiled, sink.items


def _data(root: Path, relative: str, smap, sink: DiagnosticSink) -> Path:
    source = root / relative
    if not source.is_file():
        sink.error("E902", f"data file {relative} does not exist", smap.value(("data",)),
                   "a .jsonl, .csv or .yaml file of rows, relative to the project root")
    elif source.suffix not in (".jsonl", ".csv", ".yaml", ".yml", ".json"):
        sink.error("E902", f"data file {relative}: expected .jsonl, .csv or .yaml", smap.value(("data",)))
    return source


def _check_admission(compiled: CompiledEval, smap, sink: DiagnosticSink) -> None:
    """The batch budget admits a row only while the row's worst case fits (evals/batch.py): with a
    worst case that has no bound, it would admit none, so say so before the batch starts."""
    from agentctl.compile.prices import litellm_installed
    from agentctl.dimensions import COUNTED

    worst = compiled.worst
    for d in COUNTED:
        if getattr(compiled.limits, d.limit) is None or getattr(worst, d.name) is not None:
            continue
        where = smap.key(("budgets", d.limit))
        unbounded = [p.path for p in compiled.parts if getattr(p.bounds, d.name) is None]
        if d.money and not litellm_installed():
            sink.warning("W704", f"budgets.{d.limit}: a row's worst case in {d.label} is unknown here: litellm's "
                         "price table comes with the run extra, which is not installed", where,
                         "pip install 'agentctl[run]' to check USD budgets, or declare prices: in the pipeline")
            continue
        sink.error("E905", f"budgets.{d.limit}: a row's worst case in {d.label} is unbounded, so the batch budget "
                   "admits no row", where, f"give {unbounded[0]} a run budget {d.limit} (it caps each row); "
                   f"`agentctl graph {unbounded[0]}` shows which step has no bound")


def _check(api, root: Path, check, i: int, expr, smap, sink: DiagnosticSink) -> CheckDef:
    when = expr(check.when, ("checks", i, "when"), CHECK_ROOTS) if check.when else None
    if (check.expect is None) == (check.judge is None):
        sink.error("E904", f"check '{check.name}': give either expect: or judge:", smap.key(("checks", i, "name")),
                   "expect: ${{ outputs.x == row.y }}, or judge: pipelines/judge.yaml with its inputs under with:")
        return CheckDef(check.name, None, when)
    if check.expect is not None:
        if check.with_:
            sink.error("E904", f"check '{check.name}': with: gives a judge's inputs; this check has no judge",
                       smap.key(("checks", i, "with")))
        return CheckDef(check.name, expr(check.expect, ("checks", i, "expect"), CHECK_ROOTS), when)
    judge = _pipeline(api, root, check.judge, smap.value(("checks", i, "judge")), sink)
    with_ = {k: expr(v, ("checks", i, "with", k), CHECK_ROOTS) for k, v in check.with_.items()}
    if judge is not None:
        outputs = judge.outputs if isinstance(judge.outputs, dict) else {}
        if "pass" not in outputs:
            sink.error("E904", f"judge {check.judge} has no output 'pass'", smap.value(("checks", i, "judge")),
                       "a judge pipeline's outputs: pass (true when the row passes) and optionally reason")
        for name in check.with_:
            if name not in judge.inputs:
                sink.error("E903", f"judge '{judge.name}' has no input '{name}'", smap.key(("checks", i, "with", name)),
                           did_you_mean(name, judge.inputs) or f"its inputs: {', '.join(judge.inputs) or 'none'}")
    return CheckDef(check.name, None, when, judge, with_)


def _check_thresholds(spec: EvalFile, smap, sink: DiagnosticSink) -> None:
    for name in spec.thresholds.checks:
        if name not in {c.name for c in spec.checks}:
            sink.error("E903", f"thresholds.checks.{name}: there is no check '{name}'",
                       smap.key(("thresholds", "checks", name)), did_you_mean(name, [c.name for c in spec.checks]))
    known = [*spec.metrics, *BUILTIN_METRICS]
    for name in spec.thresholds.metrics:
        if name not in known:
            sink.error("E903", f"thresholds.metrics.{name}: there is no metric '{name}'",
                       smap.key(("thresholds", "metrics", name)),
                       did_you_mean(name, known) or f"metrics: {', '.join(known)}")


def _pipeline(api, root: Path, relative: str, span: SourceSpan, sink: DiagnosticSink) -> CompiledPipeline | None:
    path = root / relative
    if not path.is_file():
        sink.error("E901", f"pipeline {relative} does not exist", span, "a pipeline file relative to the project root")
        return None
    result = api.compile_file(str(path))
    if not result.pipelines:
        errors = [d for d in result.diagnostics if d.is_error]
        sink.error("E901", f"pipeline {relative} does not compile ({len(errors)} error(s))", span,
                   f"run `agentctl validate {relative}`")
        return None
    return next(iter(result.pipelines.values()))


class _Checker:
    """What an eval expression may read, checked against the pipeline under test."""

    def __init__(self, pipeline: CompiledPipeline | None, sink: DiagnosticSink) -> None:
        self.pipeline = pipeline
        self.sink = sink

    def check(self, expr: Expr, roots: tuple[str, ...]) -> None:
        for ref in expr.refs:
            if ref.root not in roots:
                self.sink.error("E903", f"unknown name '{ref.root}' in expression", ref.span,
                                did_you_mean(ref.root, roots) or f"expressions here can read: {', '.join(roots)}")
            elif self.pipeline is not None and ref.parts:
                problem = self._problem(ref)
                if problem is not None:
                    self.sink.error("E903", problem[0], ref.span.with_length(len(str(ref))), problem[1])

    def _problem(self, ref: Ref) -> tuple[str, str | None] | None:
        first = ref.parts[0]
        tables: dict[str, tuple[Any, str]] = {
            "outputs": (self.pipeline.outputs if isinstance(self.pipeline.outputs, dict) else {}, "output"),
            "steps": (self.pipeline.steps, "step"), "inputs": (self.pipeline.inputs, "input"),
            "run": (dict.fromkeys(RUN_FIELDS), "run field")}
        if ref.root not in tables:
            return None
        table, what = tables[ref.root]
        if first not in table:
            return (f"pipeline '{self.pipeline.name}' has no {what} '{first}'",
                    did_you_mean(str(first), table) or f"it has: {', '.join(map(str, table)) or 'none'}")
        if ref.root == "steps" and len(ref.parts) > 1 and ref.parts[1] not in ("output", "status"):
            return f"step '{first}' has no attribute '{ref.parts[1]}'", "a step has .output and .status"
        return None


def dry_run_problems(compiled: CompiledEval, rows: Callable[[], Any]) -> list[str]:
    """Every row's inputs against the pipeline's declared types, all problems at once."""
    from agentctl.evals.data import mapped_inputs

    problems = []
    for number, row in rows():
        _, found = mapped_inputs(compiled, row)
        problems += [f"{compiled.data.name} row {number}: {p}" for p in found]
    return problems
