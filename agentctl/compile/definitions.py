"""Compiling the named definitions a pipeline declares: models, MCP servers, tools and agents."""

from __future__ import annotations

import re
from typing import Any, Mapping

from agentctl.compile import ir
from agentctl.compile.context import Ctx
from agentctl.compile.project import display_path, python_target_problem
from agentctl.compile.prompts import compile_prompt
from agentctl.compile.schemas import load_schema
from agentctl.diagnostics import suggest
from agentctl.dimensions import DIMENSIONS, Limits
from agentctl.spec import models as m
from agentctl.spec.prompt_file import parse_prompt
from agentctl.spec.source_file import read_text

_PYTHON_TARGET = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")


def limits(budgets: m.Budgets | None) -> Limits:
    if budgets is None:
        return Limits()
    return Limits(**{d.limit: getattr(budgets, d.limit) for d in DIMENSIONS})


def retry_policy(retry: m.Retry) -> ir.RetryPolicy:
    return ir.RetryPolicy(retry.max_attempts, retry.initial_s, retry.max_s)


def compile_models(ctx: Ctx) -> dict[str, ir.ModelRoute]:
    routes = {}
    for alias, spec in ctx.spec.models.items():
        chain = tuple(_target(ctx, name, spec) for name in [spec.model, *spec.fallbacks])
        routes[alias] = ir.ModelRoute(
            alias=alias, chain=chain, params=ir.frozen(spec.params), timeout_s=spec.timeout_s,
            retry=retry_policy(spec.retry),
            breaker=ir.BreakerPolicy(spec.circuit_breaker.failures, spec.circuit_breaker.reset_s),
            requests_per_minute=spec.rate_limit.requests_per_minute if spec.rate_limit else None,
            tokens_per_minute=spec.rate_limit.tokens_per_minute if spec.rate_limit else None)
        _param_env_refs(ctx, spec.params, ("models", alias, "params"))
        max_tokens = spec.params.get("max_tokens")
        if max_tokens is not None and (not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1):
            ctx.sink.error("E204", f"models.{alias}.params.max_tokens must be a positive integer",
                           ctx.smap.value(("models", alias, "params", "max_tokens")))
    return routes


