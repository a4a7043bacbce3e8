"""What every step kind defines on the run side (see docs/architecture.md, "Adding a step kind").
Each kind is one module of this package, registered in `RUNNERS` (`__init__.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Protocol

from agentctl.compile.ir import CompiledPipeline, StepNode
from agentctl.run.budget import Budget, Budgets

if TYPE_CHECKING:
    from agentctl.run.agent import AgentRunner
    from agentctl.run.approvals import Approver
    from agentctl.run.events import EventBus
    from agentctl.run.tool_calls import ToolInvoker


class Denied(Exception):
    """A human said no: the step ends as `denied` and what needs it is skipped."""

    def __init__(self, output: dict) -> None:
        super().__init__("denied")
        self.output = output


@dataclass(frozen=True)
class StepCall:
    """One execution of a step: a step, a loop iteration's step, or one fan-out item."""

    node: StepNode
    context: dict  # what its expressions read: inputs, steps, env (and previous, item)
    budgets: Budgets
    work: str  # names this execution in idempotency keys and the journal
    scope: str  # the loop iteration it runs in ("" at top level)
    extra: Mapping[str, Any]  # the names its enclosing loops add (previous)


class Engine(Protocol):
    """What a kind may use from the scheduler."""

    pipeline: CompiledPipeline
    agents: "AgentRunner"
    invoker: "ToolInvoker"
    approver: "Approver"
    events: "EventBus"
    agent_budgets: Mapping[str, Budget]

    def context(self, extra: Mapping[str, Any]) -> dict: ...

    def state_of(self, step: str) -> dict: ...

    def reset(self, steps: tuple[str, ...]) -> None: ...

    async def run_scope(self, order: tuple[str, ...], extra: dict, budgets: Budgets, scope: str) -> None: ...


class RunKind(Protocol):
    holds_slot: bool  # False: it waits for a human, or only schedules other steps (a loop)

    def scopes(self, engine: Engine, do: Any) -> tuple[Budget, ...]:
        """Budgets besides the run's and the step's that apply (an agent's own)."""

    async def run(self, engine: Engine, call: StepCall, do: Any) -> Any:
        """The step's output; raises StepError (failed), Denied, or RunStopped."""
