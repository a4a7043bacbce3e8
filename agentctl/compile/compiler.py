"""A validated Pipeline to a CompiledPipeline, or the diagnostics that prevent it."""

from __future__ import annotations

from dataclasses import replace

from agentctl.compile import ir
from agentctl.compile.bounds import bound_all, capped, total
from agentctl.compile.context import Ctx
from agentctl.compile.definitions import compile_agents, compile_mcp_servers, compile_models, compile_tools, limits
from agentctl.compile.kinds.base import Parts
from agentctl.compile.policy import compile_policy
from agentctl.compile.project import Project
from agentctl.compile.references import Reader, StepInfo
from agentctl.compile.steps import BASE_ROOTS, StepCompiler
from agentctl.diagnostics import Diagnostic
from agentctl.dimensions import DIMENSIONS, Bounds, Limits
from agentctl.spec.models import Budgets, Pipeline
from agentctl.spec.yaml_source import SourceMap


def compile_pipeline(spec: Pipeline, smap: SourceMap, project: Project, *, source_sha256: str,
                     lock: dict[str, str] | None) -> tuple[ir.CompiledPipeline | None, list[Diagnostic]]:
    ctx = Ctx(spec, smap, project)
    models = compile_models(ctx)
    servers = compile_mcp_servers(ctx)
    tools = compile_tools(ctx)
    agents = compile_agents(ctx, tools, lock)
    parts = Parts(agents, tools, models)
    steps = StepCompiler(ctx, parts)
    graph = steps.compile()
    outputs = ctx.template(dict(spec.outputs), ("outputs",))
    steps.refs_in(outputs, Reader(("#outputs",), BASE_ROOTS))
    check_tool_expressions(steps, tools, agents)
    infos = list(steps.infos.values())
    policy = compile_policy(ctx, tools, infos)
    check_budgets(ctx, infos)
    check_prices(ctx, models, agents, infos)
    run_limits = limits(spec.budgets)
    nodes = bound_all(graph.nodes, parts)
    uncapped = total(nodes[s].bounds for s in graph.order if s in nodes)
    warn_graph(ctx, graph.unreachable, steps)
    warn_unused(ctx)
    warn_cost(ctx, uncapped)
    if ctx.sink.has_errors:
        return None, ctx.sink.items
    compiled = ir.CompiledPipeline(
        name=spec.name, version=str(spec.version), path=smap.path, root=str(project.root),
        source_sha256=source_sha256, description=spec.description,
        inputs=ir.frozen({n: _input(n, i) for n, i in spec.inputs.items()}),
        env=ir.frozen({n: v.secret for n, v in spec.env.items()}),
        models=ir.frozen(models), tools=ir.frozen(tools), mcp_servers=ir.frozen(servers),
        agents=ir.frozen(agents), steps=ir.frozen(_capped_by_run(nodes, run_limits)), order=graph.order,
        outputs=outputs,
        limits=run_limits, bounds=capped(uncapped, run_limits), uncapped=uncapped, policy=policy,
    )
    return compiled, ctx.sink.items


def _capped_by_run(nodes: dict[str, ir.StepNode], run: Limits) -> dict[str, ir.StepNode]:
    """What `graph` shows per step: its worst case under the run's budgets too, which the runner
    enforces on it. (The cost warning and the run's total use the uncapped figures.)"""
    return {sid: replace(node, bounds=capped(node.bounds, run)) for sid, node in nodes.items()}


def _input(name: str, spec) -> ir.InputDef:
    has_default = "default" in spec.model_fields_set
    return ir.InputDef(name, spec.type, not has_default, spec.default, tuple(spec.enum) if spec.enum else None,
                       spec.description)


def check_budgets(ctx: Ctx, infos: list[StepInfo]) -> None:
    """A per-agent or per-step budget larger than the run's can never be reached."""
    run = ctx.spec.budgets
    owners = [(("agents", n), a.budgets) for n, a in ctx.spec.agents.items()]
    owners += [(info.path, info.spec.budgets) for info in infos]
    for path, budgets in owners:
        if budgets is None:
            continue
        for dim in (d.limit for d in DIMENSIONS):
            mine, theirs = getattr(budgets, dim), getattr(run, dim)
            if mine is not None and theirs is not None and mine > theirs:
                ctx.sink.error("E701", f"{dim} {mine} is larger than the run's {dim} {theirs}",
                               ctx.smap.value(path + ("budgets", dim)),
                               "the run budget would stop it first; lower this or raise budgets: at the top")


