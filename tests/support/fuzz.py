"""A mutation fuzzer for `validate` and `graph`: pipelines and prompts derived from the golden
project and the examples by a few random edits each, then checked the way the CLI uses them.

An input passes when every command ends with diagnostics or a clean result: never an internal
error (an exception that is not an AgentctlError), never a hang. Used by scripts/fuzz.py (10,000
inputs, crashers saved to tests/fuzz_corpus/) and by tests/compile/test_fuzz.py (the corpus and a
seeded sample).
"""

from __future__ import annotations

import io
import random
import re
import shutil
import signal
import traceback
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden"
SEED_PIPELINES = sorted((GOLDEN / "cases").glob("*.yaml")) + [GOLDEN / "base.yaml"] + sorted((REPO / "pipelines").glob("*.yaml"))
SEED_PROMPTS = sorted((GOLDEN / "prompts").glob("*.prompt")) + sorted((REPO / "prompts").glob("*.prompt"))

SCALARS = [
    "", "~", "null", "true", "-1", "0", "1e309", "nan", ".inf", "9" * 40, "1" * 5000, "-0.0", "0x1F", "1_000",
    "[]", "{}", "[[[[[[]]]]]]", "{a: {b: {c: {}}}}", "'", '"', "\\", "|", ">", "&a x", "*a", "*undefined",
    "!!python/object/apply:os.system [ls]", "!!binary AAAA", "!!timestamp 2001-12-14", "2001-12-14", "\t",
    "${{", "}}", "${{ }}", "${{ steps }}", "${{ steps.first.output.answer.x.y }}", "${{ inputs.text * 10**9 }}",
    "${{ range(10**9) | list }}", "${{ (((((((((((((1))))))))))))) }}", "${{ [" * 50 + "1" + "]" * 50 + " }}",
    "${{ ''.__class__.__mro__ }}", "${{ lipsum.__globals__ }}", "${{ cycler.__init__ }}", "${{ 'a' | format('%r') }}",
    "${{ steps.first.output | default(none) }}", "${{ 1/0 }}", "${{ 10**10**10 }}", "${{ x if y else z }}",
    "prompts/../../etc/passwd", "/etc/passwd", "schemas/out.json#/x", "tools.search:nope", "os:system",
    "subprocess:getoutput", "\u202e\u0000", "é" * 300, "😀", "a" * 100_000,
]
PROMPT_SNIPPETS = [
    "{{", "}}", "{%", "%}", "{#", "{% if x %}", "{% endif %}", "{% for i in range(100000) %}{% endfor %}",
    "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", "{{ self }}", "{{ namespace(a=1) }}", "{% set x = 1 %}",
    "{% include 'x' %}", "{% import 'x' as y %}", "{% extends 'x' %}", "{% raw %}", "{% endraw %}",
    "{{ 'x' * 10**9 }}", "{{ text.__class__ }}", "{{ text | format('%s' * 1000) }}", "{% filter upper %}",
    "{% call m() %}{% endcall %}", "system:", "user:", "assistant:", "---", "inputs:", "  text: {type: blob}",
    "version: -1", "name: ''", "{{ text ~ text ~ text }}", "{% if " + "(" * 200 + "1" + ")" * 200 + " %}{% endif %}",
]


@dataclass
class Outcome:
    ok: bool
    problem: str = ""  # the traceback of an internal error, or "hang"


