"""HTTP tools: the arguments as a JSON body (query parameters for GET and DELETE), the JSON
response as the result. A side-effecting tool's call carries its `Idempotency-Key` header."""

from __future__ import annotations

from typing import Any

from agentctl.compile.ir import ToolDef
from agentctl.tools.base import TRACE_HEADERS, ToolContext, ToolError
from agentctl.tools.env import resolve


class HttpTool:
    def __init__(self, spec: ToolDef) -> None:
        self.name = spec.name
        self.spec = spec

    def input_schema(self) -> dict:
        return dict(self.spec.input_schema) if self.spec.input_schema else {"type": "object"}

    async def call(self, args: dict, ctx: ToolContext) -> Any:
        import httpx

        headers = {key: resolve(value) for key, value in self.spec.headers.items()}
        if self.spec.side_effects:
            headers["Idempotency-Key"] = ctx.idempotency_key
        headers.update(TRACE_HEADERS.get() or {})
        method = self.spec.method or "POST"
        body = {"params": args} if method in ("GET", "DELETE") else {"json": args}
        try:
            async with httpx.AsyncClient(timeout=self.spec.timeout_s) as client:
                response = await client.request(method, resolve(self.spec.target), headers=headers, **body)
        except httpx.TimeoutException:
            raise ToolError(f"tool '{self.name}' timed out after {self.spec.timeout_s:g} s", retryable=True) from None
        except httpx.HTTPError as exc:
            raise ToolError(f"tool '{self.name}': {type(exc).__name__}: {exc}", retryable=True) from None
        if response.status_code >= 400:
            status = response.status_code
            raise ToolError(f"tool '{self.name}': HTTP {status}: {response.text[:300]}",
                            retryable=status == 429 or status >= 500, retry_after_s=_retry_after(response))
        try:
            return response.json()
        except ValueError:
            return response.text


def _retry_after(response) -> float | None:
    try:
        return float(response.headers.get("retry-after", ""))
    except ValueError:
        return None