def check_tool_expressions(steps: StepCompiler, tools: dict[str, ir.ToolDef], agents: dict[str, ir.AgentDef]) -> None:
    """approval: and when: of a tool no step calls (those a step calls are read as that step's,
    StepCompiler.read_tool_expressions): checked over args, inputs and env."""
    for name, tool in tools.items():
        called = any(info.spec.tool == name or (info.spec.agent in agents and name in agents[info.spec.agent].tools)
                     for info in steps.infos.values())
        if not called:
            for value in (tool.approval, tool.when):
                steps.refs_in(value, Reader(("#tool",), frozenset({"args", "inputs", "env"}),
                                            args_schema=tool.input_schema, tool=name))


def check_prices(ctx: Ctx, models: dict[str, ir.ModelRoute], agents: dict[str, ir.AgentDef],
                 infos: list[StepInfo]) -> None:
    """Under a USD budget every model that may be called needs a known, non-zero price (fail closed)."""
    priced: set[str] = set()
    if ctx.spec.budgets.max_cost_usd is not None:
        priced |= {a.model for a in agents.values() if a.name in ctx.used["agents"]}
    priced |= {a.model for a in agents.values() if a.limits.max_cost_usd is not None}
    for info in infos:
        budgets: Budgets | None = info.spec.budgets
        if budgets and budgets.max_cost_usd is not None and info.spec.agent in agents:
            priced.add(agents[info.spec.agent].model)
    for alias in sorted(priced & set(models)):
        for i, target in enumerate(models[alias].chain):
            path = ("models", alias, "model") if i == 0 else ("models", alias, "fallbacks", i - 1)
            if target.price is None and not ctx.project.prices.installed:
                ctx.sink.warning("W704", f"no price for model '{target.model}' here: litellm's price table comes with "
                                 "the run extra, which is not installed", ctx.smap.value(path),
                                 "pip install 'agentctl[run]' to check USD budgets, or declare it under prices:")
            elif target.price is None:
                ctx.sink.error("E702", f"no known price for model '{target.model}', and a USD budget applies",
                               ctx.smap.value(path), f"declare it under prices:, e.g. prices: {{{target.model}: "
                               "{input_per_mtok: <USD>, output_per_mtok: <USD>}} (per million tokens)")
            elif target.max_output_tokens is None:
                ctx.sink.error("E703", f"no output-token limit for model '{target.model}' under a USD budget",
                               ctx.smap.value(path), f"set models.{alias}.params.max_tokens")


def warn_graph(ctx: Ctx, unreachable: set[str], steps: StepCompiler) -> None:
    for sid in sorted(unreachable, key=lambda s: steps.infos[s].index):
        ctx.sink.warning("W801", f"step '{sid}' can never run", ctx.smap.value(steps.infos[sid].path + ("id",)),
                         "its when: is always false, or it waits on a step whose when: is")


def warn_unused(ctx: Ctx) -> None:
    spec = ctx.spec
    tables = {"models": spec.models, "tools": spec.tools, "agents": spec.agents, "mcp_servers": spec.mcp_servers,
              "inputs": spec.inputs, "env": spec.env, "prices": spec.prices}
    if ctx.unparsed:  # cannot tell what a broken expression meant to read
        del tables["inputs"], tables["env"]
    for kind, table in tables.items():
        for name in table:
            if name not in ctx.used[kind]:
                ctx.sink.warning("W802", f"{kind}.{name} is never used", ctx.smap.key((kind, name)),
                                 "remove it, or use it")


def warn_cost(ctx: Ctx, worst: Bounds) -> None:
    budget = ctx.spec.budgets.max_cost_usd
    if budget is not None and worst.cost_usd is not None and worst.cost_usd > budget:
        ctx.sink.warning("W803", f"worst-case cost ${worst.cost_usd:.4f} is above max_cost_usd ${budget:g}",
                         ctx.smap.value(("budgets", "max_cost_usd")),
                         "the run stops when the budget is spent; lower max_iterations, reasks or max_items, "
                         "or raise the budget")
