"""What trace viewers read, from agentctl's own data: the OpenTelemetry GenAI conventions' message
structure (roles and typed parts), provider names and model names without litellm's routing
prefix, and the OpenInference span kinds Phoenix and other OpenInference readers classify by."""

from __future__ import annotations

import json
from typing import Any, Iterable

# litellm's route prefix -> gen_ai.provider.name (the conventions' well-known values)
PROVIDERS = {"openai": "openai", "text-completion-openai": "openai", "azure": "azure.ai.openai",
             "azure_ai": "azure.ai.inference", "anthropic": "anthropic", "bedrock": "aws.bedrock",
             "vertex_ai": "gcp.vertex_ai", "gemini": "gcp.gemini", "cohere": "cohere", "cohere_chat": "cohere",
             "mistral": "mistral_ai", "groq": "groq", "deepseek": "deepseek", "xai": "x_ai",
             "perplexity": "perplexity", "watsonx": "ibm.watsonx.ai"}

# agentctl's span roles -> openinference.span.kind
KINDS = {"workflow": "CHAIN", "step": "CHAIN", "agent": "AGENT", "chat": "LLM", "tool": "TOOL",
         "gate": "GUARDRAIL", "approval": "GUARDRAIL", "startup": "CHAIN"}


def provider_and_model(route: str) -> tuple[str, str]:
    """'openai/gpt-4o' -> ('openai', 'gpt-4o'); a route with no prefix is litellm's default, OpenAI."""
    prefix, _, model = route.partition("/")
    if not model:
        return "openai", route
    return PROVIDERS.get(prefix, prefix), model


def system_instructions(messages: Iterable[dict]) -> list[dict]:
    return [{"type": "text", "content": _text(m.get("content"))} for m in messages if m.get("role") == "system"]


def input_messages(messages: Iterable[dict]) -> list[dict]:
    """Chat messages (OpenAI's shape, as litellm takes them) in the conventions' structure; system
    messages go to gen_ai.system_instructions instead."""
    out = []
    for message in messages:
        role = message.get("role")
        if role == "system":
            continue
        if role == "tool":
            out.append({"role": "tool", "parts": [{"type": "tool_call_response", "id": message.get("tool_call_id"),
                                                   "response": _text(message.get("content"))}]})
            continue
        parts = [{"type": "text", "content": _text(message["content"])}] if message.get("content") else []
        for call in message.get("tool_calls") or ():
            function = call.get("function", {})
            parts.append({"type": "tool_call", "id": call.get("id"), "name": function.get("name"),
                          "arguments": _arguments(function.get("arguments"))})
        out.append({"role": role, "parts": parts})
    return out


def output_messages(content: str | None, tool_calls: Iterable[Any], finish_reason: str | None) -> list[dict]:
    parts: list[dict] = [{"type": "text", "content": content}] if content else []
    parts += [{"type": "tool_call", "id": c.id, "name": c.name, "arguments": _arguments(c.arguments)}
              for c in tool_calls]
    return [{"role": "assistant", "parts": parts, "finish_reason": finish_reason or "stop"}]


def tool_definitions(tools: Iterable[dict]) -> list[dict]:
    """OpenAI-shaped tool specs ({"type": "function", "function": {...}}) as the conventions list them."""
    out = []
    for tool in tools:
        function = tool.get("function", tool)
        out.append({"type": tool.get("type", "function"), "name": function.get("name"),
                    "description": function.get("description"), "parameters": function.get("parameters")})
    return out


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts: keep the text ones
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return "" if content is None else str(content)
