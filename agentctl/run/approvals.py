"""Who approves: a human at a terminal, a decision given on the command line, or nobody (pause).

The engine only sees the Approver protocol; the terminal prompt itself lives in console.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol

from agentctl.errors import RunStopped


@dataclass(frozen=True)
class ApprovalRequest:
    step: str
    approver: str  # the role asked: manager, director, human...
    message: str
    context: dict[str, Any]
    subject: str = ""  # what is approved within the step: "" for the step, a tool call's key for a tool call


@dataclass(frozen=True)
class Decision:
    approved: bool
    by: str


class ApprovalPaused(RunStopped):
    """No one can answer now (no terminal, no --approve/--deny): the run pauses (exit 4)."""

    status = "paused"

    def __init__(self, request: ApprovalRequest) -> None:
        super().__init__(f"step '{request.step}' waits for approval by {request.approver}: {request.message}")
        self.request = request


class Approver(Protocol):
    async def decide(self, request: ApprovalRequest) -> Decision: ...


class FixedApprover:
    """--approve / --deny answer every approval; without either, a non-interactive run pauses."""

    def __init__(self, approved: bool | None) -> None:
        self.approved = approved

    async def decide(self, request: ApprovalRequest) -> Decision:
        if self.approved is None:
            raise ApprovalPaused(request)
        return Decision(self.approved, "command line")


class PromptApprover:
    """Asks a human through `ask` (console.ask_approval), off the event loop."""

    def __init__(self, ask: Callable[[ApprovalRequest], bool]) -> None:
        self.ask = ask

    async def decide(self, request: ApprovalRequest) -> Decision:
        import asyncio

        approved = await asyncio.to_thread(self.ask, request)
        return Decision(approved, f"{request.approver} (terminal)")

