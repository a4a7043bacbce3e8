"""Every diagnostic code and what it means: the one place they are documented. docs/diagnostics.md's
table and the SARIF rules (report.py) are generated from here; a test keeps the docs in step
(`.venv/bin/python -m agentctl.diagnostic_codes > table.md` prints the table)."""

from __future__ import annotations

import re

CODES: dict[str, str] = {
    'E100': 'A file cannot be read (missing, a directory, no permission).',
    'E101': 'YAML syntax error, an unsupported tag (`!!python/...`), a non-scalar mapping key, or an alias to no complete anchor.',
    'E102': 'A key appears twice in one mapping (YAML would silently keep the last).',
    'E103': 'Aliases expand to more than 100,000 nodes (an alias bomb).',
    'E104': 'Nesting deeper than 100 levels.',
    'E105': 'File larger than 5 MB.',
    'E106': 'Binary data (a NUL byte) or bytes that are not UTF-8.',
    'E107': 'Empty file.',
    'E108': 'A pipeline file whose top level is not a mapping.',
    'E109': 'More than one YAML document in a file.',
    'E201': 'Unknown key (with did-you-mean).',
    'E202': 'Wrong type (a string where a number is expected, ...).',
    'E203': 'Missing required key.',
    'E204': 'Invalid value: not one of the allowed values, out of range, an invalid name, a malformed `module:function` or URL.',
    'E205': 'A tool without exactly one of `python:`, `http:`, `mcp:` (or `mcp_tool:` on a non-MCP tool).',
    'E206': 'A step without exactly one of `agent:`, `tool:`, `gate:`, `approval:`, `loop:`; or `with:`/`for_each:` on a step kind that takes none.',
    'E207': 'Duplicate step id.',
    'E301': 'Undefined model alias.',
    'E302': 'Undefined tool.',
    'E303': 'Undefined agent.',
    'E304': 'A prompt, schema or policy file that does not exist.',
    'E305': 'Undefined MCP server.',
    'E306': 'Undefined step (in `needs:`, `steps.<id>` or `previous.<id>`).',
    'E307': 'An expression reads an input that is not declared.',
    'E308': 'An environment variable (`${{ env.X }}` or `${env:X}`) that is not declared under `env:`.',
    'E309': 'A field the producer does not declare: absent from its output schema, read from a text output, a tool argument absent from its input schema, or `steps.<id>.<not output/status>`.',
    'E310': 'A step reads a step that does not run before it: itself, its enclosing loop, or a step that depends on it.',
    'E311': 'A path that leaves the project: absolute, `..` outside the root, or a symlink out.',
    'E312': 'A schema file that is not valid JSON or not a JSON Schema object.',
    'E315': 'A Python tool whose module or function cannot be found (read with `ast`, never imported).',
    'E316': "A role that is not declared: under a pipeline's `roles:`, a policy rule's `role:` or `approver:`, or any approver of a pipeline that has a policy; or `roles:` without a `policy:`.",
    'E401': 'Expression syntax: invalid Jinja, unclosed `${{`, empty, statements, unknown filter or test.',
    'E402': 'An expression reaching Python internals (`__class__`, any `_name`): refused at compile time.',
    'E403': 'An unknown name in an expression (`item` outside `for_each`, `previous` outside a loop, `args` outside a tool approval).',
    'E404': "An agent's `tools:` entry names more than one tool, or binds an argument the tool's declared `input_schema` does not have.",
    'E501': 'A dependency cycle through `needs:`.',
    'E502': 'A loop without a bound: a `loop:` without `max_iterations`, `for_each:` without `max_items`, an agent with tools without `max_iterations`.',
    'E503': 'An agent or step offered a tool whose `permission` is `deny`.',
    'E504': 'A side-effecting tool with a retry policy (side effects are never retried blindly).',
    'E601': 'Prompt file structure: no front matter, unclosed front matter, no role section, text before the first role.',
    'E602': 'Jinja syntax error, unknown filter or test in a prompt.',
    'E603': 'A prompt uses a variable it does not declare under `inputs:`.',
    'E604': 'A step does not pass an input its prompt (or tool) requires.',
    'E605': 'A step passes an input its prompt (or tool) does not declare.',
    'E606': 'A prompt reaching Python internals: refused at compile time.',
    'E607': "A prompt's text changed but its version did not (see `agentctl lock`).",
    'E701': "An agent or step budget larger than the run's budget in the same dimension.",
    'E702': "A USD budget applies to a model with no known price (or a zero price in litellm's data); declare it under `prices:`.",
    'E703': 'A USD budget applies to a model with no known output-token limit; set `params.max_tokens`.',
    'W704': "A USD budget applies to a model with no price in `prices:`, and litellm's price table is not installed (a light install without the `run` extra): USD bounds are not checked.",
    'E901': "An eval file's `pipeline:` does not exist or does not compile.",
    'E902': "An eval file's `data:` does not exist or is not a `.jsonl`, `.csv` or `.yaml` file.",
    'E903': 'An eval expression reads a name, output, step, input or run field the pipeline does not have, a judge is given an input it does not declare, or a threshold names a check or metric that does not exist.',
    'E904': 'An eval check gives both or neither of `expect:` and `judge:`, gives `with:` without a judge, or its judge pipeline has no output `pass`.',
    'E905': "An eval's batch budget in a dimension where a row's worst case has no bound (say tokens, with no context size for the model and no run budget): the batch could admit no row; give the pipeline a run budget in that dimension.",
    'W801': 'A step that can never run (a constant-false `when`, or waiting on such a step).',
    'W802': 'A definition never used (model, tool, agent, MCP server, input, env variable, price).',
    'W803': 'The worst-case cost of the run is above `max_cost_usd` (the run would be stopped by the budget).',
    'W804': 'A prompt declares an input it never uses.',
    'W805': 'A prompt version not recorded in `agentctl.lock`.',
    'W806': "An expression reads a field the producer's output schema declares but does not require, without `\\| default(...)` or `is defined`: when the field is left out it reads as null.",
    'W807': "A step with `allow_skipped: true` reads the output of a step that may be skipped, without `\\| default(...)` or a test of its `status`: a skipped step's output reads as null.",
    'W808': 'A policy rule that can never match: an earlier rule matches every call it does, no tool of the pipeline matches its tool pattern, its roles do not run the pipeline, or no tool it matches takes the argument it tests.',
    'W809': 'A tool the pipeline uses that a role running it can never call, because no policy rule applies to them (default deny); add a rule, a `deny` one when that is meant.',
}


def plain(code: str) -> str:
    """The description without Markdown (backticks)."""
    return CODES[code].replace("`", "")


def short(code: str) -> str:
    """The first sentence, plain."""
    text = plain(code)
    match = re.match(r"(.+?[.;:])(\s|$)", text)
    return match.group(1).rstrip(";:") + ("." if not match.group(1).endswith(".") else "") if match else text


def docs_table() -> str:
    lines = ["| code | what is wrong |", "|---|---|"]
    lines += [f'| <a id="{code.lower()}"></a>{code} | {text} |' for code, text in CODES.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(docs_table(), end="")
