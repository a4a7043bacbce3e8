"""`${{ expression }}` templates: parsing, the references they make, and compile-time refusals.

Expressions are Jinja expressions evaluated at run time in a sandbox. Here they are only parsed:
we collect every dotted reference (`steps.plan.output.total_usd`) so the compiler can check it,
and refuse what the sandbox would refuse anyway (`_private` attributes, unknown filters) before
a single token is spent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

from jinja2 import TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from agentctl.diagnostics import Diagnostic, SourceSpan, error

OPEN, CLOSE = "${{", "}}"
_GUARDS = ("default", "d", "defined", "undefined")  # filters and tests that expect a missing value


@dataclass(frozen=True, slots=True)
class Ref:
    """A dotted read such as steps.plan.output.total_usd: root 'steps', parts ('plan', 'output', ...)."""

    root: str
    parts: tuple
    span: SourceSpan
    guarded: bool = False  # under `| default(...)` or `is defined`: a missing value is expected

    def __str__(self) -> str:
        text = self.root
        for part in self.parts:
            text += f"[{part}]" if isinstance(part, int) else f".{part}"
        return text


@dataclass(frozen=True, slots=True)
class Expr:
    """A string holding `${{ }}`: literal text and expression segments, in order."""

    source: str
    segments: tuple  # ("text", str) | ("expr", str)
    refs: tuple[Ref, ...]
    span: SourceSpan

    @property
    def is_whole(self) -> bool:
        """A string that is exactly one expression keeps the expression's type (list, number, ...)."""
        return len(self.segments) == 1 and self.segments[0][0] == "expr"

    @property
    def constant(self) -> Any:
        """The value when the expression is a literal true/false, else None."""
        if self.is_whole and self.segments[0][1].strip() in ("true", "false", "True", "False"):
            return self.segments[0][1].strip().lower() == "true"
        return None


MAX_VALUE_SIZE = 1_000_000  # characters or items one `*`, `+` or `**` may build


class DataSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, where a mapping's keys win over its methods: with JSON data,
    `inputs.items` or `steps.x.output.keys` mean the field, never `dict.items` / `dict.keys`.

    `*`, `+` and `**` are intercepted: no string, list or number they build may exceed
    MAX_VALUE_SIZE (`'x' * 10**9` took 2.9 GB). Intercepted operators are also never folded
    into constants when a template is compiled, so `validate` never evaluates them."""

    intercepted_binops = frozenset({"*", "+", "**"})

    def getattr(self, obj, attribute):  # noqa: A003 - Jinja's hook name
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def call_binop(self, context, operator, left, right):
        size = _built_size(operator, left, right)
        if size > MAX_VALUE_SIZE:
            raise SecurityError(f"'{operator}' would build a value of about {size:,} characters or items "
                                f"(at most {MAX_VALUE_SIZE:,})")
        return super().call_binop(context, operator, left, right)


@lru_cache(maxsize=1)
def sandbox() -> DataSandbox:
    """The one Jinja environment used for expressions and prompts, at compile and run time."""
    from jinja2 import StrictUndefined

    return DataSandbox(undefined=StrictUndefined, autoescape=False)


def _built_size(operator: str, left: Any, right: Any) -> int:
    sized = (str, list, tuple)
    if operator == "*":
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, sized) and isinstance(n, int):
                return len(seq) * n
    elif operator == "+" and isinstance(left, sized) and isinstance(right, sized):
        return len(left) + len(right)
    elif operator == "**" and isinstance(left, (int, float)) and isinstance(right, (int, float)):
        if abs(left) > 1 and right > 0:  # digits of the result
            import math

            return int(right * math.log10(abs(left)))
    return 0


def has_expression(value: Any) -> bool:
    return isinstance(value, str) and OPEN in value


def parse_template(source: str, span_at: Callable[[int], SourceSpan]) -> tuple[Expr | None, list[Diagnostic]]:
    """Split `source` into text and expressions; `span_at(offset)` locates a character of it."""
    segments: list[tuple[str, str]] = []
    refs: list[Ref] = []
    diags: list[Diagnostic] = []
    pos = 0
    while True:
        start = source.find(OPEN, pos)
        if start < 0:
            break
        if start > pos:
            segments.append(("text", source[pos:start]))
        end = source.find(CLOSE, start + len(OPEN))
        if end < 0:
            diags.append(error("E401", "'${{' is never closed with '}}'", span_at(start).with_length(3),
                               "write the expression as ${{ inputs.name }}"))
            return None, diags
        inner = source[start + len(OPEN):end]
        inner_offset = start + len(OPEN)
        found, problems = _parse_inner(inner, lambda off: span_at(inner_offset + off))
        refs.extend(found)
        diags.extend(problems)
        segments.append(("expr", inner.strip()))
        pos = end + len(CLOSE)
    if pos < len(source):
        segments.append(("text", source[pos:]))
    if diags:
        return None, diags
    return Expr(source, tuple(segments), tuple(refs), span_at(0)), []


_SIMPLE = re.compile(r"^\s*([A-Za-z]\w*)((?:\.[A-Za-z]\w*|\[\d+\])*)\s*$")
_PART = re.compile(r"\.(\w+)|\[(\d+)\]")


def _parse_inner(inner: str, span_at: Callable[[int], SourceSpan]) -> tuple[list[Ref], list[Diagnostic]]:
    if not inner.strip():
        return [], [error("E401", "empty expression '${{ }}'", span_at(0))]
    simple = _SIMPLE.match(inner)
    if simple and simple.group(1) not in ("true", "false", "none", "True", "False", "None"):
        # The common case, a plain reference such as `steps.plan.output.total`: no need for
        # Jinja's lexer, which costs ~0.2 ms per expression on a 10,000-step pipeline.
        parts = tuple(int(i) if i else a for a, i in _PART.findall(simple.group(2)))
        return [Ref(simple.group(1), parts, span_at(simple.start(1)).with_length(len(simple.group(1))))], []
    depth = _nesting(inner)
    if depth > MAX_NESTING:
        return [], [error("E401", f"expression nested {depth} levels deep (at most {MAX_NESTING})", span_at(_lead(inner)),
                          "split it into steps, or simplify it")]
    try:
        body = _parsed(inner)
    except TemplateSyntaxError as exc:
        return [], [error("E401", f"invalid expression: {exc.message}", span_at(_lead(inner)),
                          "expressions use Jinja syntax, e.g. ${{ steps.plan.output.total_usd <= 500 }}")]
    except ValueError:  # Jinja's lexer turns digits into an int; Python refuses over 4,300 digits
        return [], [error("E401", "a number in the expression is too large to read", span_at(_lead(inner)),
                          "use a number of at most a few hundred digits")]
    if body is None:
        return [], [error("E401", "an expression must be a single value, not Jinja statements",
                          span_at(_lead(inner)))]
    walker = _Walker(inner, span_at)
    walker.visit(body)
    # `''.__class__.__mro__` is one mistake: report the first refused name only.
    refused = sorted((d for d in walker.diags if d.code == "E402"), key=lambda d: d.span.col)
    others = [d for d in walker.diags if d.code != "E402"]
    return walker.refs, others + refused[:1]


MAX_NESTING = 40  # brackets in one expression; Jinja's parser recurses per level


def _nesting(text: str) -> int:
    depth = deepest = 0
    for char in text:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    return deepest


def _lead(text: str) -> int:
    return len(text) - len(text.lstrip())


@lru_cache(maxsize=4096)
def _parsed(inner: str) -> nodes.Node | None:
    template = sandbox().parse("{{ " + inner + " }}")
    if len(template.body) != 1 or not isinstance(template.body[0], nodes.Output):
        return None
    output = template.body[0].nodes
    if len(output) != 1 or isinstance(output[0], nodes.TemplateData):
        return None
    return output[0]


class _Walker:
    def __init__(self, text: str, span_at: Callable[[int], SourceSpan]) -> None:
        self.text = text
        self.span_at = span_at
        self.refs: list[Ref] = []
        self.diags: list[Diagnostic] = []
        self.seen: dict[str, int] = {}

    def offset_of(self, word: str) -> int:
        """Offset of the next textual occurrence of `word` (AST nodes carry no columns)."""
        matches = [m.start() for m in re.finditer(r"(?<![\w.])" + re.escape(word) + r"\b", self.text)]
        index = self.seen.get(word, 0)
        self.seen[word] = index + 1
        if not matches:
            return _lead(self.text)
        return matches[min(index, len(matches) - 1)]

    def visit(self, node: nodes.Node, guarded: bool = False) -> None:
        if isinstance(node, (nodes.Getattr, nodes.Getitem)):
            self.chain(node, guarded)
            return
        if isinstance(node, nodes.Name):
            self.add_ref(node.name, (), guarded)
            return
        if isinstance(node, (nodes.Filter, nodes.Test)) and node.name in _GUARDS and node.node is not None:
            self.visit(node.node, guarded=True)
            for child in (*node.args, *(k.value for k in node.kwargs)):
                self.visit(child)
            return
        if isinstance(node, nodes.Filter) and node.name not in sandbox().filters:
            self.problem("E401", f"unknown filter '{node.name}'", node.name)
        if isinstance(node, nodes.Test) and node.name not in sandbox().tests:
            self.problem("E401", f"unknown test '{node.name}'", node.name)
        for child in node.iter_child_nodes():
            self.visit(child)

    def chain(self, node: nodes.Node, guarded: bool = False) -> None:
        parts: list = []
        dynamic: list[nodes.Node] = []
        current = node
        while isinstance(current, (nodes.Getattr, nodes.Getitem)):
            if isinstance(current, nodes.Getattr):
                self.check_private(current.attr)
                parts.append(current.attr)
            elif isinstance(current.arg, nodes.Const) and isinstance(current.arg.value, (str, int)):
                self.check_private(current.arg.value)
                parts.append(current.arg.value)
            else:
                dynamic.append(current.arg)
                parts.clear()  # what follows a computed index cannot be checked statically
            current = current.node
        if isinstance(current, nodes.Name):
            self.add_ref(current.name, tuple(reversed(parts)), guarded)
        else:
            self.visit(current)
        for sub in dynamic:
            self.visit(sub)

    def add_ref(self, root: str, parts: tuple, guarded: bool = False) -> None:
        if root in ("true", "false", "none", "True", "False", "None"):
            return
        offset = self.offset_of(root)
        self.refs.append(Ref(root, parts, self.span_at(offset).with_length(len(root)), guarded))

    def check_private(self, name: Any) -> None:
        if isinstance(name, str) and name.startswith("_"):
            self.problem("E402", f"access to '{name}' is refused: expressions cannot reach Python internals",
                         name, "read only data: inputs, steps.<id>.output, env")

    def problem(self, code: str, message: str, word: str, hint: str | None = None) -> None:
        offset = self.text.find(word)
        self.diags.append(error(code, message, self.span_at(max(offset, 0)).with_length(len(word)), hint))
