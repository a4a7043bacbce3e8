"""A run that is stopped (Ctrl-C, SIGTERM) still ends with RunFinished, which is what records
its status in the journal, however many times the stop is asked for while it is stopping."""

import asyncio

from agentctl.run.approvals import FixedApprover
from agentctl.run.events import EventBus, RunFinished, ServerStopping
from agentctl.run.executor import Executor
from agentctl.llm.fake import ScriptedModel

BODY = """
agents:
  a: {model: m, prompt: prompts/p.prompt}
steps:
  - {id: talk, agent: a}
"""


class SlowToStop(dict):
    """A run's tools with one server whose stop takes until `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.stopping, self.release, self.closed = asyncio.Event(), asyncio.Event(), False

    def servers_for(self, names):
        return ["slow"]

    def servers_to_stop(self):
        return ["slow"]

    async def prepare(self, names) -> None:
        pass

    async def close(self) -> None:
        self.stopping.set()
        await self.release.wait()
        self.closed = True


def test_a_second_stop_while_the_servers_stop_does_not_lose_run_finished(project):
    """A second Ctrl-C while the MCP servers stopped cut the stop short: RunFinished was never
    emitted, so the journal kept the run as `running`."""
    compiled = project.compile(project.pipeline(BODY))
    seen, calling = [], None

    async def hold(request):
        calling.set()
        await asyncio.Event().wait()  # the call is in flight until the run is stopped

    async def main():
        nonlocal calling
        calling, tools, events = asyncio.Event(), SlowToStop(), EventBus()
        events.subscribe(seen.append)
        executor = Executor(compiled, ScriptedModel([hold]), inputs={}, approver=FixedApprover(None), tools=tools,
                            events=events)
        task = asyncio.ensure_future(executor.run())
        await calling.wait()
        task.cancel()  # Ctrl-C
        await tools.stopping.wait()
        task.cancel()  # Ctrl-C again, while the servers stop
        tools.release.set()
        await asyncio.gather(task, return_exceptions=True)
        return tools

    tools = asyncio.run(main())
    finished = [e for e in seen if isinstance(e, RunFinished)]
    assert [e.status for e in finished] == ["interrupted"]
    assert [e.server for e in seen if isinstance(e, ServerStopping)] == ["slow"]
    assert tools.closed
