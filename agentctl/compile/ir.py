"""The compiled graph: the only thing the runner sees.

Everything here is frozen and resolved: model aliases carry their whole fallback chain with
prices, agents carry their compiled prompt and output schema, steps carry their dependencies,
their compiled expressions and their worst-case bounds. Values that may contain expressions
(`with:`, outputs, approval context) are "templates": plain data where strings holding `${{ }}`
have been replaced by `Expr` objects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Mapping

from agentctl.compile.expressions import Expr
from agentctl.compile.resource_pattern import resource_matches
from agentctl.diagnostics import SourceSpan
from agentctl.dimensions import Bounds, Limits

if TYPE_CHECKING:
    from agentctl.compile.kinds import StepDef

Template = Any  # plain data with Expr in place of expression strings


def frozen(mapping: Mapping) -> Mapping:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class Price:
    input_per_token: float
    output_per_token: float
    source: Literal["declared", "litellm"]


@dataclass(frozen=True)
class ModelTarget:
    model: str
    price: Price | None
    max_input_tokens: int | None
    max_output_tokens: int | None


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    initial_s: float
    max_s: float


@dataclass(frozen=True)
class BreakerPolicy:
    failures: int
    reset_s: float


@dataclass(frozen=True)
class ModelRoute:
    alias: str
    chain: tuple[ModelTarget, ...]  # primary first, then fallbacks in declared order
    params: Mapping[str, Any]
    timeout_s: float
    retry: RetryPolicy
    breaker: BreakerPolicy
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    version: str
    path: str
    sha256: str
    inputs: Mapping[str, Any]  # name -> PromptInput spec (type, default)
    required_inputs: frozenset[str]
    sections: tuple[tuple[str, str, int], ...]  # (role, jinja source, first line in file)


@dataclass(frozen=True)
class McpServerDef:
    name: str
    command: tuple[str, ...]
    env: Mapping[str, str]  # values may hold ${env:NAME}, resolved at run time
    cwd: str | None
    timeout_s: float


@dataclass(frozen=True)
class ToolDef:
    name: str
    kind: Literal["python", "http", "mcp"]
    target: str  # module:function, URL, or MCP server name
    remote_name: str | None
    method: str | None
    headers: Mapping[str, str]
    description: str | None
    input_schema: Mapping[str, Any] | None
    output_schema: Mapping[str, Any] | None
    side_effects: bool
    permission: Literal["allow", "ask", "deny"]
    approval: bool | Expr
    timeout_s: float
    rate_limit: tuple[int, float] | None
    retry: RetryPolicy | None
    when: Expr | None = None  # a precondition over args, inputs, env and earlier steps
    approver: str = "human"  # the role that answers this tool's approvals


@dataclass(frozen=True)
class AgentDef:
    name: str
    model: str  # a key of CompiledPipeline.models
    prompt: PromptTemplate
    tools: tuple[str, ...]
    output_schema: Mapping[str, Any] | None
    reasks: int
    max_iterations: int
    parallel_tool_calls: int
    max_input_tokens: int | None
    limits: Limits
    bound: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # tool -> argument -> template


@dataclass(frozen=True)
class ForEach:
    items: Expr
    name: str
    max_items: int
    max_concurrency: int


@dataclass(frozen=True, kw_only=True)
class StepDefBase:
    """What one kind of step does; each kind's definition (compile/kinds/) subclasses this."""

    kind: ClassVar[str]  # the step's key in YAML: agent, tool, gate, approval, loop
    body: tuple[str, ...] = ()  # the ids of the steps nested in this one, in execution order


@dataclass(frozen=True)
class StepNode:
    id: str
    span: SourceSpan
    parent: str | None  # the enclosing step (a loop), if any
    needs: tuple[str, ...]  # steps in the same scope that must finish first
    args: Template  # the `with:` mapping
    when: bool | Expr | None
    allow_skipped: bool
    for_each: ForEach | None
    limits: Limits
    bounds: Bounds
    do: "StepDef"  # what the step does: one definition per kind, see compile/kinds/
    output_schema: Mapping[str, Any] | None = None  # what steps.<id>.output holds, when known

    @property
    def kind(self) -> str:
        return self.do.kind


@dataclass(frozen=True)
class PolicyRule:
    number: int  # 1-based, as people count the rules
    where: str  # path:line:col, the path relative to the project root: the audit and refusals name it
    roles: tuple[str, ...]  # ("*",): every role
    tool: str  # a glob
    args: Mapping[str, str]  # argument -> glob over its value as text
    decision: Literal["allow", "deny", "ask"]
    approver: str

    @property
    def name(self) -> str:
        return f"policy rule {self.number} ({self.where})"

    def applies(self, role: str, tool: str) -> bool:
        return ("*" in self.roles or role in self.roles) and fnmatchcase(tool, self.tool)

    def matches(self, role: str, tool: str, args: Mapping[str, Any]) -> bool:
        return self.applies(role, tool) and all(
            name in args and resource_matches(pattern, as_text(args[name])) for name, pattern in self.args.items())


def as_text(value: Any) -> str:
    """An argument as a policy's pattern sees it: a string as is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


@dataclass(frozen=True)
class Policy:
    roles: tuple[str, ...]  # every role the policy names
    runners: tuple[str, ...]  # the roles that may run this pipeline (--role)
    rules: tuple[PolicyRule, ...]

    def first_match(self, role: str, tool: str, args: Mapping[str, Any]) -> PolicyRule | None:
        return next((r for r in self.rules if r.matches(role, tool, args)), None)


@dataclass(frozen=True)
class InputDef:
    name: str
    type: str
    required: bool
    default: Any
    enum: tuple | None
    description: str | None


@dataclass(frozen=True)
class CompiledPipeline:
    name: str
    version: str
    path: str
    root: str
    source_sha256: str
    description: str | None
    inputs: Mapping[str, InputDef]
    env: Mapping[str, bool]  # declared variable -> is secret
    models: Mapping[str, ModelRoute]
    tools: Mapping[str, ToolDef]
    mcp_servers: Mapping[str, McpServerDef]
    agents: Mapping[str, AgentDef]
    steps: Mapping[str, StepNode]
    order: tuple[str, ...]  # top-level steps in a valid execution order
    outputs: Template
    limits: Limits
    bounds: Bounds
    policy: Policy | None = None  # who may call which tool; None: every tool's own permission alone
    uncapped: Bounds | None = None  # the worst case before the run budgets cap it (diff compares it with them)
