"""What each key of the pipeline format means, for editors' hovers (the JSON Schemas) and for the
field reference in docs/format.md, both generated from here and from the models' own Field
descriptions. A test fails when a property of the pipeline schema has no description."""

from __future__ import annotations

import json
from typing import Any

DESCRIPTIONS: dict[str, str] = {
    "Pipeline.apiVersion": "The format version: agentctl/v1.",
    "Pipeline.name": "The pipeline's name (letters, digits, '_' and '-'), shown in runs, traces and the journal.",
    "Pipeline.version": "The pipeline's version, a string or an integer; recorded with every run.",
    "Pipeline.description": "What the pipeline does, for people.",
    "Pipeline.inputs": "The inputs a run takes: name -> {type, description, default, enum}; a default makes it optional.",
    "Pipeline.env": "Environment variables the pipeline may read (${{ env.NAME }}, ${env:NAME}); secrets are "
                    "masked in every record.",
    "Pipeline.models": "Model aliases agents use: {model, fallbacks, params, timeout_s, retry, circuit_breaker, "
                       "rate_limit}.",
    "Pipeline.budgets": "Run limits: max_steps, max_llm_calls, max_tool_calls, max_tokens, max_cost_usd, max_wall_s.",
    "Pipeline.mcp_servers": "MCP servers started over stdio for the run's MCP tools: name -> {command, env, cwd, "
                            "timeout_s}.",
    "Pipeline.tools": "Tools agents and tool steps call: a Python function, an HTTP endpoint or an MCP server's tool.",
    "Pipeline.agents": "Agents: a model alias, a prompt file, the tools it may call, an output schema and limits.",
    "Pipeline.steps": "The graph: each step runs an agent, a tool, a gate, an approval or a loop; order comes from "
                      "the data steps read and needs:.",
    "Policy.rules": "Ordered rules {role, tool, args, decision, approver}: the first that matches a call decides; "
                    "a call no rule matches is denied.",
    "PolicyRule.description": "Why the rule is there, for people (reviewers read the policy).",
    "Pipeline.outputs": "The run's outputs: name -> value (expressions over inputs and steps).",
    "Agent.budgets": "Limits for each execution of this agent, within the run's budgets.",
    "Agent.description": "What the agent does, for people.",
    "Agent.max_input_tokens": "Refuse a rendered prompt larger than this many tokens (estimated), naming the input "
                              "that grew.",
    "Agent.output_schema": "A JSON Schema (file or inline) the answer must satisfy; later steps' reads of its fields "
                           "are checked against it.",
    "Agent.parallel_tool_calls": "The most tool calls the model may ask for in one turn; extra calls are refused.",
    "Agent.reasks": "How many times an answer that does not match the output schema is sent back to be fixed.",
    "Approval.approver": "Who is asked when no tier applies: a role (human, manager, ...) or auto.",
    "Approval.message": "What the approver is asked; may hold expressions.",
    "Approval.tiers": "Ordered {when, approver} pairs: the first tier whose when: holds picks the approver.",
    "ApprovalTier.when": "When this tier applies (an expression); a tier without when: always applies.",
    "CircuitBreaker.failures": "Consecutive failures of a model after which it is skipped for reset_s seconds.",
    "CircuitBreaker.reset_s": "Seconds a tripped model is skipped before it is tried again.",
    "EnvVar.description": "What the variable is for, for people.",
    "EnvVar.required": "Refuse to run when the variable is not set.",
    "EnvVar.secret": "Mask the variable's value in the journal, traces, cassettes, logs and output.",
    "Gate.check": "An expression that must hold for the run to go on.",
    "Gate.message": "Why the gate stopped the run (shown when the check is false); may hold expressions.",
    "Gate.on_fail": "fail (stop the run), warn (go on with a warning) or approve (ask a human).",
    "HttpEndpoint.method": "The HTTP method (POST by default; GET and DELETE send the arguments as query parameters).",
    "HttpEndpoint.url": "The endpoint's URL; may read declared variables as ${env:NAME}.",
    "InputSpec.description": "What the input is, for people and for --help of the run.",
    "InputSpec.enum": "The values the input may take.",
    "InputSpec.type": "The input's type: string, integer, number, boolean, array or object.",
    "Loop.max_iterations": "The most times the body runs (every loop is bounded).",
    "Loop.steps": "The loop's body: steps run in each iteration.",
    "Loop.until": "An expression checked after each iteration: the loop ends when it holds.",
    "McpServer.command": "The server's command line, as a list: [program, arg, ...].",
    "McpServer.cwd": "The folder the server runs in (default: the project root).",
    "McpServer.timeout_s": "Seconds to wait for the server to start and for each of its answers.",
    "ModelAlias.circuit_breaker": "Skip a model after consecutive failures: {failures, reset_s}.",
    "ModelAlias.retry": "Retries of a failed call to the same model: {max_attempts, initial_s, max_s}.",
    "ModelAlias.timeout_s": "Seconds one model call may take.",
    "ModelRateLimit.requests_per_minute": "The most requests to this alias per minute, shared by every run and row "
                                          "of the process; requests wait their turn.",
    "Price.input_per_mtok": "USD per million input tokens.",
    "Price.output_per_mtok": "USD per million output tokens.",
    "RateLimit.calls": "How many calls are allowed per period.",
    "RateLimit.per_s": "The period, in seconds.",
    "Retry.initial_s": "Seconds before the first retry; the wait doubles, with jitter.",
    "Retry.max_attempts": "Attempts in all, the first included.",
    "Retry.max_s": "The longest wait between attempts, in seconds.",
    "Step.agent": "Run this agent: render its prompt with with:, call its model, run its tool loop.",
    "Step.approval": "Ask a person (or approve automatically) before the steps that need this one.",
    "Step.as": "The name of the current element in a for_each step (default: item).",
    "Step.budgets": "Limits for this step, within the run's budgets.",
    "Step.description": "What the step does, for people.",
    "Step.for_each": "Run the step once per element of this list (an expression); its output is the list of results.",
    "Step.gate": "A check that must hold: {check, message, on_fail}.",
    "Step.id": "The step's id (letters, digits and '_'), read as steps.<id> by later steps.",
    "Step.loop": "Repeat a body of steps: {max_iterations, until, steps}.",
    "Step.max_concurrency": "The most elements of a for_each step in flight at once.",
    "Step.max_items": "The most elements a for_each step may take (every fan-out is bounded).",
    "Step.needs": "Steps this one runs after, besides those whose output it reads.",
    "Step.tool": "Call this tool directly, with with: as its arguments.",
    "Step.when": "Run the step only when this expression holds; otherwise it is skipped.",
    "Step.with": "The agent's prompt inputs or the tool's arguments; values may be expressions.",
    "Tool.description": "What the tool does, as the model is told.",
    "Tool.http": "Call an HTTP endpoint: {url, method, headers}.",
    "Tool.input_schema": "A JSON Schema for the arguments (default: from the function's type hints or the MCP server).",
    "Tool.output_schema": "A JSON Schema the result must satisfy; later steps' reads are checked against it.",
    "Tool.rate_limit": "The most calls per period, {calls, per_s}; calls wait their turn.",
    "Tool.retry": "Retries of a failed call: {max_attempts, initial_s, max_s}.",
    "Tool.timeout_s": "Seconds one call may take.",
    "PromptFrontMatter.name": "The prompt's name, recorded with every run and in agentctl.lock.",
    "PromptFrontMatter.version": "The prompt's version: bump it when the text changes (agentctl lock records each).",
    "PromptFrontMatter.description": "What the prompt is for, for people.",
    "PromptFrontMatter.inputs": "The variables the template reads: name -> {type, description, default}.",
    "PromptInput.type": "The variable's type: string, integer, number, boolean, array or object.",
    "PromptInput.description": "What the variable holds, for people.",
    "PromptInput.default": "The value when the step does not pass one (a variable without a default is required).",
    "EvalFile.apiVersion": "The format version: agentctl/v1.",
    "EvalFile.name": "The eval's name (default: the file name).",
    "EvalFile.description": "What the eval checks, for people.",
    "EvalFile.checks": "What every row must satisfy: expressions (expect:) or judge pipelines (judge:, with:).",
    "EvalFile.concurrency": "Rows in flight at once; model calls stay capped by each model's rate_limit.",
    "EvalFile.budgets": "Limits for the whole batch, kept by admission: a row starts only while its worst case fits.",
    "EvalFile.thresholds": "What the batch must reach: pass_rate, per-check rates, max_error_rate, metric maxima.",
    "Check.name": "The check's name, in reports and thresholds.checks.",
}

