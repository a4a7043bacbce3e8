"""The pipeline format `apiVersion: agentctl/v1` as pydantic models.

These models check shape only (keys, types, ranges); everything that needs more than one node
(references, graph, budgets, prompts) is the compiler's job, where errors can be located well.
Unknown keys are rejected everywhere. Strings may hold `${{ expression }}` templates.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from agentctl.dimensions import DIMENSIONS, Dimension

# `${env:NAME}` in configuration values (MCP env, HTTP URLs and headers), resolved at run time.
ENV_REF = re.compile(r"\$\{env:([^}]*)\}")

Name = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)]
ToolName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$", max_length=64)]
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
Expr = Annotated[str, Field(description="A `${{ expression }}` evaluated in a sandbox")]
PositiveInt = Annotated[int, Field(ge=1, le=10**12)]
Seconds = Annotated[float, Field(gt=0, le=86_400)]
SchemaRef = Annotated[
    str | dict[str, Any],
    Field(description="A JSON Schema: a path relative to the project root, or the schema inline"),
]


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=False)


class InputSpec(Spec):
    type: Literal["string", "number", "integer", "boolean", "object", "array"] = "string"
    description: str | None = None
    default: Any = Field(None, description="Makes the input optional")
    enum: list[Any] | None = None


class EnvVar(Spec):
    """An environment variable the pipeline may read. Secrets are redacted from every record."""

    description: str | None = None
    secret: bool = True
    required: bool = True


class Price(Spec):
    """USD per million tokens; declared prices override litellm's price data."""

    input_per_mtok: Annotated[float, Field(ge=0)]
    output_per_mtok: Annotated[float, Field(ge=0)]


class Retry(Spec):
    """Capped exponential backoff with full jitter, on retryable errors only."""

    max_attempts: Annotated[int, Field(ge=1, le=20)] = 3
    initial_s: Annotated[float, Field(gt=0, le=600)] = 1.0
    max_s: Annotated[float, Field(gt=0, le=3600)] = 30.0


class CircuitBreaker(Spec):
    failures: Annotated[int, Field(ge=1, le=1000)] = 5
    reset_s: Seconds = 60.0


class ModelRateLimit(Spec):
    """The provider's limits for this model: calls wait their turn instead of failing with 429s."""

    requests_per_minute: PositiveInt | None = None
    tokens_per_minute: PositiveInt | None = Field(None, description="Input (estimated) plus max_tokens per call")


class ModelAlias(Spec):
    model: str = Field(description="A litellm model name, e.g. openai/gpt-4o-mini")
    fallbacks: list[str] = Field(default_factory=list, description="Tried in order when `model` fails")
    params: dict[str, Any] = Field(default_factory=dict, description="temperature, max_tokens, ...")
    timeout_s: Seconds = 60.0
    retry: Retry = Retry()
    circuit_breaker: CircuitBreaker = CircuitBreaker()
    rate_limit: ModelRateLimit | None = Field(None, description="Shared by every run and eval row in the process")


def _limit_field(d: Dimension) -> tuple:
    bounds: dict[str, float] = {"gt" if d.exclusive else "ge": d.minimum}
    if d.maximum is not None:
        bounds["le"] = d.maximum
    return Annotated[d.type, Field(**bounds)] | None, Field(None, description=d.description)


Budgets = create_model("Budgets", __base__=Spec, __doc__="Hard limits. Checked before each call, not only after.",
                       **{d.limit: _limit_field(d) for d in DIMENSIONS})


class McpServer(Spec):
    command: Annotated[list[str], Field(min_length=1)]
    env: dict[EnvName, str] = Field(default_factory=dict, description="Values may use ${env:NAME}")
    cwd: str | None = None
    timeout_s: Seconds = 30.0


class HttpEndpoint(Spec):
    url: str
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict, description="Values may use ${env:NAME}")


class RateLimit(Spec):
    calls: PositiveInt
    per_s: Seconds


class Tool(Spec):
    """Exactly one of python, http or mcp says where the tool lives."""

    description: str | None = None
    python: str | None = Field(None, description="module:function, importable from the project root")
    http: HttpEndpoint | None = None
    mcp: Name | None = Field(None, description="Name of an entry in mcp_servers")
    mcp_tool: str | None = Field(None, description="The tool's name on the MCP server (default: this key)")
    input_schema: SchemaRef | None = None
    output_schema: SchemaRef | None = None
    side_effects: bool = Field(False, description="Gets an idempotency key; never retried blindly")
    permission: Literal["allow", "ask", "deny"] = Field(
        "allow", description="deny: no agent or step may use it; ask: a human approves every call")
    approval: bool | Expr = Field(False, description="Ask a human before the call when true; may read args, "
                                  "inputs, env and the steps before the calling step")
    when: Expr | None = Field(None, description="A precondition: a call for which it is false is refused (and the "
                              "model told); reads args, inputs, env and the steps before the calling step")
    approver: Name = Field("human", description="Who answers this tool's approvals: a role (agentctl approve --as "
                           "ROLE); human: anyone")
    timeout_s: Seconds = 30.0
    rate_limit: RateLimit | None = None
    retry: Retry | None = None


class ToolUse(Spec):
    """How an agent may use a tool: arguments bound by the pipeline, which the model neither sees
    nor can set (e.g. the authenticated customer's id)."""

    with_: dict[Name, Any] = Field(default_factory=dict, alias="with",
                                   description="Bound arguments: name -> value or expression over inputs, env and "
                                               "the steps before the calling step")


