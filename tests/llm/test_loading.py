"""The model loaded in a thread while MCP servers start (llm/loading.py)."""

import asyncio
import sys
import threading
import types

from agentctl.llm.loading import LoadingModel


def test_a_run_stopped_while_the_model_loads_leaves_no_traceback(monkeypatch):
    """Ctrl-C while litellm loaded: the wait was cancelled, then the thread's set_result raised
    InvalidStateError and printed a traceback under the run's summary."""
    may_finish, failures = threading.Event(), []

    class SlowModel:
        def __init__(self):
            may_finish.wait()

        def check_credentials(self, routes):
            pass

        def preload(self, routes):
            pass

    monkeypatch.setitem(sys.modules, "agentctl.llm.litellm_client", types.SimpleNamespace(LitellmModel=SlowModel))
    monkeypatch.setattr(threading, "excepthook", lambda args: failures.append(args.exc_value))
    model = LoadingModel(())

    async def stopped_while_loading():
        waiting = asyncio.ensure_future(model.ready())
        await asyncio.sleep(0)
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
    asyncio.run(stopped_while_loading())
    may_finish.set()
    model.thread.join()
    assert failures == []