# Examples an editor offers on completion, where a value's form is not obvious from its type.
EXAMPLES: dict[str, list] = {
    "ModelAlias.model": ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5", "bedrock/anthropic.claude-3-haiku"],
    "Agent.prompt": ["prompts/triage.prompt"],
    "Agent.output_schema": ["schemas/triage.json"],
    "Tool.python": ["tools.booking:book_hotel"],
    "McpServer.command": [["python", "-m", "tools.itinerary_server"]],
    "Step.when": ["${{ steps.classify.output.intent == 'itinerary' }}"],
    "Gate.check": ["${{ steps.quote.output.total_usd < 500 }}"],
    "Pipeline.budgets": [{"max_cost_usd": 0.5, "max_llm_calls": 20, "max_wall_s": 300}],
    "Pipeline.env": [{"OPENAI_API_KEY": {"secret": True}}],
    "EvalFile.data": ["evals/triage.jsonl"],
    "EvalFile.row_id": ["${{ row.id }}"],
}

SCHEMA_IDS = {"pipeline.schema.json": "urn:agentctl:schema:pipeline:v1",
              "prompt.schema.json": "urn:agentctl:schema:prompt:v1",
              "eval.schema.json": "urn:agentctl:schema:eval:v1",
              "policy.schema.json": "urn:agentctl:schema:policy:v1"}


