"""A real MCP server over stdio for the tests (mcp 2.x): `python -m tests.support.mcp_server`.

`book` is a side-effecting tool that honours the idempotency key it finds in the request's
`_meta`, appending every call (with the W3C traceparent of the `_meta`) to the ledger named by $LEDGER.
"""

from __future__ import annotations

import json
import os

from mcp.server.mcpserver import Context, MCPServer

server = MCPServer("agentctl-test")


@server.tool()
def book(item: str, ctx: Context) -> dict:
    """Book an item once per idempotency key."""
    meta = ctx.request_context.meta or {}
    key = meta.get("idempotency_key")
    with open(os.environ["LEDGER"], "a") as ledger:
        ledger.write(json.dumps({"item": item, "key": key, "traceparent": meta.get("traceparent")}) + "\n")
    return {"booked": item, "key": key}


@server.tool()
def shout(text: str) -> dict:
    """Upper-case a text."""
    return {"text": text.upper()}


@server.tool()
def whisper(text: str) -> str:
    """Lower-case a text (a plain-text result), telling stderr about the key it holds."""
    import sys

    print(f"debug: whispering with {os.environ.get('API_TOKEN', 'no token')}", file=sys.stderr, flush=True)
    return text.lower()


@server.tool()
def crash(text: str) -> str:
    """Die in the middle of a call, saying why on stderr (a server that fails during a run)."""
    import sys

    print(f"fatal: index corrupted while reading {text}", file=sys.stderr, flush=True)
    os._exit(3)


if __name__ == "__main__":
    server.run("stdio")
