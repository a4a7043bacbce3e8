"""Engine events to journal writes. Subscribed before anyone else, so what an event leads to is
committed before the progress display, the tracer or a dependent step hears of it."""

from __future__ import annotations

from typing import assert_never

from agentctl.record.journal import Journal
from agentctl.run.answers import response_record
from agentctl.run.events import (ApprovalAsked, ApprovalDecided, Event, GateWarned, ItemFinished,
                                 LlmAnswerRestored, LlmAttemptFailed, LlmAttemptStarted, LlmAttemptSucceeded,
                                 OutputReasked, RunFinished, RunStarted, ServerPhase, ServerStarting, ServerStopping,
                                 StepFinished, StepStarted, ToolCallFailed, ToolCallRefused, ToolCallRestored,
                                 ToolCallStarted, ToolCallSucceeded)


class JournalRecorder:
    """Model attempts are written with the result of the work they were made for (a step, a loop
    iteration's step, a fan-out item), in the same transaction; tool calls at once, since their
    results are what a resume must never repeat. Fan-out items are committed one by one."""

    def __init__(self, journal: Journal, run_id: str) -> None:
        self.journal = journal
        self.run_id = run_id
        self.pending: dict[str, list[tuple[str, dict]]] = {}  # work -> (step, attempt) not yet written

    def __call__(self, event: Event) -> None:
        journal, run_id = self.journal, self.run_id
        match event:
            case StepFinished(restored=True):
                pass
            case StepFinished():
                journal.step(run_id, event.step, event.scope, event.status, event.output, event.error,
                             event.usage.as_dict(), event.started_at, self.pending.pop(event.work, []),
                             event.run_usage.as_dict())
            case ItemFinished():
                journal.item(run_id, event.step, event.scope, event.index, event.output,
                             self.pending.pop(event.work, []), event.run_usage.as_dict())
            case LlmAttemptSucceeded():
                journal.answer(run_id, event.work, event.call_index, event.request_key, event.model, response_record(
                    event.content, event.tool_calls, event.input_tokens, event.output_tokens, event.response_model,
                    event.finish_reason), event.run_usage.as_dict())
                self.attempt(event.work, event.step, state="succeeded", model=event.model, attempt=event.attempt,
                             input_tokens=event.input_tokens, output_tokens=event.output_tokens,
                             cost_usd=event.cost_usd, duration_s=event.duration_s)
            case LlmAttemptFailed():
                self.attempt(event.work, event.step, state="failed", model=event.model, attempt=event.attempt,
                             error=event.error, duration_s=event.duration_s)
            case ToolCallSucceeded():
                journal.tool_call(run_id, event.call_id, event.step, event.tool, event.args, event.result,
                                  "succeeded", None, event.run_usage.as_dict(), event.allowed_by)
            case ToolCallFailed():
                journal.tool_call(run_id, event.call_id, event.step, event.tool, event.args, None, "failed",
                                  event.error, allowed_by=event.allowed_by)
            case RunFinished():
                for attempts in self.pending.values():  # work that never finished: cancelled, failed
                    journal.attempts_only(run_id, attempts)
                self.pending.clear()
                journal.finish_run(run_id, event.status, event.error, event.outputs, event.usage.as_dict())
            case ToolCallRefused():
                from agentctl.record.audit import record_refusal

                record_refusal(journal, run_id, event.step, event.tool, event.reason)
            case (RunStarted() | StepStarted() | LlmAttemptStarted() | LlmAnswerRestored() | ToolCallStarted()
                  | ToolCallRestored()
                  | ApprovalAsked() | ApprovalDecided() | OutputReasked() | GateWarned() | ServerStarting()
                  | ServerStopping() | ServerPhase()):
                pass  # the run's start and approvals are written by runs.py and JournalApprover
            case _:
                assert_never(event)

    def attempt(self, work: str, step: str, **attempt) -> None:
        self.pending.setdefault(work, []).append((step, attempt))