class Agent(Spec):
    model: Name = Field(description="A key of `models`")
    prompt: str = Field(description="Path of a .prompt file, relative to the project root")
    description: str | None = None
    tools: list[ToolName | dict[ToolName, ToolUse]] = Field(
        default_factory=list, description="The only tools the agent may call: a name, or {name: {with: {arg: value}}} "
                                          "to bind arguments the model cannot see or set")
    output_schema: SchemaRef | None = None
    reasks: Annotated[int, Field(ge=0, le=10)] = 0
    max_iterations: Annotated[int, Field(ge=1, le=100)] | None = Field(
        None, description="Bound of the tool-calling loop; required when the agent has tools")
    parallel_tool_calls: Annotated[int, Field(ge=1, le=32)] = 1
    max_input_tokens: PositiveInt | None = None
    budgets: Budgets | None = None


class Gate(Spec):
    check: bool | Expr
    message: str | None = None
    on_fail: Literal["fail", "warn", "approve"] = "fail"


class ApprovalTier(Spec):
    """The first tier whose `when` holds decides who approves; `auto` approves without asking."""

    when: bool | Expr = True
    approver: Name = Field(description="`auto`, or a role such as manager or director")


class Approval(Spec):
    message: str
    context: dict[str, Any] = Field(default_factory=dict, description="Values shown to the approver")
    tiers: list[ApprovalTier] = Field(default_factory=list)
    approver: Name = "human"


class Loop(Spec):
    """Repeat the body until `until` holds, at most `max_iterations` times."""

    max_iterations: Annotated[int, Field(ge=1, le=1000)] | None = None
    until: bool | Expr
    steps: Annotated[list["Step"], Field(min_length=1)]


class StepBase(Spec):
    """What every step has; `Step` adds one field per step kind (STEP_KINDS)."""

    id: Name
    description: str | None = None
    with_: dict[Name, Any] = Field(default_factory=dict, alias="with")
    when: bool | Expr | None = None
    needs: list[Name] = Field(default_factory=list)
    allow_skipped: bool = Field(False, description="Run even when a step it needs was skipped")
    for_each: Expr | None = None
    as_: Name = Field("item", alias="as")
    max_items: Annotated[int, Field(ge=1, le=100_000)] | None = None
    max_concurrency: Annotated[int, Field(ge=1, le=1000)] = 4
    budgets: Budgets | None = None


# The step kinds' shapes in YAML, one line each: a step has exactly one of these keys.
STEP_KINDS: dict[str, Any] = {
    "agent": Annotated[Name, Field(description="Run this agent (a key of `agents`)")],
    "tool": Annotated[ToolName, Field(description="Call this tool directly, without a model")],
    "gate": Gate,
    "approval": Approval,
    "loop": Loop,
}

Step = create_model("Step", __base__=StepBase,
                    __doc__=f"Exactly one of {', '.join(STEP_KINDS)} says what the step does.",
                    **{kind: (shape | None, None) for kind, shape in STEP_KINDS.items()})


class PolicyRule(Spec):
    """One rule of a policy: the first rule matching the run's role, the tool and the call's
    arguments decides; no match denies."""

    role: Literal["*"] | Name | list[Name] = Field("*", description="The role (or list of roles) the rule is for; * or left out: "
                                                     "every role")
    tool: Annotated[str, Field(min_length=1, max_length=128)] = Field(
        "*", description="A tool name or glob pattern (refund_*, *); left out: every tool")
    args: dict[Name, str] = Field(default_factory=dict, description="Argument -> glob pattern its value (as text) "
                                  "must match, e.g. {path: 'reports/*'}; every one must match")
    decision: Literal["allow", "deny", "ask"] = Field(description="allow, deny, or ask the approver")
    approver: Name = Field("human", description="Who answers when decision is ask: a role of the policy, or human")
    description: str | None = None


class Policy(Spec):
    """Who may call which tool: role x tool pattern x argument pattern -> allow, deny or ask.
    First match wins; a call no rule matches is denied."""

    roles: Annotated[list[Name], Field(min_length=1)] = Field(description="Every role the rules and approvals name")
    rules: Annotated[list[PolicyRule], Field(min_length=1)]


class Pipeline(Spec):
    api_version: Literal["agentctl/v1"] = Field(alias="apiVersion")
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)]
    version: str | int
    description: str | None = None
    inputs: dict[Name, InputSpec] = Field(default_factory=dict)
    env: dict[EnvName, EnvVar] = Field(default_factory=dict)
    models: dict[Name, ModelAlias] = Field(default_factory=dict)
    prices: dict[str, Price] = Field(default_factory=dict, description="USD per million tokens, by model")
    budgets: Budgets = Budgets()
    mcp_servers: dict[Name, McpServer] = Field(default_factory=dict)
    tools: dict[ToolName, Tool] = Field(default_factory=dict)
    agents: dict[Name, Agent] = Field(default_factory=dict)
    roles: list[Name] = Field(default_factory=list, description="The roles that may run this pipeline (--role); "
                              "default: every role of its policy")
    policy: Policy | str | None = Field(None, description="Who may call which tool: inline, or the path of a "
                                        "project-level policy file the pipelines share")
    steps: Annotated[list[Step], Field(min_length=1)]
    outputs: dict[Name, Any] = Field(default_factory=dict)


Loop.model_rebuild(_types_namespace={"Step": Step})


class PromptInput(Spec):
    type: Literal["string", "number", "integer", "boolean", "object", "array"] = "string"
    description: str | None = None
    default: Any = None


class PromptFrontMatter(Spec):
    name: Name
    version: str | int
    description: str | None = None
    model: str | None = Field(None, description="Informational: the model this prompt was written for")
    inputs: dict[Name, PromptInput] = Field(default_factory=dict)
    sample: dict[str, Any] = Field(default_factory=dict, description="Used by diff and render")
