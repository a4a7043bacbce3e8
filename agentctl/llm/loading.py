"""litellm's adapter loaded while MCP servers start: its import takes 2-3 s of this process's CPU,
a server's start-up is another process's, so a pipeline with MCP servers waits for the slower of
the two instead of their sum. The credentials are checked as soon as it is loaded, and what the
first call would load is loaded then too; the run waits for that before its first step
(Executor: `ready()`)."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future, InvalidStateError

from agentctl.llm.client import ChatRequest, ChatResponse


class LoadingModel:
    def __init__(self, routes) -> None:
        self.loaded: Future = Future()
        self.thread = threading.Thread(target=self._load, args=(routes,), name="agentctl-load-litellm", daemon=True)
        self.thread.start()

    def _load(self, routes) -> None:
        try:
            from agentctl.llm.litellm_client import LitellmModel

            model = LitellmModel()
            model.check_credentials(routes)  # a UsageError naming the variable, before the first step
            model.preload(routes)
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits for the model
            self._settle(self.loaded.set_exception, exc)
        else:
            self._settle(self.loaded.set_result, model)

    def _settle(self, setter, value) -> None:
        try:
            setter(value)
        except InvalidStateError:  # the run stopped while loading (Ctrl-C): no one waits any more
            pass

    async def ready(self):
        return await asyncio.wrap_future(self.loaded)

    async def complete(self, request: ChatRequest) -> ChatResponse:
        return await (await self.ready()).complete(request)

    def count_tokens(self, request: ChatRequest) -> int:
        return self.loaded.result().count_tokens(request)
