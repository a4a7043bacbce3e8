"""The retail support example's tools (pipelines/retail_support.yaml): a small in-memory store.
Every order belongs to one customer; the pipeline makes sure the agent only ever acts for the
customer who authenticated (a bound argument and a precondition)."""

from __future__ import annotations

CUSTOMERS = {"ana@example.com": "c1", "ben@example.com": "c2"}
ORDERS = {"o1": {"customer": "c1", "item": "kettle", "status": "pending", "usd": 39.0},
          "o2": {"customer": "c1", "item": "espresso machine", "status": "pending", "usd": 420.0},
          "o9": {"customer": "c2", "item": "laptop", "status": "pending", "usd": 1300.0}}


def authenticate(email: str) -> dict:
    """The customer behind an e-mail address, with the ids of their orders."""
    customer = CUSTOMERS.get(email)
    if customer is None:
        return {"customer_id": None, "order_ids": []}
    return {"customer_id": customer, "order_ids": sorted(o for o, v in ORDERS.items() if v["customer"] == customer)}


def get_order(customer_id: str, order_id: str) -> dict:
    """One of the customer's orders."""
    order = ORDERS.get(order_id)
    if order is None or order["customer"] != customer_id:
        return {"error": "no such order for this customer"}
    return {"order_id": order_id, **{k: v for k, v in order.items() if k != "customer"}}


def cancel_order(order_id: str, idempotency_key: str = "") -> dict:
    """Cancel an order (a side effect: once per idempotency key)."""
    ORDERS[order_id]["status"] = "cancelled"
    return {"order_id": order_id, "status": "cancelled"}
