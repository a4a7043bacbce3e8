"""Approvals that survive a restart: asked questions and answers live in the journal."""

from __future__ import annotations

from agentctl.record.journal import Journal
from agentctl.run.approvals import ApprovalRequest, Approver, Decision


class JournalApprover:
    """An answer already in the journal (from `agentctl approve`, or an earlier attempt) is used;
    otherwise the question is recorded, then put to the wrapped approver."""

    def __init__(self, inner: Approver, journal: Journal, run_id: str) -> None:
        self.inner = inner
        self.journal = journal
        self.run_id = run_id

    async def decide(self, request: ApprovalRequest) -> Decision:
        known = self.journal.decision(self.run_id, request.step, request.subject)
        if known is not None:
            return Decision(*known)
        self.journal.approval_asked(self.run_id, request.step, request.subject, request.approver, request.message,
                                    request.context)
        decision = await self.inner.decide(request)  # ApprovalPaused leaves the question pending
        self.journal.decide(self.run_id, request.step, request.subject, decision.approved, decision.by)
        return decision
