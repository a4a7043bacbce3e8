"""One agent step: render the prompt, run the bounded tool-calling loop, validate the output.

The model only ever sees the agent's allowed tools. Bad tool calls (unknown tool, bad
arguments) are answered with an error message so the model can correct itself, within the
iteration bound. Output that fails its schema is re-asked at most `reasks` times; it never
reaches a downstream step.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from functools import lru_cache
from typing import Any, Mapping

from jinja2 import TemplateError

from agentctl.compile.expressions import sandbox
from agentctl.compile.ir import AgentDef, PromptTemplate
from agentctl.errors import StepError
from agentctl.llm.client import ChatResponse, message_for
from agentctl.run.budget import Budgets
from agentctl.run.events import EventBus, OutputReasked, ToolCallRefused
from agentctl.run.routing import ModelRouter
from agentctl.run.tool_calls import ToolDenied, ToolInvoker
from agentctl.run.validation import schema_problems
from agentctl.tools.base import ToolError

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S)


@lru_cache(maxsize=256)
def _template(source: str):
    return sandbox().from_string(source)


def render_prompt(prompt: PromptTemplate, args: Mapping[str, Any]) -> list[dict]:
    values = {name: spec.default for name, spec in prompt.inputs.items() if name not in prompt.required_inputs}
    values.update(args)
    messages = []
    for role, source, line in prompt.sections:
        try:
            messages.append({"role": role, "content": _template(source).render(**values)})
        except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError, AttributeError,
                RecursionError) as exc:  # SecurityError is a TemplateError; range(10**9) an OverflowError
            raise StepError(f"{prompt.path}:{line}: cannot render the {role} section: "
                            f"{type(exc).__name__}: {exc}") from None
    return messages


RENDER_TIMEOUT_S = 10.0  # a real prompt renders in milliseconds


async def render_bounded(prompt: PromptTemplate, args: Mapping[str, Any], timeout_s: float = RENDER_TIMEOUT_S
                         ) -> list[dict]:
    """Render off the event loop, so signals, the wall budget and other steps go on while a
    template loops; give up after `timeout_s`. A thread cannot be stopped: a runaway template
    keeps one core busy until the process exits (the thread is a daemon, so it never holds the
    exit up). Rendering in a process would stop it, at the price of a process per prompt."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if not done.done():
            done.set_exception(error) if error is not None else done.set_result(result)

    def render() -> None:
        try:
            result, error = render_prompt(prompt, args), None
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting step
            result, error = None, exc
        try:
            loop.call_soon_threadsafe(settle, result, error)
        except RuntimeError:  # the run ended (its loop closed) while this template looped
            pass

    threading.Thread(target=render, name=f"render {prompt.path}", daemon=True).start()
    try:
        async with asyncio.timeout(timeout_s):
            return await done
    except TimeoutError:
        raise StepError(f"{prompt.path}: rendering took more than {timeout_s:g} s; look for loops over "
                        "large ranges in the template") from None


def without(schema: Mapping[str, Any], bound: Mapping[str, Any]) -> dict:
    """A tool's input schema as the model sees it: without the arguments the pipeline binds."""
    if not bound or not isinstance(schema.get("properties"), Mapping):
        return dict(schema)
    visible = dict(schema)
    visible["properties"] = {k: v for k, v in schema["properties"].items() if k not in bound}
    if "required" in schema:
        visible["required"] = [k for k in schema["required"] if k not in bound]
    return visible


def parse_output(content: str | None, schema: Mapping[str, Any] | None) -> tuple[Any, str | None]:
    """(value, problem): the answer as data, or why it does not satisfy the schema."""
    if schema is None:
        return content or "", None
    text = content or ""
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    try:
        value = json.loads(text)
    except ValueError as exc:
        return None, f"the answer is not JSON ({exc.msg} at character {exc.pos})"
    problems = schema_problems(value, schema)
    return (value, None) if not problems else (None, "; ".join(problems))


def check_prompt_size(agent: AgentDef, messages: list[dict], args: Mapping[str, Any]) -> None:
    """The agent's own max_input_tokens, checked before any call, naming the input that grew."""
    if agent.max_input_tokens is None:
        return
    from agentctl.llm.client import ChatRequest, estimate_tokens

    tokens = estimate_tokens(ChatRequest("", tuple(messages)))
    if tokens <= agent.max_input_tokens:
        return
    sizes = {name: len(value if isinstance(value, str) else json.dumps(value, default=str)) for name, value in args.items()}
    biggest = max(sizes, key=sizes.get) if sizes else None
    culprit = f"; the largest input is '{biggest}' ({sizes[biggest]:,} characters)" if biggest else ""
    raise StepError(f"the rendered prompt {agent.prompt.path} is about {tokens:,} tokens, more than agent "
                    f"'{agent.name}' allows (max_input_tokens: {agent.max_input_tokens:,}){culprit}")


