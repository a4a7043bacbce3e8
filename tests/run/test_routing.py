"""Retries, non-retryable errors, fallbacks and circuit breakers, through the real litellm path."""


from tests.support.openai_server import Behaviour, answer, fault

ONE_AGENT = """
agents:
  a: {model: m, prompt: prompts/p.prompt}
steps:
  - id: s
    agent: a
outputs:
  text: ${{ steps.s.output }}
"""


def models_called(server):
    return [body["model"] for _, body in server.requests]


def test_retryable_errors_are_retried_exactly_up_to_max_attempts(project, server):
    server.push(fault(500), fault(503), answer("third time"))
    result = project.run(ONE_AGENT, attempts="3")
    assert result.status == "succeeded" and result.outputs == {"text": "third time"}
    assert server.count() == 3


def test_attempts_are_capped(project, server):
    server.push(fault(500), fault(500), fault(500), answer("never reached"))
    result = project.run(ONE_AGENT, attempts="3")
    assert result.status == "failed" and server.count() == 3
    assert result.error.count("attempt") == 3  # the final error lists every attempt
    assert "openai/primary attempt 3: server" in result.error


def test_non_retryable_errors_are_not_retried(project, server):
    for status in (400, 401, 403, 422):
        server.requests.clear()
        server.script.clear()
        server.push(fault(status), answer("unused"))
        result = project.run(ONE_AGENT, attempts="4")
        assert result.status == "failed", status
        assert server.count() == 1, status


def test_fallbacks_are_tried_in_declared_order(project, server):
    server.push(fault(500), fault(500), fault(401), answer("from the second fallback"))
    result = project.run(ONE_AGENT, attempts="2", fallbacks="[openai/backup, openai/primary]")
    assert result.outputs == {"text": "from the second fallback"}
    assert models_called(server) == ["primary", "primary", "backup", "primary"]


def test_an_open_breaker_sends_no_request(project, server):
    two_steps = ONE_AGENT.replace("outputs:", "  - id: s2\n    agent: a\n    needs: [s]\noutputs:")
    server.push(fault(500), fault(500), answer("backup 1"), answer("backup 2"))
    result = project.run(two_steps, attempts="2", breaker="2", fallbacks="[openai/backup]")
    assert result.status == "succeeded"
    # s: primary twice (breaker opens), backup once; s2: primary skipped without a request.
    assert models_called(server) == ["primary", "primary", "backup", "backup"]


def test_retry_after_is_honoured(project, server):
    server.push(fault(429, headers={"Retry-After": "0.3"}), answer("after waiting"))
    result = project.run(ONE_AGENT)
    assert result.status == "succeeded"
    (t1, _), (t2, _) = server.requests
    assert 0.3 <= t2 - t1 < 2.0


def test_a_hang_past_the_timeout_is_retried(project, server):
    server.push(Behaviour(delay_s=2.0), answer("fast now"))
    result = project.run(ONE_AGENT, timeout="0.5")
    assert result.status == "succeeded" and server.count() == 2
    (t1, _), (t2, _) = server.requests
    assert t2 - t1 < 1.5  # the second attempt did not wait for the hung one


def test_malformed_json_and_connection_resets_are_retried(project, server):
    server.push(Behaviour(raw_body="{not json"), Behaviour(reset=True), answer("third"))
    result = project.run(ONE_AGENT, attempts="3")
    assert result.status == "succeeded" and server.count() == 3


def test_a_model_rate_limit_spaces_requests_across_concurrent_items(project, server, monkeypatch):
    # When each request starts (after its wait); only lower bounds: load can only widen the gaps.
    import asyncio

    from agentctl.llm.litellm_client import LitellmModel
    from agentctl.run import rate_limits
    from agentctl.run.approvals import FixedApprover
    from agentctl.run.events import EventBus, LlmAttemptStarted
    from agentctl.run.executor import Executor
    from agentctl.tools.registry import build_tools

    monkeypatch.setattr(rate_limits, "MINUTE_S", 0.5)  # "per minute" shrunk to half a second for the test
    body = """
inputs:
  items: {type: array}
agents:
  a: {model: m, prompt: prompts/p.prompt}
steps:
  - {id: each, agent: a, for_each: "${{ inputs.items }}", max_items: 3, max_concurrency: 3, with: {text: "${{ item }}"}}
"""
    path = project.root / "pipelines" / "t.yaml"
    project.pipeline(body)
    path.write_text(path.read_text().replace("    circuit_breaker:",
                                             "    rate_limit: {requests_per_minute: 1}\n    circuit_breaker:"))
    compiled = project.compile(str(path))
    assert compiled.models["m"].requests_per_minute == 1
    events, starts = EventBus(), []
    events.subscribe(lambda e: isinstance(e, LlmAttemptStarted) and starts.append(e.at))
    result = asyncio.run(Executor(compiled, LitellmModel(), inputs={"items": ["a", "b", "c"]},
                                  tools=build_tools(compiled), approver=FixedApprover(None), events=events).run())
    assert result.status == "succeeded", result.error
    assert len(starts) == 3 and starts[1] - starts[0] >= 0.45 and starts[2] - starts[0] >= 0.95
