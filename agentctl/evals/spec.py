"""The eval format (`evals/*.eval.yaml`, `apiVersion: agentctl/v1`) as pydantic models: shape
only; references are the compiler's (evals/compile.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from agentctl.spec.models import Budgets, Expr, Name, PositiveInt, Spec

Rate = Annotated[float, Field(ge=0, le=1)]


class Check(Spec):
    """What must hold for a row: an expression over row, inputs, outputs, steps.<id> and run
    (`expect`), or a judge: a pipeline run on the row's result whose output `pass` says so."""

    name: Name
    expect: Expr | None = Field(None, description="An expression that must hold")
    judge: str | None = Field(None, description="A judge pipeline (relative to the project root) with an output "
                              "`pass` (true or false) and optionally `reason`")
    with_: dict[Name, Any] = Field(default_factory=dict, alias="with",
                                   description="The judge's inputs, from row, inputs, outputs, steps and run")
    when: Expr | None = Field(None, description="Check the row only when this holds")


Aggregate = Literal["mean", "p50", "p95", "min", "max", "sum"]


class Metric(Spec):
    """A number per row, aggregated over the batch (mean, p50, p95, min, max, sum)."""

    value: Expr = Field(description="An expression over row, inputs, outputs, steps and run giving a number")
    when: Expr | None = Field(None, description="Count the row only when this holds")


class Thresholds(Spec):
    pass_rate: Rate | None = Field(None, description="Rows passing every check, at least")
    checks: dict[Name, Rate] = Field(default_factory=dict, description="Per check: its pass rate, at least")
    max_error_rate: Rate | None = Field(None, description="Rows whose run did not succeed, at most")
    metrics: dict[Name, dict[Aggregate, float]] = Field(
        default_factory=dict, description="Maxima per metric and aggregate, e.g. {cost_usd: {p95: 0.01}}; built in: "
        "cost_usd, tokens, llm_calls, duration_s")


class EvalFile(Spec):
    apiVersion: Literal["agentctl/v1"]
    name: Name | None = None
    description: str | None = None
    pipeline: str = Field(description="The pipeline under test, relative to the project root")
    data: str = Field(description="Rows: a .jsonl, .csv or .yaml file, relative to the project root")
    row_id: Expr | None = Field(None, description="A row's id; by default a hash of its mapped inputs")
    inputs: dict[Name, Any] = Field(default_factory=dict, description="Pipeline inputs from ${{ row.<column> }}")
    expect_status: str | Expr | None = Field(None, description="How a row's run is expected to end (default: "
                                            "succeeded), e.g. ${{ 'failed' if row.rejected else 'succeeded' }}")
    checks: list[Check] = Field(default_factory=list)
    metrics: dict[Name, Metric] = Field(default_factory=dict, description="Numbers per row, aggregated")
    repeat: PositiveInt = Field(1, description="Runs per row, for nondeterministic models")
    min_pass: PositiveInt | None = Field(None, description="Runs of a row that must pass (default: all)")
    concurrency: Annotated[int, Field(ge=1, le=1000)] = 8
    budgets: Budgets = Budgets()
    thresholds: Thresholds = Thresholds()
