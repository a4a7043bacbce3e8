"""A local OpenAI-compatible chat-completions server for integration tests and benchmarks.

Each request takes the next scripted behaviour (or the default): an answer, tool calls, a
status with headers (429 + Retry-After, 500, 503), latency, a hang, malformed JSON, or a reset
connection. Every request is recorded with its arrival time. Binds 127.0.0.1 only.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable


@dataclass
class Behaviour:
    content: str | None = "ok"
    tool_calls: list[tuple[str, str]] = field(default_factory=list)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    raw_body: str | None = None
    reset: bool = False
    usage: tuple[int, int] = (12, 8)


def answer(content: str, **kw: Any) -> Behaviour:
    return Behaviour(content=content, **kw)


def fault(status: int, **kw: Any) -> Behaviour:
    return Behaviour(content=None, status=status, **kw)


class FakeOpenAI:
    def __init__(self, default: Behaviour | Callable[[dict], Behaviour] | None = None) -> None:
        self.script: deque = deque()
        self.default = default or Behaviour()
        self.requests: list[tuple[float, dict]] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    def push(self, *behaviours: Behaviour) -> "FakeOpenAI":
        self.script.extend(behaviours)
        return self

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> "FakeOpenAI":
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; with Nagle's algorithm and delayed ACKs a
            # keep-alive client would wait ~40 ms per response.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with owner.lock:
                    owner.requests.append((time.monotonic(), body))
                    item = owner.script.popleft() if owner.script else owner.default
                behaviour = item(body) if callable(item) else item
                owner.respond(self, behaviour, body)

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def respond(self, handler: BaseHTTPRequestHandler, b: Behaviour, body: dict) -> None:
        if b.delay_s:
            time.sleep(b.delay_s)
        if b.reset:
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            handler.connection.close()
            handler.close_connection = True
            return
        if b.raw_body is not None:
            payload = b.raw_body.encode()
        elif b.status != 200:
            payload = json.dumps({"error": {"message": f"scripted {b.status}", "type": "scripted", "code": b.status}}).encode()
        else:
            payload = json.dumps(_completion(b, body)).encode()
        try:
            handler.send_response(b.status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(payload)))
            for key, value in b.headers.items():
                handler.send_header(key, value)
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    def count(self) -> int:
        with self.lock:
            return len(self.requests)


class _Server(ThreadingHTTPServer):
    request_queue_size = 1024  # the default backlog of 5 refuses a 200-way fan-out
    daemon_threads = True


def _completion(b: Behaviour, body: dict) -> dict:
    calls = [{"id": f"call_{i}", "type": "function", "function": {"name": n, "arguments": a}}
             for i, (n, a) in enumerate(b.tool_calls)]
    message: dict[str, Any] = {"role": "assistant", "content": b.content}
    if calls:
        message["tool_calls"] = calls
    return {
        "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
        "model": body.get("model", "test-model"),
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
        "usage": {"prompt_tokens": b.usage[0], "completion_tokens": b.usage[1], "total_tokens": sum(b.usage)},
    }


def main() -> None:
    """Serve in a process of its own (benchmarks: no GIL shared with the client being measured)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser()
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--content", default="ok")
    args = parser.parse_args()
    server = FakeOpenAI(default=Behaviour(content=args.content, usage=(10, 2), delay_s=args.delay)).start()
    sys.stdout.write(server.url + "\n")
    sys.stdout.flush()
    sys.stdin.read()  # serve until the parent closes our stdin
    server.stop()


if __name__ == "__main__":
    main()
