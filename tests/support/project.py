"""Integration fixtures (shared by every test package): a local OpenAI-compatible server and a
scratch project whose models point at it, driven through the real litellm adapter."""

import asyncio
import textwrap
from pathlib import Path

import pytest

from agentctl import api
from agentctl.run.approvals import FixedApprover
from agentctl.run.events import EventBus
from agentctl.run.executor import Executor
from agentctl.tools.registry import build_tools
from tests.support.openai_server import FakeOpenAI

PROMPT = """---
name: {name}
version: 1
inputs:
  text: {{type: string, default: ""}}
---
user:
{{{{ text }}}}
"""

ANSWER_SCHEMA = '{"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}'
TOOL = '''
import json, time
CALLS = []

def lookup(query: str) -> dict:
    CALLS.append(query)
    return {"result": query.upper()}

def slow(seconds: float) -> dict:
    time.sleep(seconds)
    return {"slept": seconds}
'''


@pytest.fixture
def server():
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


class Project:
    def __init__(self, root: Path, server: FakeOpenAI) -> None:
        self.root = root
        self.server = server
        for sub in ("pipelines", "prompts", "schemas", "tools"):
            (root / sub).mkdir(exist_ok=True)
        (root / "agentctl.lock").write_text("")
        (root / "prompts" / "p.prompt").write_text(PROMPT.format(name="p"))
        (root / "schemas" / "answer.json").write_text(ANSWER_SCHEMA)
        (root / "tools" / "__init__.py").write_text("")
        (root / "tools" / "lookup.py").write_text(TOOL)

    def models(self, **extra: str) -> str:
        """A `models:` block: alias `m` on the local server, with fast retries."""
        return textwrap.dedent(f"""\
            prices:
              openai/primary: {{input_per_mtok: 1.0, output_per_mtok: 2.0}}
              openai/backup: {{input_per_mtok: 1.0, output_per_mtok: 2.0}}
            models:
              m:
                model: openai/primary
                fallbacks: {extra.get('fallbacks', '[]')}
                params: {{api_base: "{self.server.url}", api_key: sk-test, max_tokens: 50}}
                timeout_s: {extra.get('timeout', '60')}
                retry: {{max_attempts: {extra.get('attempts', '3')}, initial_s: 0.01, max_s: 0.5}}
                circuit_breaker: {{failures: {extra.get('breaker', '5')}, reset_s: 60}}
            """)

    def pipeline(self, body: str, **model_options: str) -> str:
        text = "apiVersion: agentctl/v1\nname: t\nversion: 1\n" + self.models(**model_options) + textwrap.dedent(body)
        path = self.root / "pipelines" / "t.yaml"
        path.write_text(text)
        return str(path)

    def compile(self, path: str):
        result = api.compile_file(path, cwd=self.root)
        compiled = result.pipeline
        errors = [d for d in result.diagnostics if d.is_error]
        assert compiled is not None, errors
        return compiled

    def run(self, body: str, inputs: dict | None = None, approve: bool | None = None, events: EventBus | None = None,
            concurrency: int = 8, model=None, role: str | None = None, **model_options: str):
        """Through the real litellm path to the local server, or through `model` (llm/fake.py's)."""
        if model is None:
            from agentctl.llm.litellm_client import LitellmModel

            model = LitellmModel()
        compiled = self.compile(self.pipeline(body, **model_options))
        executor = Executor(compiled, model, inputs=inputs or {}, approver=FixedApprover(approve),
                            tools=build_tools(compiled), events=events, concurrency=concurrency, role=role)
        return asyncio.run(executor.run())


@pytest.fixture
def project(tmp_path, server):
    return Project(tmp_path, server)
