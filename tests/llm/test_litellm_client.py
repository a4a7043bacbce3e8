"""How provider failures are classified: what is retried and what is not."""

import os
import subprocess
import sys

import httpx
import pytest

from agentctl.llm.litellm_client import litellm, translate  # the adapter first: it keeps litellm offline
from tests.conftest import REPO


def response(status: int, headers: dict | None = None) -> httpx.Response:
    return httpx.Response(status, headers=headers or {}, request=httpx.Request("POST", "http://x"))


@pytest.mark.parametrize("error, kind, retryable", [
    (litellm.RateLimitError("slow down", "openai", "m", response=response(429, {"retry-after": "7"})), "rate_limit", True),
    (litellm.InternalServerError("boom", "openai", "m"), "server", True),
    (litellm.ServiceUnavailableError("down", "openai", "m"), "server", True),
    (litellm.Timeout("late", "m", "openai"), "timeout", True),
    (litellm.APIConnectionError("refused", "openai", "m"), "connection", True),
    (litellm.InternalServerError("Connection error.", "openai", "m"), "connection", True),
    (litellm.BadRequestError("bad", "m", "openai"), "client", False),
    (litellm.AuthenticationError("who", "openai", "m"), "auth", False),
    (litellm.PermissionDeniedError("no", "openai", "m", response(403)), "auth", False),
    (litellm.NotFoundError("gone", "m", "openai"), "not_found", False),
    (litellm.UnprocessableEntityError("odd", "m", "openai", response(422)), "client", False),
])
def test_translation(error, kind, retryable):
    translated = translate(error)
    assert (translated.kind, translated.retryable) == (kind, retryable)


def test_retry_after_is_read_from_the_response():
    error = litellm.RateLimitError("slow down", "openai", "m", response=response(429, {"retry-after": "7"}))
    assert translate(error).retry_after_s == 7.0


def test_an_endpoint_from_an_environment_variable_reaches_litellm(project, server, monkeypatch):
    """`${env:NAME}` in model params was passed through literally (and validate said the
    variable was never used)."""
    import asyncio

    from agentctl import api
    from agentctl.llm.litellm_client import LitellmModel
    from agentctl.run.approvals import FixedApprover
    from agentctl.run.executor import Executor

    monkeypatch.setenv("LLM_BASE", server.url)
    body = project.models().replace(f'api_base: "{server.url}"', 'api_base: "${env:LLM_BASE}"')
    path = project.root / "pipelines" / "e.yaml"
    path.write_text("apiVersion: agentctl/v1\nname: e\nversion: 1\nenv:\n  LLM_BASE: {secret: false}\n" + body
                    + "agents:\n  a: {model: m, prompt: prompts/p.prompt}\nsteps:\n  - {id: s, agent: a}\n")
    checked = api.compile_file(str(path), cwd=project.root)
    assert checked.pipeline is not None and not [d for d in checked.diagnostics if "LLM_BASE" in d.message]

    def run():
        executor = Executor(checked.pipeline, LitellmModel(), inputs={}, approver=FixedApprover(None), tools={})
        return asyncio.run(executor.run())

    assert run().status == "succeeded" and server.count() == 1
    monkeypatch.delenv("LLM_BASE")
    unset = run()
    assert unset.status == "failed" and "environment variable LLM_BASE is not set" in unset.error
    assert server.count() == 1  # not retried: no retry sets a variable


def test_missing_credentials_are_a_usage_error_before_any_call(tmp_path, capsys, monkeypatch):
    """They looked like a server error, retried three times, then the fallback."""
    from tests.support.cli import invoke, scratch_project

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    scratch_project(tmp_path, {
        "prompts/p.prompt": "---\nname: p\nversion: 1\n---\nuser:\nhi\n",
        "pipelines/k.yaml": ("apiVersion: agentctl/v1\nname: k\nversion: 1\nmodels:\n  m: {model: openai/gpt-4o-mini}\n"
                             "agents:\n  a: {model: m, prompt: prompts/p.prompt}\nsteps:\n  - {id: s, agent: a}\n"),
    })
    monkeypatch.chdir(tmp_path)
    done = invoke(capsys, monkeypatch, "run", "pipelines/k.yaml")
    assert done.code == 2 and "model 'openai/gpt-4o-mini' (models.m) needs OPENAI_API_KEY" in done.err
    assert not (tmp_path / ".agentctl").exists()  # nothing ran, nothing was journaled


def _fresh_python(code: str, cwd=REPO, unset: str = "") -> subprocess.CompletedProcess:
    """`code` in a new interpreter, where litellm is imported anew (this process has it loaded),
    with this environment less `unset`."""
    env = {k: v for k, v in os.environ.items() if k != unset}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=cwd, env=env)


def test_the_loader_loads_the_openai_sdk_resources_only_for_routes_that_go_through_it():
    """What the first call would load (issue 14: 0.3 s after the first step started, with MCP
    servers) is loaded by the background loader, and only for providers that need it."""
    code = """if True:
        import asyncio, sys
        from types import SimpleNamespace as NS
        from agentctl.llm.loading import LoadingModel

        def routes(*models):
            return {"m": NS(params={"api_key": "k"}, chain=tuple(NS(model=m) for m in models))}

        model = asyncio.run(LoadingModel(routes("anthropic/claude-3-5-sonnet")).ready())
        print("openai.resources" in sys.modules)
        model.preload(routes("anthropic/claude-3-5-sonnet", "openai/gpt-4o"))
        print("openai.resources" in sys.modules)
    """
    done = _fresh_python(code)
    assert done.stdout.split() == ["False", "True"], done.stderr


def test_importing_litellm_does_not_load_the_projects_dotenv_file(tmp_path):
    """litellm loads ./.env into the environment at import unless LITELLM_MODE says otherwise: a run
    that imported it saw variables (keys, `${env:...}` values) that validate, a replay or a gate-only
    run did not. agentctl reads the process environment only."""
    (tmp_path / ".env").write_text("AGENTCTL_PROBE=from-dotenv\n")
    code = "import os, agentctl.llm.litellm_client; print(os.environ.get('AGENTCTL_PROBE'))"
    done = _fresh_python(code, cwd=tmp_path, unset="LITELLM_MODE")
    assert done.stdout.split() == ["None"], done.stderr


BETA_PROBE = """if True:
    import asyncio, os, sys, threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    hits = []

    class Recorder(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def answer(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            hits.append((self.command, self.path))
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    os.environ["LITELLM_ANTHROPIC_BETA_HEADERS_URL"] = url + "/beta-headers.json"  # where litellm would fetch it
    from agentctl.llm.client import ChatRequest, LlmError
    from agentctl.llm.litellm_client import LitellmModel

    request = ChatRequest("anthropic/claude-3-5-haiku-20241022", ({"role": "user", "content": "hi"},),
                          params={"api_base": url, "api_key": "sk-x", "max_tokens": 8,
                                  "extra_headers": {"anthropic-beta": "prompt-caching-2024-07-31"}}, timeout_s=10)
    try:
        asyncio.run(LitellmModel().complete(request))
    except LlmError:
        pass
    print(hits)
"""


def test_an_anthropic_call_fetches_no_configuration_from_the_internet():
    """With an anthropic-beta header, litellm fetched its beta-headers table from GitHub on the first
    call (and warned when it could not): a request to a host nobody configured. Only the provider
    is asked now; the table bundled with the pinned litellm is used."""
    done = _fresh_python(BETA_PROBE, unset="LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS")
    assert done.stdout.strip() == "[('POST', '/v1/messages')]", done.stdout + done.stderr
