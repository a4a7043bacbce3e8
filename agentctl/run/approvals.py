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
    """Asks a human through `ask` (console.ask_approval), off the event loop; when the input ends
    unanswered (`ask` returns None) the run pauses, as with no terminal."""

    def __init__(self, ask: Callable[[ApprovalRequest], bool | None]) -> None:
        self.ask = ask

    async def decide(self, request: ApprovalRequest) -> Decision:
        """The question waits in a daemon thread of its own: a run stopped while it is asked (Ctrl-C)
        ends at once, where a thread of asyncio's executor would hold the run's end until Enter."""
        import asyncio
        import threading

        loop = asyncio.get_running_loop()
        answer = loop.create_future()

        def settle(approved: bool | None, error: BaseException | None) -> None:
            if answer.done():  # the run stopped while asking
                return
            if error is not None:
                answer.set_exception(error)
            else:
                answer.set_result(approved)

        def ask() -> None:
            try:
                approved, error = self.ask(request), None
            except BaseException as exc:  # noqa: BLE001 - handed to the run, which reports it
                approved, error = None, exc
            try:
                loop.call_soon_threadsafe(settle, approved, error)
            except RuntimeError:  # answered after the run ended: nobody is waiting any more
                pass

        threading.Thread(target=ask, name=f"approval {request.step}", daemon=True).start()
        approved = await answer
        if approved is None:  # the input ended unanswered: nobody decided, so nothing is recorded
            raise ApprovalPaused(request)
        return Decision(approved, f"{request.approver} (terminal)")

