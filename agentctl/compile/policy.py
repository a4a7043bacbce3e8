"""A pipeline's `policy:` (inline, or a project-level file the pipelines share) compiled into
ir.Policy, with the mistakes `validate` reports: roles that are not declared (E316), rules that can
never match (W808), and tools a role that runs the pipeline can never call (W809).

`access` answers "what may this role do with this tool", for W809 and for `graph`."""

from __future__ import annotations

import os
from fnmatch import fnmatchcase
from typing import Any, Iterator

from agentctl.compile.context import Ctx
from agentctl.compile.ir import Policy, PolicyRule, ToolDef
from agentctl.compile.references import StepInfo
from agentctl.compile.resource_pattern import resource_matches
from agentctl.diagnostics import DiagnosticSink
from agentctl.spec import models
from agentctl.spec.yaml_source import SourceMap, YamlPath

ANYONE = ("human", "auto")  # approvers that are not roles: any person; no one (approved at once)
_GLOB = set("*?[")


def compile_policy(ctx: Ctx, tools: dict[str, ToolDef], infos: list[StepInfo]) -> Policy | None:
    spec = ctx.spec
    if spec.policy is None:
        if spec.roles:
            ctx.sink.error("E316", "roles: names who may run the pipeline, but it has no policy:",
                           ctx.smap.key(("roles",)), "add a policy: (inline or a policy file), or remove roles:")
        return None
    loaded = _load(ctx)
    if loaded is None:
        return None
    policy_spec, smap, base, shared = loaded
    declared = set(policy_spec.roles)
    sink = ctx.sink
    for i, role in enumerate(spec.roles):
        if role not in declared:
            sink.error("E316", f"role '{role}' is not declared by the policy", ctx.smap.value(("roles", i)),
                       f"declared roles: {', '.join(policy_spec.roles)}")
    rules = tuple(_rule(i, r, smap, base, declared, sink, ctx.project.root)
                  for i, r in enumerate(policy_spec.rules))
    _check_approvers(ctx, declared, infos)
    policy = Policy(tuple(policy_spec.roles), tuple(spec.roles) or tuple(policy_spec.roles), rules)
    if not sink.has_errors:  # a misnamed role would also make its rules look unreachable: one report
        _warn_unreachable(ctx, policy, smap, base, tools, shared)
        _warn_never_allowed(ctx, policy, tools)
    return policy


def _load(ctx: Ctx) -> tuple[models.Policy, SourceMap, YamlPath, bool] | None:
    """The policy's spec, the source map its locations come from, its path there, and whether it
    is a shared file (whose rules may be for other pipelines' tools)."""
    ref = ctx.spec.policy
    if isinstance(ref, models.Policy):
        return ref, ctx.smap, ("policy",), False
    from agentctl.compile.project import display_path
    from agentctl.spec.load import load_spec

    path, diag = ctx.project.resolve(ref, ctx.smap.value(("policy",)), "policy")
    if diag is not None:
        ctx.sink.add(diag)
        return None
    loaded, diags = load_spec(models.Policy, path, display_path(path), "a policy")
    ctx.sink.extend(diags)
    return (loaded[0], loaded[2], (), True) if loaded is not None else None


def _rule(i: int, rule: models.PolicyRule, smap: SourceMap, base: YamlPath, declared: set[str],
          sink: DiagnosticSink, root) -> PolicyRule:
    path = (*base, "rules", i)
    roles = tuple(rule.role) if isinstance(rule.role, list) else (rule.role,)
    for j, role in enumerate(roles):
        if role != "*" and role not in declared:
            where = (*path, "role", j) if isinstance(rule.role, list) else (*path, "role")
            sink.error("E316", f"rule {i + 1} names role '{role}', which the policy does not declare",
                       smap.value(where), f"declare it under roles:, or use one of: {', '.join(sorted(declared))}")
    if rule.approver not in ANYONE and rule.approver not in declared:
        sink.error("E316", f"rule {i + 1} asks role '{rule.approver}', which the policy does not declare",
                   smap.value((*path, "approver")), "declare it under roles:, or ask human")
    span = smap.value(path)
    where = f"{os.path.relpath(os.path.abspath(span.path), root)}:{span.line}:{span.col}"
    return PolicyRule(i + 1, where, roles, rule.tool, dict(rule.args), rule.decision, rule.approver)


def _check_approvers(ctx: Ctx, declared: set[str], infos: list[StepInfo]) -> None:
    """With a policy, every approver a pipeline names is one of its roles (a typo would leave an
    approval no one may answer)."""
    for path, role in _approvers(ctx, infos):
        if role not in ANYONE and role not in declared:
            ctx.sink.error("E316", f"approver '{role}' is not a role of the policy", ctx.smap.value(path),
                           f"use one of: {', '.join(sorted(declared))}, human or auto")


