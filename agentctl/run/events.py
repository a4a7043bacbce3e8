"""What the engine reports as it runs: one frozen dataclass per event, declared here and nowhere
else. The journal, the tracer and the progress display subscribe; the engine knows none of them.

Subscribers `match` on the event classes and end with `case _: assert_never(event)`, so a new
event that a subscriber does not handle fails the test that feeds every event to every subscriber
(tests/run/test_events.py).

Every event carries `at`, the monotonic time it happened. `step` is the step's id; `scope` the
loop iteration it ran in ("" at top level); `work` names one execution of a step (per loop
iteration and fan-out item), as in idempotency keys and the journal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Union

from agentctl.dimensions import Usage


@dataclass(frozen=True, kw_only=True, slots=True)
class _Event:
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True, kw_only=True, slots=True)
class RunStarted(_Event):
    run_id: str
    pipeline: str
    steps: tuple[str, ...]  # top-level steps in execution order


@dataclass(frozen=True, kw_only=True, slots=True)
class RunFinished(_Event):
    status: str  # a key of errors.EXIT_CODES
    error: str | None
    usage: Usage
    outputs: Any


@dataclass(frozen=True, kw_only=True, slots=True)
class StepStarted(_Event):
    step: str
    kind: str  # the step kind's name: agent, tool, gate, approval, loop
    what: str | None  # the agent or tool it runs, if any
    scope: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class StepFinished(_Event):
    step: str
    status: str  # succeeded, failed, skipped, denied
    output: Any
    error: str | None
    usage: Usage
    duration_s: float
    started_at: float | None  # wall-clock time, for the journal
    work: str
    scope: str = ""
    restored: bool = False  # committed by an earlier attempt of the run: not executed again
    run_usage: Usage  # what the whole run has used so far: committed with the step, for a resume


@dataclass(frozen=True, kw_only=True, slots=True)
class ItemFinished(_Event):
    """One item of a for_each step: committed as it finishes, so a resume runs only the rest."""

    step: str
    index: int
    output: Any
    work: str
    scope: str = ""
    run_usage: Usage


@dataclass(frozen=True, kw_only=True, slots=True)
class LlmAttemptStarted(_Event):
    step: str
    work: str
    attempt_id: int
    model: str
    attempt: int  # 1, 2, ... per model of the fallback chain
    messages: tuple
    tools: tuple = ()  # the tool definitions offered to the model


@dataclass(frozen=True, kw_only=True, slots=True)
class LlmAttemptSucceeded(_Event):
    step: str
    work: str
    attempt_id: int
    model: str
    attempt: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    duration_s: float
    response_model: str | None
    finish_reason: str | None
    content: str | None
    remaining_usd: float | None
    run_usage: Usage  # what the whole run has used, this call included
    call_index: int  # the answer's position within its work
    request_key: str  # identifies the request (run/answers.py), so a resume can reuse the answer
    tool_calls: tuple  # the answer's tool calls, as ToolCall


@dataclass(frozen=True, kw_only=True, slots=True)
class LlmAnswerRestored(_Event):
    """A resumed agent asked what it had asked before: the journaled answer, no call."""

    step: str
    work: str
    model: str
    call_index: int


@dataclass(frozen=True, kw_only=True, slots=True)
class LlmAttemptFailed(_Event):
    step: str
    work: str
    attempt_id: int
    model: str
    attempt: int
    error: str
    error_kind: str
    duration_s: float


@dataclass(frozen=True, kw_only=True, slots=True)
class ToolCallStarted(_Event):
    step: str
    call_id: str  # the idempotency key
    tool: str
    args: Any
    run_usage: Usage  # what the whole run has used, this call included


@dataclass(frozen=True, kw_only=True, slots=True)
class ToolCallSucceeded(_Event):
    step: str
    call_id: str
    tool: str
    args: Any
    result: Any
    run_usage: Usage  # what the whole run has used, this call included
    allowed_by: str = ""  # the policy rule that allowed the call ("": the tool's own permission)


@dataclass(frozen=True, kw_only=True, slots=True)
class ToolCallFailed(_Event):
    step: str
    call_id: str
    tool: str
    args: Any
    error: str
    allowed_by: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class ToolCallRestored(_Event):
    """A call whose result is journaled: not issued again."""

    step: str
    call_id: str
    tool: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ToolCallRefused(_Event):
    """A tool call a model asked for that was not run (over parallel_tool_calls, an unknown tool,
    arguments that are not JSON or do not match); the model is told `reason`."""

    step: str
    tool: str
    reason: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ApprovalAsked(_Event):
    step: str
    role: str  # who is asked: human, manager, director...
    message: str
    tool: str | None = None  # set when a tool call is what needs approval


@dataclass(frozen=True, kw_only=True, slots=True)
class ApprovalDecided(_Event):
    step: str
    approved: bool
    by: str
    role: str | None = None
    tool: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class OutputReasked(_Event):
    """An agent's answer did not match its output schema; it is asked again."""

    step: str
    problem: str


@dataclass(frozen=True, kw_only=True, slots=True)
class GateWarned(_Event):
    """A gate with `on_fail: warn` whose check is false."""

    step: str
    message: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ServerStarting(_Event):
    """An MCP server is being started (they start together, before the first step); its
    ServerPhase follows when it is up or has failed."""

    server: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ServerStopping(_Event):
    """An MCP server is being stopped (after the last step, or at a stop: Ctrl-C, a budget), which
    takes up to the MCP SDK's grace periods; one ServerPhase follows when all have stopped."""

    server: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ServerPhase(_Event):
    """An MCP server started (before the first step) or the servers stopped (after the last):
    `at` is when it ended, `started_at` when it began (monotonic)."""

    server: str
    phase: str  # start or stop
    started_at: float
    error: str | None = None


Event = Union[RunStarted, RunFinished, StepStarted, StepFinished, ItemFinished, LlmAttemptStarted,
              LlmAttemptSucceeded, LlmAttemptFailed, LlmAnswerRestored, ToolCallStarted, ToolCallSucceeded,
              ToolCallFailed, ToolCallRestored, ToolCallRefused, ApprovalAsked, ApprovalDecided, OutputReasked, GateWarned,
              ServerStarting, ServerStopping, ServerPhase]
Subscriber = Callable[[Event], None]


class EventBus:
    """Calls each subscriber in the order it subscribed. The journal subscribes first: what an
    event leads to is committed before anyone else hears of it."""

    def __init__(self) -> None:
        self.subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.append(subscriber)

    def emit(self, event: Event) -> None:
        for subscriber in self.subscribers:
            subscriber(event)