class AgentRunner:
    def __init__(self, router: ModelRouter, invoker: ToolInvoker, events: EventBus) -> None:
        self.router = router
        self.invoker = invoker
        self.events = events

    async def run(self, step: str, agent: AgentDef, args: Mapping[str, Any], budgets: Budgets, work: str = "",
                  bound: Mapping[str, Mapping[str, Any]] | None = None, context: Mapping[str, Any] | None = None
                  ) -> Any:
        """`work` names this execution (step, loop iteration, fan-out item) in idempotency keys;
        `bound`: per tool, the arguments the pipeline sets (the model neither sees nor sets them)."""
        work = work or step
        bound = bound or {}
        messages = await render_bounded(agent.prompt, args)
        check_prompt_size(agent, messages, args)
        offered = [self._tool_spec(name, bound.get(name, {})) for name in agent.tools]
        # max_iterations counts model turns; the last is told to answer, so every tool that runs
        # has its result seen by the model (docs/run.md).
        tool_rounds_left = agent.max_iterations - 1 if agent.tools else 0
        reasks_left = agent.reasks
        tool_index = 0
        while True:
            response, _ = await self.router.call(agent.model, messages, offered, step, budgets, work,
                                                 tools_allowed=tool_rounds_left > 0,
                                                 one_call_at_a_time=agent.parallel_tool_calls == 1)
            messages.append(message_for(response))
            if response.tool_calls:
                if tool_rounds_left == 0:
                    raise StepError(f"agent '{agent.name}' asked for tools again on its last turn "
                                    f"(max_iterations: {agent.max_iterations}); those calls were not run")
                tool_rounds_left -= 1
                for result in await self._run_tools(step, work, agent, response, budgets, tool_index, bound, context):
                    messages.append(result)
                tool_index += len(response.tool_calls)
                continue
            value, problem = parse_output(response.content, agent.output_schema)
            if problem is None:
                return value
            if reasks_left == 0:
                raise StepError(f"agent '{agent.name}' gave no valid output after {agent.reasks} re-asks: {problem}")
            reasks_left -= 1
            self.events.emit(OutputReasked(step=step, problem=problem))
            messages.append({"role": "user", "content": f"Your answer does not match the required JSON "
                             f"schema: {problem}. Answer again with JSON only."})

    def _tool_spec(self, name: str, bound: Mapping[str, Any]) -> dict:
        tool, spec = self.invoker.tools[name], self.invoker.defs[name]
        return {"type": "function", "function": {"name": name, "description": spec.description or name,
                                                 "parameters": without(tool.input_schema(), bound)}}

    async def _run_tools(self, step: str, work: str, agent: AgentDef, response: ChatResponse, budgets: Budgets,
                         first_index: int, bound: Mapping[str, Mapping[str, Any]],
                         context: Mapping[str, Any] | None = None) -> list[dict]:
        results = []
        for offset, call in enumerate(response.tool_calls):
            if offset >= agent.parallel_tool_calls:
                refused = f"at most {agent.parallel_tool_calls} tool call(s) per answer; this one was not run"
            else:
                refused = self._refusal(agent, call.name, call.arguments, bound.get(call.name, {}))
            if refused is None:
                args = {**json.loads(call.arguments or "{}"), **bound.get(call.name, {})}
                content = await self._one_tool(step, work, call.name, args, budgets, first_index + offset, context)
            else:
                self.events.emit(ToolCallRefused(step=step, tool=call.name, reason=refused))
                content = f"error: {refused}"
            results.append({"role": "tool", "tool_call_id": call.id, "content": content})
        return results

    def _refusal(self, agent: AgentDef, name: str, raw: str, bound: Mapping[str, Any]) -> str | None:
        """Why a call the model asked for cannot be run, told to the model; None if it can."""
        if name not in agent.tools:
            return f"no tool named '{name}' is available; available: {', '.join(agent.tools)}"
        try:
            args = json.loads(raw or "{}")
        except ValueError as exc:
            return f"the arguments are not JSON ({exc.msg}); send a JSON object"
        overridden = sorted(set(args) & set(bound)) if isinstance(args, dict) else []
        if overridden:
            return (f"argument(s) {', '.join(overridden)} of {name} are set by the pipeline and cannot be given; "
                    "call it without them")
        schema = self.invoker.tools[name].input_schema()
        unknown = sorted(set(bound) - set(schema.get("properties", bound)))
        if unknown:  # a pipeline mistake the compiler could not see (the tool's schema comes from the tool)
            raise StepError(f"agent '{agent.name}' binds {', '.join(unknown)}, which tool '{name}' does not take")
        problems = schema_problems({**args, **bound}, schema) if isinstance(args, dict) else ["not an object"]
        if problems:
            return f"the arguments do not match the schema of {name}: {'; '.join(problems)}"
        return None

    async def _one_tool(self, step: str, work: str, name: str, args: dict, budgets: Budgets, index: int,
                        context: Mapping[str, Any] | None = None) -> str:
        try:
            result = await self.invoker.invoke(step, work, index, name, args, budgets, context)
        except ToolDenied:
            return f"error: a human denied this call to {name}"
        except ToolError as exc:
            return f"error: {exc}"
        return result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)  # text as text
