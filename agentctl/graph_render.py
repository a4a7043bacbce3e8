"""The compiled graph as text: an indented tree, Mermaid, or Graphviz DOT, with worst-case bounds."""

from __future__ import annotations

from agentctl.compile.ir import Bounds, CompiledPipeline, Limits, StepNode


def count(value: int | None, noun: str) -> str:
    """'1 step', '3 steps', '? steps' (unknown or unbounded)."""
    if value is None:
        return f"? {noun}s"
    return f"{value:,} {noun}" + ("" if value == 1 else "s")


def fmt_bounds(b: Bounds) -> str:
    cost = "$?" if b.cost_usd is None else f"${b.cost_usd:.4f}"
    return (f"{count(b.steps, 'step')}, {count(b.llm_calls, 'LLM call')}, {count(b.tool_calls, 'tool call')}, "
            f"{count(b.tokens, 'token')}, {cost}")


def fmt_limits(limits: Limits) -> str:
    names = {"max_steps": "steps", "max_llm_calls": "LLM calls", "max_tool_calls": "tool calls",
             "max_tokens": "tokens", "max_cost_usd": "USD", "max_wall_s": "seconds"}
    return " · ".join(f"{names[d]} ≤ {v:g}" for d, v in limits.items()) or "none"


def describe(pipeline: CompiledPipeline, node: StepNode) -> str:
    if node.kind == "agent":
        agent = pipeline.agents[node.agent]
        chain = " → ".join(t.model for t in pipeline.models[agent.model].chain)
        text = f"agent {node.agent} [{agent.model}: {chain}]"
        if agent.tools:
            text += f" tools: {', '.join(agent.tools)}"
    elif node.kind == "tool":
        tool = pipeline.tools[node.tool]
        text = f"tool {node.tool} ({tool.kind}{', side effects' if tool.side_effects else ''})"
    elif node.kind == "gate":
        text = f"gate (on fail: {node.gate.on_fail})"
    elif node.kind == "approval":
        approvers = [t.approver for t in node.approval.tiers] or [node.approval.approver]
        text = f"approval ({' / '.join(approvers)})"
    else:
        text = f"loop (≤ {node.loop.max_iterations} iterations)"
    if node.for_each:
        text += f" for each ≤ {node.for_each.max_items} (×{node.for_each.max_concurrency} at once)"
    if node.when is not None:
        text += " when …"
    return text


def render_tree(pipeline: CompiledPipeline) -> str:
    lines = [f"{pipeline.name} {pipeline.version}  ({pipeline.path})"]

    def walk(order: tuple[str, ...], prefix: str) -> None:
        for i, sid in enumerate(order):
            node = pipeline.steps[sid]
            last = i == len(order) - 1
            needs = f"  ← {', '.join(node.needs)}" if node.needs else ""
            lines.append(f"{prefix}{'└─' if last else '├─'} {sid}: {describe(pipeline, node)}{needs}")
            lines.append(f"{prefix}{'   ' if last else '│  '}   worst case: {fmt_bounds(node.bounds)}")
            if node.loop:
                walk(node.loop.body, prefix + ("   " if last else "│  "))

    walk(pipeline.order, "")
    lines.append(f"worst case for the run: {fmt_bounds(pipeline.bounds)}")
    lines.append(f"run budgets: {fmt_limits(pipeline.limits)}")
    return "\n".join(lines)


def _label(text: str) -> str:
    return text.replace('"', "'")


def render_mermaid(pipeline: CompiledPipeline) -> str:
    lines = ["flowchart TD"]

    def walk(order: tuple[str, ...], indent: str) -> None:
        for sid in order:
            node = pipeline.steps[sid]
            if node.loop:
                lines.append(f'{indent}subgraph {sid} ["{_label(sid + ": " + describe(pipeline, node))}"]')
                walk(node.loop.body, indent + "  ")
                lines.append(f"{indent}end")
            else:
                lines.append(f'{indent}{sid}["{_label(sid)}<br/>{_label(describe(pipeline, node))}"]')
            for dep in node.needs:
                lines.append(f"{indent}{dep} --> {sid}")

    walk(pipeline.order, "  ")
    return "\n".join(lines)


def render_dot(pipeline: CompiledPipeline) -> str:
    lines = [f'digraph "{_label(pipeline.name)}" {{', "  rankdir=TB;", "  node [shape=box];"]

    def walk(order: tuple[str, ...], indent: str) -> None:
        for sid in order:
            node = pipeline.steps[sid]
            if node.loop:
                lines.append(f"{indent}subgraph cluster_{sid} {{")
                lines.append(f'{indent}  label="{_label(sid + ": " + describe(pipeline, node))}";')
                walk(node.loop.body, indent + "  ")
                lines.append(f"{indent}}}")
            else:
                lines.append(f'{indent}"{sid}" [label="{_label(sid)}\\n{_label(describe(pipeline, node))}"];')
            for dep in node.needs:
                src = _anchor(pipeline, dep)
                lines.append(f'{indent}"{src}" -> "{_anchor(pipeline, sid)}";')

    walk(pipeline.order, "  ")
    lines.append("}")
    return "\n".join(lines)


def _anchor(pipeline: CompiledPipeline, sid: str) -> str:
    """DOT cannot draw an edge to a cluster: use the loop's last body step."""
    node = pipeline.steps[sid]
    while node.loop and node.loop.body:
        node = pipeline.steps[node.loop.body[-1]]
    return node.id


RENDERERS = {"tree": render_tree, "mermaid": render_mermaid, "dot": render_dot}
