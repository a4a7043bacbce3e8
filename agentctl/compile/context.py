"""State shared by the compiler's passes: the spec, its source map, the project, diagnostics,
and which definitions something used (for the unused-definition warnings)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from agentctl.compile.expressions import Expr, has_expression, parse_template
from agentctl.compile.project import Project
from agentctl.diagnostics import DiagnosticSink, suggest
from agentctl.spec.models import ENV_REF, Pipeline
from agentctl.spec.yaml_source import SourceMap, YamlPath


@dataclass
class Ctx:
    spec: Pipeline
    smap: SourceMap
    project: Project
    sink: DiagnosticSink = field(default_factory=DiagnosticSink)
    used: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    unparsed: bool = False  # an expression failed to parse: what it read is unknown

    def expr(self, value: Any, path: YamlPath) -> Any:
        """A string with `${{ }}` becomes an Expr (None when it does not parse); others pass through."""
        if not has_expression(value):
            return value
        parsed, diags = parse_template(value, lambda offset: self.smap.in_string(path, offset))
        self.sink.extend(diags)
        self.unparsed = self.unparsed or parsed is None
        return parsed

    def template(self, value: Any, path: YamlPath) -> Any:
        """Plain data with every expression string compiled in place."""
        if isinstance(value, dict):
            return {k: self.template(v, path + (k,)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.template(v, path + (i,)) for i, v in enumerate(value)]
        return self.expr(value, path)

    def env_refs(self, value: str, path: YamlPath) -> None:
        """`${env:NAME}` in configuration values must name a declared env variable."""
        for match in ENV_REF.finditer(value):
            name = match.group(1)
            if name in self.spec.env:
                self.used["env"].add(name)
                continue
            self.sink.error("E308", f"environment variable '{name}' is not declared",
                            self.smap.in_string(path, match.start()).with_length(len(match.group(0))),
                            f"declare it under env: ({suggest(name, self.spec.env)})")


def exprs_in(template: Any) -> list[Expr]:
    """Every Expr inside a compiled template, in document order."""
    found: list[Expr] = []
    stack = [template]
    while stack:
        item = stack.pop()
        if isinstance(item, Expr):
            found.append(item)
        elif isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
    return found
