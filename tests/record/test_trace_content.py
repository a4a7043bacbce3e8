"""--trace-content: messages in the GenAI conventions' structure (roles, typed parts, tool calls
and their responses, finish_reason), tool definitions on chat spans, arguments and results on
tool spans; a secret from the environment masked in all of them."""

import json

from tests.record.test_trace import traced_run
from tests.support.openai_server import Behaviour

SECRET = "sk-SECRET-5a4b3c2d1e"
BODY = """
env:
  API_TOKEN: {secret: true}
tools:
  lookup: {python: "tools.lookup:lookup", description: Look a query up}
agents:
  a: {model: m, prompt: prompts/sys.prompt, tools: [lookup], max_iterations: 3}
steps:
  - {id: s, agent: a, with: {text: "find ${{ inputs.q }} with ${{ env.API_TOKEN }}"}}
inputs:
  q: {type: string}
"""
PROMPT = "---\nname: sys\nversion: 1\ninputs:\n  text: {type: string}\n---\nsystem:\nYou look things up.\n\nuser:\n{{ text }}\n"


def test_messages_tools_and_results_follow_the_conventions_and_mask_secrets(project, server, monkeypatch):
    monkeypatch.setenv("API_TOKEN", SECRET)
    (project.root / "prompts" / "sys.prompt").write_text(PROMPT)
    server.push(Behaviour(content=None, tool_calls=[("lookup", json.dumps({"query": f"x {SECRET}"}))]),
                Behaviour(content=f"found it ({SECRET})"))
    result, named, spans = traced_run(project, BODY, {"q": "pears"}, content=True)
    assert result.status == "succeeded", result.error
    first, second = [s for s in spans if s.name == "chat primary"]

    assert json.loads(first.attributes["gen_ai.system_instructions"]) == [{"type": "text", "content": "You look things up."}]
    (user,) = json.loads(first.attributes["gen_ai.input.messages"])
    assert user == {"role": "user", "parts": [{"type": "text", "content": "find pears with ***"}]}
    (out,) = json.loads(first.attributes["gen_ai.output.messages"])
    assert out["role"] == "assistant" and out["finish_reason"] == "tool_calls"
    (call,) = out["parts"]
    assert call["type"] == "tool_call" and call["name"] == "lookup" and call["arguments"] == {"query": "x ***"}
    (definition,) = json.loads(first.attributes["gen_ai.tool.definitions"])
    assert definition["name"] == "lookup" and definition["description"] == "Look a query up"
    assert definition["parameters"]["properties"]["query"]["type"] == "string"

    messages = json.loads(second.attributes["gen_ai.input.messages"])
    assert [m["role"] for m in messages] == ["user", "assistant", "tool"]
    assert messages[1]["parts"][0]["type"] == "tool_call"
    (response,) = messages[2]["parts"]
    assert response["type"] == "tool_call_response" and response["id"] == call["id"]
    assert json.loads(second.attributes["gen_ai.output.messages"])[0]["parts"] == [
        {"type": "text", "content": "found it (***)"}]

    tool = named["execute_tool lookup"]
    assert json.loads(tool.attributes["gen_ai.tool.call.arguments"]) == {"query": "x ***"}
    assert json.loads(tool.attributes["gen_ai.tool.call.result"]) == {"result": f"X {SECRET.upper()}"}  # not the secret
    assert SECRET not in json.dumps([dict(s.attributes) for s in spans])


def test_no_content_without_the_flag(project, server):
    server.push(Behaviour(content=None, tool_calls=[("lookup", '{"query": "q"}')]), Behaviour(content="done"))
    (project.root / "prompts" / "sys.prompt").write_text(PROMPT)
    _, named, spans = traced_run(project, BODY.replace("with ${{ env.API_TOKEN }}", ""), {"q": "x"})
    content_keys = {"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions",
                    "gen_ai.tool.definitions", "gen_ai.tool.call.arguments", "gen_ai.tool.call.result"}
    assert not [k for s in spans for k in s.attributes if k in content_keys]
