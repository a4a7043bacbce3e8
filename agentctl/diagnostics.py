"""Errors as values: a Diagnostic has a stable code, a severity, a message, a source span and a hint."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from enum import Enum
from typing import Iterable


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class SourceSpan:
    """A region of a file. Lines and columns are 1-based; end is exclusive."""

    path: str
    line: int
    col: int
    end_line: int | None = None
    end_col: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"

    def with_length(self, length: int) -> "SourceSpan":
        return SourceSpan(self.path, self.line, self.col, self.line, self.col + max(1, length))


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    span: SourceSpan
    hint: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple:
        return (self.span.path, self.span.line, self.span.col, self.code, self.message)


def error(code: str, message: str, span: SourceSpan, hint: str | None = None) -> Diagnostic:
    return Diagnostic(code, Severity.ERROR, message, span, hint)


def warning(code: str, message: str, span: SourceSpan, hint: str | None = None) -> Diagnostic:
    return Diagnostic(code, Severity.WARNING, message, span, hint)


@dataclass
class DiagnosticSink:
    """Collects diagnostics so that every problem in every file is reported in one pass."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(self, diagnostic: Diagnostic) -> None:
        self.items.append(diagnostic)

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.items.extend(diagnostics)

    def error(self, code: str, message: str, span: SourceSpan, hint: str | None = None) -> None:
        self.items.append(error(code, message, span, hint))

    def warning(self, code: str, message: str, span: SourceSpan, hint: str | None = None) -> None:
        self.items.append(warning(code, message, span, hint))

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.items)


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A hint naming the closest candidate, or None when nothing is close."""
    matches = difflib.get_close_matches(str(word), sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean '{matches[0]}'?" if matches else None


def one_of(candidates: Iterable[str]) -> str:
    names = sorted(set(candidates))
    if not names:
        return "none are defined"
    return "defined: " + ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")


def suggest(word: str, candidates: Iterable[str]) -> str:
    """did-you-mean when something is close, else the list of what exists."""
    candidates = list(candidates)
    return did_you_mean(word, candidates) or one_of(candidates)