def mutate_text(text: str, rng: random.Random, tokens: list[str], edits: int, donors: list[Path]) -> str:
    lines = text.split("\n")
    words = sorted(set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))) or ["x"]
    for _ in range(edits):
        if not lines:
            lines = [""]
        i = rng.randrange(len(lines))
        op = rng.choices(range(10), weights=(4, 1, 1, 1, 1, 1, 3, 1, 2, 3))[0]
        if op == 8:  # a line from another file: valid YAML or Jinja, out of place
            lines.insert(i, rng.choice(rng.choice(donors).read_text().split("\n")))
            continue
        if op == 9:  # one name for another: references to the wrong thing, cycles, duplicates
            lines[i] = re.sub(r"[A-Za-z_][A-Za-z0-9_]*", lambda m: rng.choice(words) if rng.random() < 0.3
                              else m.group(0), lines[i])
            continue
        if op == 0 and ":" in lines[i]:  # a value replaced, often quoted so the YAML still reads
            key, token = lines[i].split(":", 1)[0], rng.choice(tokens)
            lines[i] = f"{key}: {_quoted(token) if rng.random() < 0.6 else token}"
        elif op == 1:
            del lines[i]
        elif op == 2:
            lines.insert(i, lines[i])
        elif op == 3:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == 4:
            lines[i] = rng.choice(["", "  ", "\t", "    "]) + lines[i].lstrip() if rng.random() < 0.5 else lines[i][2:]
        elif op == 5:
            at = rng.randrange(len(lines[i]) + 1)
            lines[i] = lines[i][:at] + rng.choice(tokens) + lines[i][at:]
        elif op == 6 and "${{" in lines[i]:  # an expression replaced
            lines[i] = re.sub(r"\$\{\{.*?\}\}", lambda m: rng.choice(tokens), lines[i], count=1)
        elif lines[i]:
            at = rng.randrange(len(lines[i]))
            lines[i] = lines[i][:at] + chr(rng.randrange(1, 0x3000)) + lines[i][at + 1:]
    return "\n".join(lines)


def _quoted(token: str) -> str:
    return '"' + token.replace("\\", "\\\\").replace('"', '\\"') + '"'


def make_input(index: int, seed: int = 0) -> tuple[str, str]:
    """The index-th input of a run: ("pipeline" or "prompt", text). Deterministic."""
    rng = random.Random(f"{seed}:{index}")
    edits = rng.choice([1, 1, 2, 3, 5])
    if rng.random() < 0.7:
        return "pipeline", mutate_text(rng.choice(SEED_PIPELINES).read_text(), rng, SCALARS, edits, SEED_PIPELINES)
    return "prompt", mutate_text(rng.choice(SEED_PROMPTS).read_text(), rng, PROMPT_SNIPPETS + SCALARS, edits,
                                 SEED_PROMPTS)


def project(root: Path) -> Path:
    """A scratch copy of the golden project (prompts, schemas, tools, lock) to put inputs in."""
    for sub in ("prompts", "schemas", "tools"):
        shutil.copytree(GOLDEN / sub, root / sub, dirs_exist_ok=True)
    for prompt in (REPO / "prompts").glob("*.prompt"):
        shutil.copy(prompt, root / "prompts" / prompt.name)
    shutil.copytree(REPO / "schemas", root / "schemas", dirs_exist_ok=True)
    (root / "agentctl.lock").write_text("")
    (root / "pipelines").mkdir(exist_ok=True)
    return root


def check(root: Path, kind: str, text: str, timeout_s: int = 20) -> Outcome:
    """validate (every output format) and, for a pipeline, graph (every format), in process."""
    path = root / ("pipelines/fuzz.yaml" if kind == "pipeline" else "prompts/fuzz.prompt")
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    previous = signal.signal(signal.SIGALRM, _hang)
    signal.alarm(timeout_s)
    try:
        _commands(root, path, kind)
        return Outcome(True)
    except _Hang:
        return Outcome(False, "hang")
    except Exception:  # noqa: BLE001 - what the fuzzer looks for
        return Outcome(False, traceback.format_exc())
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        path.unlink(missing_ok=True)


def _commands(root: Path, path: Path, kind: str) -> None:
    from agentctl import api, console, report
    from agentctl.errors import AgentctlError
    from agentctl.graph_render import RENDERERS

    sink = io.StringIO()
    with redirect_stdout(sink), redirect_stderr(sink):
        result = api.validate([str(path)], cwd=root)
        console.print_diagnostics(result.diagnostics, result.files)
        report.to_json(result.diagnostics, result.files), report.to_github(result.diagnostics)
        report.to_sarif(result.diagnostics)
        if kind != "pipeline":
            return
        try:
            compiled = api.compile_file(str(path), cwd=root).compiled()
        except AgentctlError:
            return
        for render in RENDERERS.values():
            render(compiled)


class _Hang(Exception):
    pass


def _hang(signum, frame):
    raise _Hang()
