"""`agentctl render`: a prompt's messages exactly as a run would send them, from a prompt file
(with `-i` values and/or its `sample:`) or from a pipeline's agent step (its `with:` evaluated on
the given inputs; what only a run can know is shown as a placeholder and listed)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from agentctl.errors import UsageError


@dataclass
class Rendered:
    messages: list[dict]
    unknown: list[str] = field(default_factory=list)  # values only a run can know, shown as <...>


def parse_pairs(pairs: list[str]) -> dict[str, Any]:
    """-i name=value; a value that reads as YAML (a number, a list...) is that value."""
    import yaml

    values = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"-i {pair}: write -i name=value")
        try:
            values[key] = yaml.safe_load(raw) if raw.strip() else raw
        except yaml.YAMLError:
            values[key] = raw
    return values


def render_prompt_file(path: Path, values: dict[str, Any], sample: bool) -> Rendered:
    from agentctl.diff.snapshot import read_prompt

    info = read_prompt(path.parent, path, {})
    if info is None:
        raise UsageError(f"{path} is not a valid prompt file", f"run `agentctl validate {path}`")
    given = {**(info.sample if sample else {}), **values}
    return Rendered(_render(info, given), [f"{name} (not given)" for name in info.inputs
                                           if name not in given and "default" not in info.inputs[name]])


def render_step(pipeline: str, step: str, values: dict[str, Any], sample: bool) -> Rendered:
    from agentctl import api
    from agentctl.compile.expressions import Expr
    from agentctl.compile.kinds.agent import AgentStep
    from agentctl.diff.snapshot import read_prompt
    from agentctl.run.evaluate import EvaluationError, evaluate

    compiled = api.compile_file(pipeline).compiled()
    node = compiled.steps.get(step)
    if node is None:
        raise UsageError(f"no step '{step}' in {pipeline}", f"steps: {', '.join(compiled.steps)}")
    if not isinstance(node.do, AgentStep):
        raise UsageError(f"step '{step}' is a {node.kind} step; only agent steps render a prompt")
    agent = compiled.agents[node.do.agent]
    info = read_prompt(Path(compiled.root), Path(compiled.root) / agent.prompt.path, {})
    inputs = {name: values.get(name, spec.default) for name, spec in compiled.inputs.items()
              if name in values or not spec.required}
    context = {"inputs": inputs, "steps": {}, "env": {}}
    args, unknown = dict(info.sample) if sample else {}, []
    for name, value in node.args.items():
        try:
            args[name] = evaluate(value, context)
        except EvaluationError:
            source = value.source if isinstance(value, Expr) else str(value)
            args[name] = f"<{source}>"
            unknown.append(f"{name}: {source}")
    return Rendered(_render(info, args), unknown)


def _render(info, values: dict[str, Any]) -> list[dict]:
    from agentctl.diff.render_sample import sample_messages

    messages = sample_messages(replace(info, sample=values))
    if isinstance(messages, str):
        raise UsageError(f"{info.path}: {messages}")
    return messages


def as_text(rendered: Rendered) -> str:
    return "\n\n".join(f"{m['role']}:\n{m['content']}" for m in rendered.messages)
