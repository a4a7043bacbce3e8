"""A user's project: its root, safe resolution of the paths a pipeline names, and shared caches."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentctl.diagnostics import Diagnostic, SourceSpan, error

LOCK_FILE = "agentctl.lock"


def find_root(start: Path) -> Path:
    """The nearest ancestor holding agentctl.lock; else the parent of a `pipelines/` folder."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / LOCK_FILE).is_file():
            return folder
    return start.parent if start.name == "pipelines" else start


def display_path(path: Path) -> str:
    """A path as the user should read it: relative to the working directory when inside it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if relative.startswith(".." + os.sep) else relative


@dataclass
class Project:
    root: Path
    # Compiled prompts and loaded schemas, shared by every pipeline that names them.
    prompts: dict[Path, tuple[Any, list[Diagnostic]]] = field(default_factory=dict)
    schemas: dict[Path, tuple[Any, list[Diagnostic]]] = field(default_factory=dict)
    _prices: Any = None

    @property
    def prices(self) -> Any:
        if self._prices is None:
            from agentctl.compile.prices import PriceTable

            self._prices = PriceTable.from_litellm_package()
        return self._prices

    def resolve(self, relative: str, span: SourceSpan, what: str) -> tuple[Path | None, Diagnostic | None]:
        """A project file named in a spec, refusing anything that would leave the project."""
        if not relative or "\x00" in relative:
            return None, error("E311", f"{what} path is empty or invalid", span)
        candidate = Path(relative)
        hint = f"{what} files live inside the project ({self.root}); use a path relative to it"
        if candidate.is_absolute():
            return None, error("E311", f"{what} path '{relative}' is absolute", span, hint)
        full = self.root / candidate
        try:
            real = full.resolve()
        except (OSError, RuntimeError):
            return None, error("E311", f"{what} path '{relative}' cannot be resolved", span, hint)
        root = self.root.resolve()
        if real != root and root not in real.parents:
            leaves = "is a symlink that leads" if ".." not in candidate.parts else "leads"
            return None, error("E311", f"{what} path '{relative}' {leaves} outside the project", span, hint)
        if not real.is_file():
            return None, error("E304", f"{what} file '{relative}' does not exist", span,
                               f"paths are relative to the project root, {self.root}")
        return full, None


def python_target_problem(root: Path, target: str) -> str | None:
    """Why `module:function` cannot be a tool, without importing (or running) any code. A tool is
    the project's own code: a function of the standard library or an installed package
    (`subprocess:getoutput`, `os:system`) would hand an agent a shell from a YAML-only change."""
    import ast

    module, _, function = target.partition(":")
    relative = Path(*module.split("."))
    for candidate in (root / relative.with_suffix(".py"), root / relative / "__init__.py"):
        if candidate.is_file():
            try:
                tree = ast.parse(candidate.read_text(encoding="utf-8"))
            except (SyntaxError, UnicodeDecodeError, ValueError) as exc:
                return f"{candidate.relative_to(root)} cannot be parsed: {exc}"
            names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
            if function not in names:
                return f"{candidate.relative_to(root)} defines no function '{function}'"
            return None
    return (f"module '{module}' is not in the project ({relative}.py); a tool must be a function of "
            "the project's own code, not of the standard library or an installed package")
