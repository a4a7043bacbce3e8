"""What every step kind defines on the compile side (see docs/architecture.md, "Adding a step
kind"). Each kind is one module of this package, registered in `KINDS` (`__init__.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Protocol

from agentctl.compile import ir
from agentctl.dimensions import Bounds

if TYPE_CHECKING:
    from agentctl.compile.references import StepInfo
    from agentctl.compile.steps import StepCompiler

BOOLEAN = {"type": "boolean"}


@dataclass(frozen=True)
class Parts:
    """What a kind may look up while compiling: the pipeline's compiled agents, tools and models."""

    agents: Mapping[str, ir.AgentDef]
    tools: Mapping[str, ir.ToolDef]
    models: Mapping[str, ir.ModelRoute]


class CompileKind(Protocol):
    name: str  # the step's key in YAML, and spec.models.STEP_KINDS's
    definition: type[ir.StepDefBase]  # what the kind compiles to
    takes_args: bool  # `with:` and `for_each:` apply

    def nested(self, value: Any) -> list:
        """The spec steps nested in this one (a loop's body), declared under `<name>.steps`."""

    def output_schema(self, value: Any, parts: Parts) -> dict | None:
        """The JSON Schema of the step's output (None: unknown), for references to it."""

    def compile(self, sc: "StepCompiler", info: "StepInfo", value: Any) -> ir.StepDefBase | None:
        """The definition, with every expression checked; None after reporting an error."""

    def bounds(self, do: Any, parts: Parts, done: Mapping[str, ir.StepNode]) -> Bounds:
        """Worst-case usage of one execution; `done` holds nested steps already bounded."""

    def describe(self, pipeline: ir.CompiledPipeline, do: Any) -> str:
        """One line for `agentctl graph`."""

    def subject(self, do: Any) -> str | None:
        """The agent or tool the step runs, if any: shown in progress and traces."""

    def tools(self, pipeline: ir.CompiledPipeline, do: Any) -> tuple[str, ...]:
        """Every tool the step may call (MCP servers are started for these)."""