def _param_env_refs(ctx: Ctx, value: Any, path: tuple) -> None:
    """`${env:NAME}` in model params (an endpoint or key from the environment) names a declared variable."""
    if isinstance(value, str):
        ctx.env_refs(value, path)
    elif isinstance(value, dict):
        for key, item in value.items():
            _param_env_refs(ctx, item, path + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _param_env_refs(ctx, item, path + (i,))


def _target(ctx: Ctx, model: str, alias_spec: m.ModelAlias) -> ir.ModelTarget:
    info = ctx.project.prices.lookup(model)
    declared = ctx.spec.prices.get(model)
    if declared is not None:
        ctx.used["prices"].add(model)
        price = ir.Price(declared.input_per_mtok / 1e6, declared.output_per_mtok / 1e6, "declared")
    elif info is not None and info.input_per_token and info.output_per_token:
        price = ir.Price(info.input_per_token, info.output_per_token, "litellm")
    else:
        price = None
    max_out = alias_spec.params.get("max_tokens")
    if not isinstance(max_out, int) or isinstance(max_out, bool):
        max_out = info.max_output_tokens if info else None
    return ir.ModelTarget(model, price, info.max_input_tokens if info else None, max_out)


def compile_mcp_servers(ctx: Ctx) -> dict[str, ir.McpServerDef]:
    servers = {}
    for name, spec in ctx.spec.mcp_servers.items():
        for key, value in spec.env.items():
            ctx.env_refs(value, ("mcp_servers", name, "env", key))
        servers[name] = ir.McpServerDef(name, tuple(spec.command), ir.frozen(spec.env), spec.cwd, spec.timeout_s)
    return servers


def compile_tools(ctx: Ctx) -> dict[str, ir.ToolDef]:
    tools = {}
    for name, spec in ctx.spec.tools.items():
        tool = _tool(ctx, name, spec)
        if tool is not None:
            tools[name] = tool
    return tools


def _tool(ctx: Ctx, name: str, spec: m.Tool) -> ir.ToolDef | None:
    path = ("tools", name)
    kinds = [k for k in ("python", "http", "mcp") if getattr(spec, k) is not None]
    if len(kinds) != 1:
        what = "has none" if not kinds else "has " + " and ".join(kinds)
        ctx.sink.error("E205", f"tool '{name}' needs exactly one of python:, http:, mcp: ({what})",
                       ctx.smap.key(path), "python: module:function, http: {url: ...}, or mcp: <server>")
        return None
    kind = kinds[0]
    target = _tool_target(ctx, name, spec, kind)
    if spec.mcp_tool is not None and kind != "mcp":
        ctx.sink.error("E205", "mcp_tool: only applies to MCP tools", ctx.smap.key(path + ("mcp_tool",)))
    if spec.side_effects and spec.retry is not None:
        ctx.sink.error("E504", f"tool '{name}' has side effects and a retry policy", ctx.smap.key(path + ("retry",)),
                       "side-effecting tools are never retried blindly; remove retry: or make the tool idempotent "
                       "and drop side_effects:")
    input_schema = _schema(ctx, spec.input_schema, path + ("input_schema",))
    output_schema = _schema(ctx, spec.output_schema, path + ("output_schema",))
    approval = ctx.expr(spec.approval, path + ("approval",))
    when = ctx.expr(spec.when, path + ("when",)) if spec.when is not None else None
    rate = (spec.rate_limit.calls, spec.rate_limit.per_s) if spec.rate_limit else None
    return ir.ToolDef(
        name=name, kind=kind, target=target or "", remote_name=spec.mcp_tool or (name if kind == "mcp" else None),
        method=spec.http.method if spec.http else None,
        headers=ir.frozen(spec.http.headers if spec.http else {}), description=spec.description,
        input_schema=input_schema, output_schema=output_schema, side_effects=spec.side_effects,
        permission=spec.permission,
        approval=approval if approval is not None else False, when=when, approver=spec.approver,
        timeout_s=spec.timeout_s, rate_limit=rate,
        retry=retry_policy(spec.retry) if spec.retry else None)


def _tool_target(ctx: Ctx, name: str, spec: m.Tool, kind: str) -> str | None:
    path = ("tools", name, kind)
    if kind == "python":
        if not _PYTHON_TARGET.match(spec.python or ""):
            ctx.sink.error("E204", f"tools.{name}.python: '{spec.python}' is not module:function",
                           ctx.smap.value(path), "e.g. python: tools.booking:book_hotel")
        elif (problem := python_target_problem(ctx.project.root, spec.python)) is not None:
            ctx.sink.error("E315", f"tool '{name}': {problem}", ctx.smap.value(path),
                           "python: names module:function of a module in the project, e.g. tools/booking.py: "
                           "wrap a library function in a function of your own")
        return spec.python
    if kind == "http":
        url = spec.http.url
        if not url.startswith(("http://", "https://")) and not url.startswith("${env:"):
            ctx.sink.error("E204", f"tools.{name}.http.url: '{url}' is not an http(s) URL",
                           ctx.smap.value(path + ("url",)))
        ctx.env_refs(url, path + ("url",))
        for header, value in spec.http.headers.items():
            ctx.env_refs(value, path + ("headers", header))
        return url
    server = spec.mcp
    if server not in ctx.spec.mcp_servers:
        ctx.sink.error("E305", f"MCP server '{server}' is not defined", ctx.smap.value(path),
                       suggest(server, ctx.spec.mcp_servers))
    else:
        ctx.used["mcp_servers"].add(server)
    return server


def _schema(ctx: Ctx, ref: Any, path: tuple) -> dict | None:
    if ref is None:
        return None
    schema, diags = load_schema(ref, ctx.project, ctx.smap.value(path))
    ctx.sink.extend(diags)
    return schema


def compile_agents(ctx: Ctx, tools: dict[str, ir.ToolDef], lock: dict[str, str] | None) -> dict[str, ir.AgentDef]:
    agents = {}
    for name, spec in ctx.spec.agents.items():
        agent = _agent(ctx, name, spec, tools, lock)
        if agent is not None:
            agents[name] = agent
    return agents


def _agent(ctx: Ctx, name: str, spec: m.Agent, tools: dict, lock: dict | None) -> ir.AgentDef | None:
    path = ("agents", name)
    ok = True
    if spec.model not in ctx.spec.models:
        ctx.sink.error("E301", f"model alias '{spec.model}' is not defined", ctx.smap.value(path + ("model",)),
                       suggest(spec.model, ctx.spec.models))
        ok = False
    ctx.used["models"].add(spec.model)
    names, bound = [], {}
    for i, entry in enumerate(spec.tools):
        tool, use = _tool_entry(ctx, entry, path + ("tools", i))
        if tool is None:
            ok = False
            continue
        names.append(tool)
        ok = check_tool_use(ctx, tool, path + ("tools", i) + ((tool,) if use else ()), f"agent '{name}'") and ok
        if use is not None:
            bound[tool] = _bindings(ctx, tools.get(tool), tool, use, path + ("tools", i, tool))
    if spec.tools and spec.max_iterations is None:
        ctx.sink.error("E502", f"agent '{name}' calls tools in a loop with no bound", ctx.smap.key(path),
                       "add max_iterations: N (the most model calls one step may make)")
        ok = False
    prompt = load_prompt(ctx, spec.prompt, path + ("prompt",), lock)
    output_schema = _schema(ctx, spec.output_schema, path + ("output_schema",))
    if prompt is None or not ok or (spec.output_schema is not None and output_schema is None):
        return None
    return ir.AgentDef(
        name=name, model=spec.model, prompt=prompt, tools=tuple(names), output_schema=output_schema,
        reasks=spec.reasks, max_iterations=spec.max_iterations or 1, parallel_tool_calls=spec.parallel_tool_calls,
        max_input_tokens=spec.max_input_tokens, limits=limits(spec.budgets), bound=bound)


def _tool_entry(ctx: Ctx, entry, path: tuple):
    """(tool name, its ToolUse or None) of an agent's `tools:` entry: `name` or `{name: {with: ...}}`."""
    if isinstance(entry, str):
        return entry, None
    if len(entry) != 1:
        ctx.sink.error("E404", f"a tools: entry names one tool, this one names {len(entry)}", ctx.smap.value(path),
                       "write one entry per tool: - get_order: {with: {customer_id: ...}}")
        return None, None
    (tool, use), = entry.items()
    return tool, use


def _bindings(ctx: Ctx, compiled: ir.ToolDef | None, tool: str, use: m.ToolUse, path: tuple) -> dict:
    """The bound arguments as templates; each must be an argument the tool declares (when its
    input_schema is written in the pipeline; otherwise the run checks it against the tool's own)."""
    declared = (compiled.input_schema or {}) if compiled is not None else {}
    properties = declared.get("properties") if isinstance(declared, Mapping) else None
    for arg in use.with_:
        if properties is not None and arg not in properties:
            ctx.sink.error("E404", f"tool '{tool}' takes no argument '{arg}'", ctx.smap.key(path + ("with", arg)),
                           suggest(arg, properties))
    return {arg: ctx.expr(value, path + ("with", arg)) for arg, value in use.with_.items()}


def check_tool_use(ctx: Ctx, tool: str, path: tuple, who: str) -> bool:
    ctx.used["tools"].add(tool)
    spec = ctx.spec.tools.get(tool)
    if spec is None:
        ctx.sink.error("E302", f"tool '{tool}' is not defined", ctx.smap.value(path), suggest(tool, ctx.spec.tools))
        return False
    if spec.permission == "deny":
        ctx.sink.error("E503", f"{who} is offered tool '{tool}', whose permission is deny", ctx.smap.value(path),
                       f"remove it here, or change tools.{tool}.permission to allow or ask")
        return False
    return True


def load_prompt(ctx: Ctx, relative: str, path: tuple, lock: dict | None) -> ir.PromptTemplate | None:
    """Parse and compile a prompt file once per project; its diagnostics are reported once."""
    file, diag = ctx.project.resolve(relative, ctx.smap.value(path), "prompt")
    if diag is not None:
        ctx.sink.add(diag)
        return None
    key = file.resolve()
    if key not in ctx.project.prompts:
        ctx.project.prompts[key] = compile_prompt_file(file, display_path(file), lock)
    template, diags = ctx.project.prompts[key]
    ctx.sink.extend(diags)
    return template


def compile_prompt_file(file: Any, display: str, lock: dict | None) -> tuple[ir.PromptTemplate | None, list]:
    text, diag = read_text(file, display)
    if diag is not None:
        return None, [diag]
    source, diags = parse_prompt(text, display)
    if source is None:
        return None, diags
    return compile_prompt(source, lock)