def describe(schema: dict, top: str) -> dict:
    """`schema` (pydantic's) with every property described: its own Field description, else ours."""
    def fill(model: str, node: dict) -> None:
        for key, prop in node.get("properties", {}).items():
            if "description" not in prop and f"{model}.{key}" in DESCRIPTIONS:
                prop["description"] = DESCRIPTIONS[f"{model}.{key}"]
            if f"{model}.{key}" in EXAMPLES:
                prop["examples"] = EXAMPLES[f"{model}.{key}"]
    fill(top, schema)
    for name, node in schema.get("$defs", {}).items():
        fill(name, node)
    return schema


def undescribed(schema: dict) -> list[str]:
    found = [f"{k}" for k, p in schema.get("properties", {}).items() if "description" not in p]
    for name, node in schema.get("$defs", {}).items():
        found += [f"{name}.{k}" for k, p in node.get("properties", {}).items() if "description" not in p]
    return found


def reference(schema: dict) -> str:
    """The field reference of docs/format.md: every model's keys with their descriptions."""
    lines = []
    models: list[tuple[str, dict]] = [("Pipeline", schema), *sorted(schema.get("$defs", {}).items())]
    for name, node in models:
        props = node.get("properties", {})
        if not props:
            continue
        lines += [f"#### {name}", "", "| key | meaning |", "|---|---|"]
        lines += [f"| `{key}` | {_cell(prop.get('description', ''))} |" for key, prop in props.items()]
        lines.append("")
    return "\n".join(lines)


def _cell(text: Any) -> str:
    return json.dumps(text)[1:-1].replace("|", "\\|") if not isinstance(text, str) else text.replace("|", "\\|")


if __name__ == "__main__":
    from agentctl.api import json_schemas

    print(reference(json_schemas()["pipeline.schema.json"]), end="")
