"""A process that runs a project's Python tool functions for agentctl (python_tool.py starts it).

Why a process: a function that never returns cannot be stopped in a thread, so a tool timeout, a
spent wall budget or Ctrl-C could not end the run; and a tool's print() would land in agentctl's
stdout, before `--json`. Here the parent kills the process to stop a call, and the function's
stdout goes to this process's stderr, which the parent shows under the tool's name.

Protocol: one JSON request per line on stdin ({"target", "args", "key"}), one JSON reply per line
on the original stdout ({"ok": result} or {"error": text, "kind": "args" | "failed" | "result"}).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import sys


def main(root: str) -> None:
    import signal

    from agentctl.tools.python_tool import load_function

    # Ctrl-C at the terminal reaches the whole process group, this process too: the run decides what
    # stops (it kills this process), so the function is not interrupted with a traceback. A handler,
    # not SIG_IGN: what the function starts gets the default back when it runs a program.
    signal.signal(signal.SIGINT, lambda signum, frame: None)

    replies = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # the function's own stdout (print) goes to stderr
    functions: dict = {}
    for line in sys.stdin:
        request = json.loads(line)
        replies.write(json.dumps(_call(functions, load_function, request, root), ensure_ascii=False) + "\n")


def _call(functions: dict, load, request: dict, root: str) -> dict:
    try:
        target = request["target"]
        if target not in functions:
            functions[target] = load(target, root)
        function, kwargs = functions[target], dict(request["args"])
        if "idempotency_key" in inspect.signature(function).parameters:
            kwargs["idempotency_key"] = request["key"]
        result = function(**kwargs)
        if inspect.isawaitable(result):
            result = asyncio.run(_awaited(result))
    except TypeError as exc:
        return {"error": str(exc), "kind": "args"}
    except Exception as exc:  # noqa: BLE001 - a tool's failure is reported to agentctl, not fatal here
        return {"error": f"{type(exc).__name__}: {exc}", "kind": "failed"}
    finally:
        sys.stdout.flush()
    try:
        return {"ok": json.loads(json.dumps(result))}
    except (TypeError, ValueError):
        return {"error": type(result).__name__, "kind": "result"}


async def _awaited(awaitable):
    return await awaitable


if __name__ == "__main__":
    main(sys.argv[1])
