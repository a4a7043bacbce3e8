"""The compiled graph as text: an indented tree, Mermaid, or Graphviz DOT, with worst-case bounds."""

from __future__ import annotations

from agentctl.compile.ir import CompiledPipeline, StepNode
from agentctl.compile.kinds import KINDS
from agentctl.dimensions import COUNTED, Bounds, Limits


def fmt_bounds(b: Bounds) -> str:
    return ", ".join(d.format(getattr(b, d.name)) for d in COUNTED)


def fmt_limits(limits: Limits) -> str:
    return " · ".join(f"{d.label} ≤ {v:g}" for d, v in limits.items()) or "none"


def describe(pipeline: CompiledPipeline, node: StepNode) -> str:
    text = KINDS[node.kind].describe(pipeline, node.do)
    if node.for_each:
        text += f" for each ≤ {node.for_each.max_items} (×{node.for_each.max_concurrency} at once)"
    if node.when is not None:
        text += " when …"
    return text


def render_tree(pipeline: CompiledPipeline, role: str | None = None) -> str:
    lines = [f"{pipeline.name} {pipeline.version}  ({pipeline.path})"]

    def walk(order: tuple[str, ...], prefix: str) -> None:
        for i, sid in enumerate(order):
            node = pipeline.steps[sid]
            last = i == len(order) - 1
            needs = f"  ← {', '.join(node.needs)}" if node.needs else ""
            lines.append(f"{prefix}{'└─' if last else '├─'} {sid}: {describe(pipeline, node)}{needs}")
            lines.append(f"{prefix}{'   ' if last else '│  '}   worst case: {fmt_bounds(node.bounds)}")
            if node.do.body:
                walk(node.do.body, prefix + ("   " if last else "│  "))

    walk(pipeline.order, "")
    lines.append(f"worst case for the run: {fmt_bounds(pipeline.bounds)}")
    lines.append(f"run budgets: {fmt_limits(pipeline.limits)}")
    return "\n".join(lines + render_permissions(pipeline, role))


def render_permissions(pipeline: CompiledPipeline, only: str | None = None) -> list[str]:
    """What each role that runs the pipeline may do with each tool, by its policy (first match;
    no match denies), then the tool's own precondition and approval."""
    from agentctl.errors import UsageError

    policy = pipeline.policy
    if policy is None and only is not None:
        raise UsageError(f"pipeline {pipeline.name} has no policy: every tool's own permission applies to every role",
                         "drop --role, or give the pipeline a policy: (docs/permissions.md)")
    if policy is None:
        return []
    if only is not None and only not in policy.runners:
        raise UsageError(f"role '{only}' does not run pipeline {pipeline.name}",
                         f"roles that may run it: {', '.join(policy.runners)}")
    lines = [f"permissions (policy; first match wins, no match denies; roles: {', '.join(policy.runners)}):"]
    for role in (only,) if only else policy.runners:
        lines.append(f"  role {role}:")
        lines += [f"    {name:<20} {permission(pipeline, role, name)}" for name in sorted(pipeline.tools)]
    return lines


def permission(pipeline: CompiledPipeline, role: str, name: str, numbered: bool = True) -> str:
    """What `role` may do with tool `name`: the policy's rules that decide its calls, in order,
    then the tool's own checks (`diff` compares these, without the rule numbers)."""
    from agentctl.compile.policy import access

    rules, rest = access(pipeline.policy, role, name)
    number = (lambda r: f" (rule {r.number})") if numbered else (lambda r: "")
    parts = [f"{_decision(r.decision, r.approver)} if {_args(r.args)}{number(r)}" for r in rules if r.args]
    final = next((r for r in rules if not r.args), None)
    parts.append(_decision(rest, final.approver if final else "") + (number(final) if final else ""))
    never = rest.startswith("deny") and len(parts) == 1
    return "; else ".join(parts) + ("" if never else _own(pipeline.tools[name]))


def _decision(decision: str, approver: str) -> str:
    return f"ask {approver}" if decision == "ask" else decision


def _args(args) -> str:
    return " and ".join(f"{k} ~ {v}" for k, v in args.items())


def _own(tool) -> str:
    """The tool's own checks, which apply after the policy allows a call."""
    extra = []
    if tool.when is not None:
        extra.append("precondition")
    if tool.permission == "ask" or tool.approval is not False:
        extra.append(f"{tool.approver} approves" + ("" if tool.permission == "ask" or tool.approval is True
                                                     else " when …"))
    return f"  [+ {', '.join(extra)}]" if extra else ""


def _label(text: str) -> str:
    return text.replace('"', "'")


def render_mermaid(pipeline: CompiledPipeline) -> str:
    lines = ["flowchart TD"]

    def walk(order: tuple[str, ...], indent: str) -> None:
        for sid in order:
            node = pipeline.steps[sid]
            if node.do.body:
                lines.append(f'{indent}subgraph {sid} ["{_label(sid + ": " + describe(pipeline, node))}"]')
                walk(node.do.body, indent + "  ")
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
            if node.do.body:
                lines.append(f"{indent}subgraph cluster_{sid} {{")
                lines.append(f'{indent}  label="{_label(sid + ": " + describe(pipeline, node))}";')
                walk(node.do.body, indent + "  ")
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
    """DOT cannot draw an edge to a cluster: use the last of the steps nested in it."""
    node = pipeline.steps[sid]
    while node.do.body:
        node = pipeline.steps[node.do.body[-1]]
    return node.id


RENDERERS = {"tree": render_tree, "mermaid": render_mermaid, "dot": render_dot}
