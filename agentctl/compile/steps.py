"""Compiling `steps:`: what each step does, what it reads, and the order the graph allows."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from agentctl.compile import ir
from agentctl.compile.context import Ctx, exprs_in
from agentctl.compile.definitions import limits
from agentctl.compile.expressions import Expr, Ref
from agentctl.compile.graph import descendants, topological_order
from agentctl.compile.kinds import KINDS
from agentctl.compile.kinds.base import Parts
from agentctl.compile.references import Reader, RefChecker, StepInfo, edge
from agentctl.diagnostics import SourceSpan, suggest
from agentctl.dimensions import Bounds
from agentctl.spec.models import Step

BASE_ROOTS = frozenset({"inputs", "steps", "env"})


@dataclass
class StepGraph:
    nodes: dict[str, ir.StepNode] = field(default_factory=dict)
    order: tuple[str, ...] = ()
    unreachable: set[str] = field(default_factory=set)


def collect(ctx: Ctx) -> dict[str, StepInfo]:
    infos: dict[str, StepInfo] = {}
    pending: list[tuple[list[Step], tuple, tuple]] = [(list(ctx.spec.steps), ("steps",), ())]
    while pending:
        steps, path, chain = pending.pop(0)
        for i, step in enumerate(steps):
            step_path = path + (i,)
            if step.id in infos:
                first = ctx.smap.value(infos[step.id].path + ("id",))
                ctx.sink.error("E207", f"duplicate step id '{step.id}'", ctx.smap.value(step_path + ("id",)),
                               f"'{step.id}' is first used at line {first.line}; step ids are unique in a pipeline")
                continue
            infos[step.id] = StepInfo(step, step_path, chain + (step.id,), len(infos))
            for name, kind in KINDS.items():
                value = getattr(step, name)
                if value is not None and kind.nested(value):
                    pending.append((kind.nested(value), step_path + (name, "steps"), chain + (step.id,)))
    return infos


def kind_of(ctx: Ctx, info: StepInfo) -> str | None:
    step = info.spec
    kinds = [k for k in KINDS if getattr(step, k) is not None]
    span = ctx.smap.value(info.path + ("id",))
    if len(kinds) != 1:
        what = "none" if not kinds else ", ".join(kinds)
        ctx.sink.error("E206", f"step '{step.id}' needs exactly one of {', '.join(k + ':' for k in KINDS)} "
                       f"(has {what})", span)
        return None
    kind = kinds[0]
    for key, given in (("with", bool(step.with_)), ("for_each", step.for_each is not None)):
        if given and not KINDS[kind].takes_args:
            takers = " and ".join(k for k, c in KINDS.items() if c.takes_args)
            ctx.sink.error("E206", f"{key}: applies to {takers} steps, not to a {kind} step",
                           ctx.smap.key(info.path + (key,)))
    if step.for_each is not None and step.max_items is None:
        ctx.sink.error("E502", f"step '{step.id}' fans out over a list with no bound", ctx.smap.key(info.path + ("for_each",)),
                       "add max_items: N (the longest list the step accepts)")
    return kind


def output_schema(info: StepInfo, kind: str | None, parts: Parts) -> dict | None:
    schema = KINDS[kind].output_schema(getattr(info.spec, kind), parts) if kind else None
    if info.spec.for_each is not None:
        return {"type": "array", "items": schema or {}}
    return schema


class StepCompiler:
    base_roots = BASE_ROOTS

    def __init__(self, ctx: Ctx, parts: Parts) -> None:
        self.ctx = ctx
        self.agents = parts.agents
        self.tools = parts.tools
        self.infos = collect(ctx)
        self.kinds = {sid: kind_of(ctx, info) for sid, info in self.infos.items()}
        schemas = {sid: output_schema(info, self.kinds[sid], parts) for sid, info in self.infos.items()}
        self.refs = RefChecker(ctx, self.infos, schemas)
        self.deps: dict[str, dict[str, tuple[SourceSpan, str]]] = {sid: {} for sid in self.infos}
        self.output_reads: list[tuple[str, str, Ref]] = []  # (reader, producer, ref) of steps.X.output

    def compile(self) -> StepGraph:
        fields = {sid: self.step_fields(info) for sid, info in self.infos.items()}
        graph = StepGraph()
        orders = self.order_scopes()
        for sid, info in self.infos.items():
            f = fields[sid]
            if f is None or self.kinds[sid] is None:
                continue
            if KINDS[self.kinds[sid]].nested(getattr(info.spec, self.kinds[sid])):
                f["do"] = replace(f["do"], body=tuple(orders.get(sid, ())))
            graph.nodes[sid] = ir.StepNode(
                id=sid, span=self.ctx.smap.value(info.path + ("id",)), parent=info.parent,
                needs=tuple(self.deps[sid]), limits=limits(info.spec.budgets), bounds=Bounds(),
                allow_skipped=info.spec.allow_skipped, output_schema=self.refs.outputs.get(sid), **f)
        graph.order = tuple(orders.get(None, ()))
        graph.unreachable = self.unreachable()
        self.warn_skipped_reads()
        return graph

    def reader(self, info: StepInfo, with_item: bool = False) -> Reader:
        roots = BASE_ROOTS | ({"previous"} if info.parent else set())
        return Reader(info.lineage, frozenset(roots), info.spec.as_ if with_item else None)

    def read(self, info: StepInfo, value: Any, reader: Reader) -> None:
        for expr in exprs_in(value):
            status_read = {r.parts[0] for r in expr.refs if r.root == "steps" and r.parts[1:2] == ("status",)}
            for producer, ref in self.refs.check(expr, reader):
                if ref.parts[1:2] == ("output",) and not ref.guarded and producer not in status_read:
                    self.output_reads.append((info.spec.id, producer, ref))
                pair = edge(reader.lineage, self.infos[producer].lineage)
                if pair is not None:
                    self.deps[pair[0]].setdefault(pair[1], (ref.span, f"reads {ref}"))

    def read_tool_expressions(self, info: StepInfo, tool: str) -> None:
        """A tool's approval: and when: are evaluated where the step calls it: read as this step's
        (checked, and ordering it after what they read), with the call's args besides."""
        spec = self.tools.get(tool)
        if spec is None:
            return
        reader = self.reader(info)
        reader = Reader(reader.lineage, reader.roots | {"args"}, reader.item, args_schema=spec.input_schema, tool=tool)
        for value in (spec.approval, spec.when):
            self.read(info, value, reader)

    def refs_in(self, value: Any, reader: Reader) -> None:
        """Check references made outside any step (outputs, tool approvals): no edges."""
        for expr in exprs_in(value):
            self.refs.check(expr, reader)

    def step_fields(self, info: StepInfo) -> dict | None:
        step, path, ctx = info.spec, info.path, self.ctx
        for i, need in enumerate(step.needs):
            self.need(info, need, path + ("needs", i))
        when = ctx.expr(step.when, path + ("when",))
        self.read(info, when, self.reader(info))
        for_each = None
        if step.for_each is not None:
            items = ctx.expr(step.for_each, path + ("for_each",))
            self.read(info, items, self.reader(info))
            if isinstance(items, Expr) and step.max_items is not None:
                for_each = ir.ForEach(items, step.as_, step.max_items, step.max_concurrency)
            elif not isinstance(items, Expr):
                ctx.sink.error("E401", "for_each: takes an expression such as ${{ steps.search.output.items }}",
                               ctx.smap.value(path + ("for_each",)))
        args = ctx.template(dict(step.with_), path + ("with",))
        self.read(info, args, self.reader(info, with_item=step.for_each is not None))
        kind = self.kinds[info.lineage[-1]]
        do = KINDS[kind].compile(self, info, getattr(step, kind)) if kind else None
        if do is None:
            return None
        return {"args": args, "when": when, "for_each": for_each, "do": do}

    def need(self, info: StepInfo, need: str, path: tuple) -> None:
        if need not in self.infos:
            self.ctx.sink.error("E306", f"step '{need}' is not defined", self.ctx.smap.value(path),
                                suggest(need, self.infos))
            return
        pair = edge(info.lineage, self.infos[need].lineage)
        if pair is None:
            self.ctx.sink.error("E310", f"step '{info.spec.id}' cannot need '{need}', which encloses it or is itself",
                                self.ctx.smap.value(path))
            return
        self.deps[pair[0]].setdefault(pair[1], (self.ctx.smap.value(path), "needs"))

    def check_arguments(self, info: StepInfo, declared: set[str], required: frozenset[str], where: str,
                        which: str) -> None:
        passed = info.spec.with_
        for key in passed:
            if key not in declared:
                self.ctx.sink.error("E605", f"'{key}' is passed to {where}, {which} does not declare it",
                                    self.ctx.smap.key(info.path + ("with", key)), suggest(key, declared))
        for key in sorted(required - set(passed)):
            self.ctx.sink.error("E604", f"step '{info.spec.id}' does not pass '{key}', which {where} requires",
                                self.ctx.smap.value(info.path + ("id",)),
                                f"add it under with:, e.g. {key}: ${{{{ inputs.{key} }}}}")

    def order_scopes(self) -> dict[str | None, list[str]]:
        scopes: dict[str | None, list[str]] = {}
        for sid, info in self.infos.items():
            scopes.setdefault(info.parent, []).append(sid)
        orders = {}
        for scope, members in scopes.items():
            order, cycle = topological_order(members, self.deps)
            if cycle:
                self.report_cycle(cycle)
            orders[scope] = order
        return orders

    def report_cycle(self, cycle: list[str]) -> None:
        reader, producer = cycle[0], cycle[1]
        span, why = self.deps[reader][producer]
        path = " → ".join(cycle)
        if why == "needs":
            self.ctx.sink.error("E501", f"dependency cycle: {path}", span, "remove one of the needs: entries")
        else:
            self.ctx.sink.error("E310", f"step '{reader}' {why}, but '{producer}' runs after it ({path})", span,
                                "inside a loop, read the previous iteration with previous.<id>.output")

    def warn_skipped_reads(self) -> None:
        """A step that runs after a skipped one (allow_skipped) reads its output as null."""
        reads = [r for r in self.output_reads if self.infos[r[0]].spec.allow_skipped and r[1] in self.deps[r[0]]]
        skippable = self.skippable() if reads else set()
        for reader, producer, ref in reads:
            if producer in skippable:
                self.ctx.sink.warning("W807", f"step '{reader}' runs even when '{producer}' was skipped "
                                      f"(allow_skipped), and then reads {ref} as null",
                                      ref.span.with_length(len(str(ref))),
                                      f"write {ref} | default(...), or test steps.{producer}.status == 'succeeded'")

    def skippable(self) -> set[str]:
        """Steps that may be skipped: a `when:`, or a need that may be skipped without allow_skipped."""
        skip = {sid for sid, info in self.infos.items() if info.spec.when is not None and info.spec.when is not True}
        grew = True
        while grew:
            grew = False
            for sid, info in self.infos.items():
                if sid not in skip and not info.spec.allow_skipped and any(d in skip for d in self.deps[sid]):
                    skip.add(sid)
                    grew = True
        return skip

    def unreachable(self) -> set[str]:
        """Steps that can never run: a constant-false `when`, and everything that waits on one."""
        never = [sid for sid, info in self.infos.items() if _never_runs(info.spec.when)]
        dependents: dict[str, list[str]] = {}
        for sid, info in self.infos.items():
            if info.parent is not None:
                dependents.setdefault(info.parent, []).append(sid)
            if not info.spec.allow_skipped:
                for dep in self.deps[sid]:
                    dependents.setdefault(dep, []).append(sid)
        return descendants(never, dependents)


def _never_runs(when: Any) -> bool:
    if isinstance(when, str):
        return when.replace(" ", "") in ("${{false}}", "${{False}}")
    return when is False
