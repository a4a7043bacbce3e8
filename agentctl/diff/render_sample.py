"""A prompt rendered on its `sample:`, in the run's sandbox, bounded in time (a template that
loops for ever must not hang a CI job): what `diff` shows and `render --sample` prints."""

from __future__ import annotations

import threading
from typing import Any

from agentctl.diff.snapshot import PromptInfo

RENDER_TIMEOUT_S = 5.0


def sample_messages(prompt: PromptInfo) -> list[dict] | str:
    """The messages, or why they cannot be shown. Inputs the sample leaves out show as <name>."""
    from agentctl.compile.ir import PromptTemplate
    from agentctl.run.agent import render_prompt

    values: dict[str, Any] = {name: f"<{name}>" for name in prompt.inputs}
    values.update({k: v["default"] for k, v in prompt.inputs.items() if "default" in v})
    values.update(prompt.sample)
    template = PromptTemplate(prompt.name, prompt.version, prompt.path, prompt.sha256, {}, frozenset(),
                              prompt.sections)
    result: list = []

    def render() -> None:
        try:
            result.append(render_prompt(template, values))
        except Exception as exc:  # noqa: BLE001 - a StepError naming the section, or a sandbox refusal
            result.append(f"cannot render: {exc}")
    worker = threading.Thread(target=render, daemon=True)
    worker.start()
    worker.join(RENDER_TIMEOUT_S)
    return result[0] if result else f"rendering took more than {RENDER_TIMEOUT_S:g} s; not shown"


def render_sample(prompt: PromptInfo) -> str:
    messages = sample_messages(prompt)
    if isinstance(messages, str):
        return messages
    return "\n\n".join(f"{m['role']}:\n{m['content']}" for m in messages)


def sample_tokens(prompt: PromptInfo) -> int:
    """An estimate of the input tokens of the rendered sample (about 3 characters a token)."""
    from agentctl.llm.client import ChatRequest, estimate_tokens

    messages = sample_messages(prompt)
    return 0 if isinstance(messages, str) else estimate_tokens(ChatRequest("", tuple(messages)))
