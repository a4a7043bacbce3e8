"""Checking what an expression reads: the name exists, the step runs before the reader, and the
field is declared by the producer's output schema."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from agentctl.compile.context import Ctx
from agentctl.compile.expressions import Expr, Ref
from agentctl.compile.schemas import missing_field, optional_part
from agentctl.diagnostics import did_you_mean, suggest
from agentctl.spec.models import Step

UNTIL = "#until"  # the reader of a loop's `until`, placed inside the loop body


@dataclass
class StepInfo:
    spec: Step
    path: tuple  # YAML path of the step
    lineage: tuple[str, ...]  # enclosing loop ids, outermost first, then the step's own id
    index: int  # declaration order

    @property
    def parent(self) -> str | None:
        return self.lineage[-2] if len(self.lineage) > 1 else None


@dataclass(frozen=True)
class Reader:
    """Who evaluates an expression, and which names it may read."""

    lineage: tuple[str, ...]
    roots: frozenset[str]
    item: str | None = None
    args_schema: dict | None = None
    tool: str | None = None


class RefChecker:
    def __init__(self, ctx: Ctx, steps: dict[str, StepInfo], outputs: dict[str, dict]) -> None:
        self.ctx = ctx
        self.steps = steps
        self.outputs = outputs  # step id -> JSON Schema of its output

    def check(self, expr: Expr | Any, reader: Reader) -> list[tuple[str, Ref]]:
        """Report bad references; return the steps read, with the reference that reads each."""
        if not isinstance(expr, Expr):
            return []
        read = []
        guarded = {(r.root, r.parts) for r in expr.refs if r.guarded}
        for ref in expr.refs:
            if not ref.guarded and (ref.root, ref.parts) in guarded:  # x if x is defined else y
                ref = replace(ref, guarded=True)
            producer = self.check_ref(ref, reader)
            if producer is not None:
                read.append((producer, ref))
        return read

    def check_ref(self, ref: Ref, reader: Reader) -> str | None:
        root = ref.root
        if root == reader.item:
            return None
        if root not in reader.roots:
            self.unknown_root(ref, reader)
            return None
        if root == "inputs":
            return self.named(ref, self.ctx.spec.inputs, "inputs", "input", "E307", "declare it under inputs:")
        if root == "env":
            return self.named(ref, self.ctx.spec.env, "env", "environment variable", "E308", "declare it under env:")
        if root == "args":
            return self.arg(ref, reader)
        if root == "previous":
            return self.previous(ref, reader)
        return self.step(ref, reader)

    def unknown_root(self, ref: Ref, reader: Reader) -> None:
        hints = {
            "args": "args is only defined in a tool's approval: expression",
            "previous": "previous is only defined inside a loop's steps",
            "item": "item is only defined in the with: of a for_each step",
        }
        names = sorted(reader.roots | ({reader.item} if reader.item else set()))
        hint = hints.get(ref.root) or did_you_mean(ref.root, names) or f"expressions here can read: {', '.join(names)}"
        self.ctx.sink.error("E403", f"unknown name '{ref.root}' in expression", ref.span, hint)

    def named(self, ref: Ref, table: dict, kind: str, what: str, code: str, fix: str) -> None:
        if not ref.parts:
            return None
        name = ref.parts[0]
        if name in table:
            self.ctx.used[kind].add(name)
            return None
        self.ctx.sink.error(code, f"{what} '{name}' is not declared", ref.span.with_length(len(str(ref))),
                            did_you_mean(str(name), table) or fix)
        return None

    def arg(self, ref: Ref, reader: Reader) -> None:
        props = (reader.args_schema or {}).get("properties")
        if ref.parts and isinstance(props, dict) and ref.parts[0] not in props:
            self.ctx.sink.error("E309", f"tool '{reader.tool}' has no argument '{ref.parts[0]}'",
                                ref.span.with_length(len(str(ref))), suggest(str(ref.parts[0]), props))

    def previous(self, ref: Ref, reader: Reader) -> None:
        loop = reader.lineage[-2] if len(reader.lineage) > 1 else None
        if not ref.parts:
            return None
        target = self.steps.get(ref.parts[0])
        if target is None or target.parent != loop:
            siblings = [s for s, info in self.steps.items() if info.parent == loop]
            self.ctx.sink.error("E306", f"previous.{ref.parts[0]} is not a step of this loop",
                                ref.span.with_length(len(str(ref))), suggest(str(ref.parts[0]), siblings))
            return None
        self.fields(ref, ref.parts[0], ref.parts[1:])
        return None

    def step(self, ref: Ref, reader: Reader) -> str | None:
        if not ref.parts:
            self.ctx.sink.error("E309", "read one step: steps.<id>.output", ref.span)
            return None
        sid = ref.parts[0]
        if sid not in self.steps:
            self.ctx.sink.error("E306", f"step '{sid}' is not defined", ref.span.with_length(len(str(ref))),
                                suggest(str(sid), self.steps))
            return None
        lineage = self.steps[sid].lineage
        if reader.lineage[: len(lineage)] == lineage:
            what = "its own output" if lineage == reader.lineage else f"the output of its enclosing loop '{sid}'"
            self.ctx.sink.error("E310", f"step '{reader.lineage[-1]}' reads {what}", ref.span.with_length(len(str(ref))),
                                "a step can read only steps that finish before it")
            return None
        self.fields(ref, sid, ref.parts[1:])
        return sid

    def fields(self, ref: Ref, sid: str, rest: tuple) -> None:
        span = ref.span.with_length(len(str(ref)))
        if not rest:
            self.ctx.sink.error("E309", f"read a field of step '{sid}': steps.{sid}.output or steps.{sid}.status", span)
            return
        if rest[0] not in ("output", "status"):
            hint = did_you_mean(str(rest[0]), ["output", "status"]) or "a step has .output and .status"
            self.ctx.sink.error("E309", f"step '{sid}' has no attribute '{rest[0]}'", span, hint)
            return
        schema = self.outputs.get(sid)
        if rest[0] == "output" and len(rest) > 1 and schema is not None:
            problem = missing_field(schema, rest[1:])
            if problem is not None:
                self.ctx.sink.error("E309", f"steps.{sid}.output: {problem[1]}", span,
                                    "add the field to the producer's output_schema, or fix the name")
            elif not ref.guarded:
                self.optional(ref, sid, rest[1:], schema, span)

    def optional(self, ref: Ref, sid: str, parts: tuple, schema: dict, span) -> None:
        index = optional_part(schema, parts)
        if index is None:
            return
        field = ".".join(str(p) for p in parts[: index + 1])
        self.ctx.sink.warning("W806", f"steps.{sid}.output.{field} is optional in the output schema of '{sid}': "
                              "when it is left out it reads as null", span,
                              f"write {ref} | default(...) or test it with `is defined`, or list "
                              f"'{parts[index]}' under required:")


def edge(reader: tuple[str, ...], producer: tuple[str, ...]) -> tuple[str, str] | None:
    """The dependency that `reader` reading `producer` creates, between two steps of one scope.

    Lineages are (enclosing loops..., step). Reading into a loop makes the reader depend on the
    whole loop; reading out of a loop makes the whole loop depend on the producer.
    """
    common = 0
    while common < min(len(reader), len(producer)) and reader[common] == producer[common]:
        common += 1
    if common >= len(reader) or common >= len(producer) or reader[common] == UNTIL:
        return None
    return reader[common], producer[common]
