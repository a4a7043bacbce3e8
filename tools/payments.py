"""A side-effecting example tool: records a reimbursement once per idempotency key."""

from __future__ import annotations


_PAID: dict[str, dict] = {}


def reimburse(requester: str, amount_usd: float, approved_by: str, idempotency_key: str = "") -> dict:
    """Pay an approved expense; a repeated key returns the first payment."""
    if idempotency_key in _PAID:
        return _PAID[idempotency_key]
    payment = {"payment_id": f"PAY-{len(_PAID) + 1:04d}", "requester": requester, "amount_usd": amount_usd,
               "approved_by": approved_by}
    _PAID[idempotency_key] = payment
    return payment
