"""A side-effecting example tool. It honours the idempotency key agentctl passes, so a retried or
resumed call books once."""

from __future__ import annotations

import json
import os
from pathlib import Path

_LEDGER = Path(os.environ.get("BOOKING_LEDGER", ".agentctl/bookings.json"))


def book_hotel(hotel_id: str, check_in: str, nights: int, total_usd: float, idempotency_key: str = "") -> dict:
    """Book a hotel room; the same idempotency key returns the first booking instead of a second."""
    ledger = json.loads(_LEDGER.read_text()) if _LEDGER.exists() else {}
    if idempotency_key and idempotency_key in ledger:
        return ledger[idempotency_key]
    booking = {"confirmation": f"BK-{len(ledger) + 1:05d}", "hotel_id": hotel_id, "check_in": check_in,
               "nights": nights, "total_usd": total_usd}
    ledger[idempotency_key or booking["confirmation"]] = booking
    _LEDGER.parent.mkdir(parents=True, exist_ok=True)
    _LEDGER.write_text(json.dumps(ledger, indent=2))
    return booking