def _approvers(ctx: Ctx, infos: list[StepInfo]) -> Iterator[tuple[YamlPath, str]]:
    for name, tool in ctx.spec.tools.items():
        yield ("tools", name, "approver"), tool.approver
    for info in infos:  # every step, those in loops too
        if info.spec.approval is not None:
            yield (*info.path, "approval", "approver"), info.spec.approval.approver
            for j, tier in enumerate(info.spec.approval.tiers):
                yield (*info.path, "approval", "tiers", j, "approver"), tier.approver


def covers(earlier: PolicyRule, later: PolicyRule) -> bool:
    """Every call `later` matches, `earlier` matches first (checked conservatively: a pattern covers
    itself, everything (`*` for tools, `**` for arguments), or a literal value it matches)."""
    roles = "*" in earlier.roles or ("*" not in later.roles and set(later.roles) <= set(earlier.roles))
    return roles and _tool_covers(earlier.tool, later.tool) and all(
        name in later.args and _arg_covers(pattern, later.args[name]) for name, pattern in earlier.args.items())


def _tool_covers(wide: str, narrow: str) -> bool:
    return wide == "*" or wide == narrow or (not _GLOB & set(narrow) and fnmatchcase(narrow, wide))


def _arg_covers(wide: str, narrow: str) -> bool:
    if wide == narrow or (wide == "**" and resource_matches("**", narrow)):
        return True
    return not _GLOB & set(narrow) and resource_matches(wide, narrow)


def _warn_unreachable(ctx: Ctx, policy: Policy, smap: SourceMap, base: YamlPath, tools: dict[str, ToolDef],
                      shared: bool) -> None:
    for i, rule in enumerate(policy.rules):
        found = next(((f"rule {e.number} before it matches every call it does",
                       f"remove it, or move it before rule {e.number}") for e in policy.rules[:i] if covers(e, rule)),
                     None)
        if found is None and not shared:  # a shared file's rules may be for other pipelines
            found = _unused_here(rule, policy, tools)
        if found:
            why, hint = found
            ctx.sink.warning("W808", f"rule {rule.number} can never match: {why}", smap.value((*base, "rules", i)),
                             hint)


def _unused_here(rule: PolicyRule, policy: Policy, tools: dict[str, ToolDef]) -> tuple[str, str] | None:
    from agentctl.diagnostics import suggest

    matching = [t for t in tools.values() if fnmatchcase(t.name, rule.tool)]
    if not matching:
        return f"no tool of the pipeline matches '{rule.tool}'", suggest(rule.tool, tools)
    if "*" not in rule.roles and not set(rule.roles) & set(policy.runners):
        return (f"its roles ({', '.join(rule.roles)}) do not run this pipeline (roles: {', '.join(policy.runners)})",
                "add the role to the pipeline's roles:, or remove the rule")
    for name in rule.args:
        if all(_declares_no(t, name) for t in matching):
            takes = sorted({a for t in matching for a in (t.input_schema or {}).get("properties", {})})
            return f"no tool it matches takes an argument '{name}'", suggest(name, takes)
    return None


def _declares_no(tool: ToolDef, arg: str) -> bool:
    props = (tool.input_schema or {}).get("properties")
    return isinstance(props, dict) and arg not in props


def access(policy: Policy, role: str, tool: str) -> tuple[list[PolicyRule], str]:
    """The rules that may decide calls of `tool` by `role`, in order (those with argument patterns
    decide only some calls), and what happens to the calls none of them matches: a decision, or
    'deny (no rule)'."""
    found: list[PolicyRule] = []
    for rule in policy.rules:
        if rule.applies(role, tool):
            found.append(rule)
            if not rule.args:
                return found, rule.decision
    return found, "deny (no rule)"


def _warn_never_allowed(ctx: Ctx, policy: Policy, tools: dict[str, Any]) -> None:
    """A tool the pipeline gives an agent or a step that a role running it can never call, because
    no rule mentions them together: most likely a forgotten rule (an explicit deny is intended)."""
    for tool in sorted(ctx.used["tools"] & set(tools)):
        for role in policy.runners:
            if not access(policy, role, tool)[0]:
                ctx.sink.warning("W809", f"role '{role}' can never call tool '{tool}': no policy rule applies "
                                 "(default deny)", ctx.smap.key(("tools", tool)),
                                 f"add a rule for role {role} and tool {tool} (allow, ask, or deny to say it is meant)")
