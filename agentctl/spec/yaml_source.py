"""Safe YAML loading that keeps the source position of every key and value.

PyYAML's own composer recurses once per nesting level and expands aliases without limit, so
this module builds plain Python data from the parser's event stream itself, iteratively, with
hard caps on depth, alias expansion and size. Scalars follow the YAML 1.2 core schema: only
true/false are booleans (`country: NO` stays a string) and dates stay strings.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import yaml

from agentctl.diagnostics import Diagnostic, SourceSpan, error

MAX_DEPTH = 100
MAX_ALIAS_NODES = 100_000

YamlPath = tuple  # keys (str) and sequence indexes (int) from the document root

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG = "tag:yaml.org,2002:"
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")


class YamlLoadError(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


@dataclass
class SourceMap:
    """Where each value and each mapping key of one YAML document came from."""

    path: str
    values: dict[YamlPath, SourceSpan] = field(default_factory=dict)
    keys: dict[YamlPath, SourceSpan] = field(default_factory=dict)
    # Column where a single-line string's text starts, relative to its span (1 for quoted).
    text_offset: dict[YamlPath, int] = field(default_factory=dict)

    def value(self, path: YamlPath) -> SourceSpan:
        """The span of the value at `path`, or of its nearest located ancestor."""
        for end in range(len(path), -1, -1):
            span = self.values.get(path[:end])
            if span is not None:
                return span
        return SourceSpan(self.path, 1, 1)

    def key(self, path: YamlPath) -> SourceSpan:
        """The span of the mapping key that leads to `path` (falls back to the value)."""
        return self.keys.get(path) or self.value(path)

    def in_string(self, path: YamlPath, offset: int) -> SourceSpan:
        """The position of character `offset` inside the string at `path`, when it is on one line."""
        base = self.value(path)
        start = self.text_offset.get(path)
        if start is None or path not in self.values:
            return base
        return SourceSpan(base.path, base.line, base.col + start + offset, base.line, base.col + start + offset + 1)


def _span(path: str, start: Any, end: Any, line_offset: int) -> SourceSpan:
    return SourceSpan(path, start.line + 1 + line_offset, start.column + 1, end.line + 1 + line_offset, end.column + 1)


MAX_DIGITS = 30  # an integer no limit or count needs more; Python refuses > 4,300 digits


def _plain_scalar(value: str) -> Any:
    if _NULL.match(value):
        return None
    if value in _BOOL:
        return _BOOL[value]
    if _INT.match(value):
        return int(value, 0) if value[:2] in ("0o", "0x") else int(value, 10)
    if _FLOAT.match(value):
        lowered = value.lower()
        if lowered.endswith("inf"):
            return -math.inf if lowered.startswith("-") else math.inf
        if lowered.endswith("nan"):
            return math.nan
        return float(value)
    return value


_EXPLICIT = {
    _TAG + "str": str,
    _TAG + "int": lambda v: int(v, 0),
    _TAG + "float": float,
    _TAG + "bool": lambda v: _BOOL[v],
    _TAG + "null": lambda v: None,
}


@dataclass
class _Frame:
    container: Any
    path: YamlPath
    span: SourceSpan
    anchor: str | None
    is_map: bool
    key: Any = None
    has_key: bool = False
    is_merge: bool = False
    merges: list = field(default_factory=list)
    weight: int = 1


class _Composer:
    def __init__(self, path: str, line_offset: int) -> None:
        self.path = path
        self.line_offset = line_offset
        self.smap = SourceMap(path)
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.alias_nodes = 0
        self.root: Any = None
        self.documents = 0

    def fail(self, code: str, message: str, span: SourceSpan, hint: str | None = None) -> None:
        raise YamlLoadError(error(code, message, span, hint))

    def span(self, event: Any) -> SourceSpan:
        return _span(self.path, event.start_mark, event.end_mark, self.line_offset)

    def run(self, text: str) -> Any:
        for event in yaml.parse(text, Loader=_Loader):
            handler = getattr(self, "on_" + type(event).__name__, None)
            if handler is not None:
                handler(event)
        return self.root

    def on_DocumentStartEvent(self, event: Any) -> None:
        self.documents += 1
        if self.documents > 1:
            self.fail("E109", "a file holds one YAML document; found a second one", self.span(event),
                      "remove the extra '---' or split the file")

    def on_ScalarEvent(self, event: Any) -> None:
        span = self.span(event)
        tag = event.tag
        if tag in (None, "!"):
            if event.implicit[0] and _INT.match(event.value) and len(event.value) > MAX_DIGITS:
                self.fail("E101", f"a number of {len(event.value):,} digits is too large (at most {MAX_DIGITS})", span,
                          "quote it if it is meant as text")
            value = _plain_scalar(event.value) if event.implicit[0] else event.value
        elif tag in _EXPLICIT:
            try:
                value = _EXPLICIT[tag](event.value)
            except (ValueError, KeyError):
                self.fail("E101", f"'{event.value}' is not a valid {tag.rsplit(':', 1)[-1]}", span)
        else:
            self.fail("E101", f"unsupported YAML tag '{tag}'", span, "agentctl reads plain YAML data; remove the tag")
        offset = None
        if span.line == span.end_line:
            offset = 1 if event.style in ("'", '"') else 0 if not event.style else None
        self.deliver(value, span, 1, event.anchor, offset)

    def on_AliasEvent(self, event: Any) -> None:
        span = self.span(event)
        if event.anchor not in self.anchors:
            self.fail("E101", f"alias '*{event.anchor}' refers to no complete anchor", span,
                      "define '&name' before using '*name'; an anchor cannot refer to itself")
        value, weight = self.anchors[event.anchor]
        self.alias_nodes += weight
        if self.alias_nodes > MAX_ALIAS_NODES:
            self.fail("E103", f"YAML aliases expand to more than {MAX_ALIAS_NODES:,} nodes", span,
                      "this looks like an alias bomb; write the data out or use fewer nested aliases")
        self.deliver(value, span, weight, None, None)

    def _push(self, event: Any, container: Any, is_map: bool, kind: str) -> None:
        span = self.span(event)
        if event.tag not in (None, "!", _TAG + kind):
            self.fail("E101", f"unsupported YAML tag '{event.tag}'", span, "remove the tag")
        if len(self.stack) >= MAX_DEPTH:
            self.fail("E104", f"nesting is deeper than {MAX_DEPTH} levels", span, "flatten the document")
        path = self.child_path(span)
        self.stack.append(_Frame(container, path, span, event.anchor, is_map))

    def on_MappingStartEvent(self, event: Any) -> None:
        self._push(event, {}, True, "map")

    def on_SequenceStartEvent(self, event: Any) -> None:
        self._push(event, [], False, "seq")

    def _pop(self) -> None:
        frame = self.stack.pop()
        for merged in frame.merges:
            for key, value in merged.items():
                frame.container.setdefault(key, value)
        self.deliver(frame.container, frame.span, frame.weight, frame.anchor, None, frame.path)

    def on_MappingEndEvent(self, event: Any) -> None:
        self._pop()

    def on_SequenceEndEvent(self, event: Any) -> None:
        self._pop()

    def child_path(self, span: SourceSpan) -> YamlPath:
        if not self.stack:
            return ()
        parent = self.stack[-1]
        if not parent.is_map:
            return parent.path + (len(parent.container),)
        if not parent.has_key:
            self.fail("E101", "a mapping key must be a plain value, not a mapping or list", span)
        return parent.path + (parent.key,)

    def deliver(self, value: Any, span: SourceSpan, weight: int, anchor: str | None,
                text_offset: int | None, path: YamlPath | None = None) -> None:
        if anchor:
            self.anchors[anchor] = (value, weight)
        if not self.stack:
            self.root = value
            self.smap.values[()] = span
            return
        parent = self.stack[-1]
        parent.weight += weight
        if not parent.is_map:
            child = path if path is not None else parent.path + (len(parent.container),)
            parent.container.append(value)
            self.record(child, span, value, text_offset)
        elif not parent.has_key:
            self.take_key(parent, value, span)
        else:
            parent.has_key = False
            if parent.is_merge:
                self.merge(parent, value, span)
                return
            child = parent.path + (parent.key,)
            parent.container[parent.key] = value
            self.record(child, span, value, text_offset)

    def record(self, path: YamlPath, span: SourceSpan, value: Any, text_offset: int | None) -> None:
        self.smap.values[path] = span
        if text_offset is not None and isinstance(value, str) and "${{" in value:
            self.smap.text_offset[path] = text_offset

    def take_key(self, parent: _Frame, key: Any, span: SourceSpan) -> None:
        if isinstance(key, (dict, list)):
            self.fail("E101", "a mapping key must be a plain value, not a mapping or list", span)
        parent.is_merge = key == "<<"
        if not parent.is_merge and key in parent.container:
            first = self.smap.keys[parent.path + (key,)]
            self.fail("E102", f"duplicate key '{key}'", span.with_length(len(str(key))),
                      f"'{key}' is first defined at line {first.line}; a later value would silently win")
        parent.key, parent.has_key = key, True
        if not parent.is_merge:
            self.smap.keys[parent.path + (key,)] = span.with_length(len(str(key)))

    def merge(self, parent: _Frame, value: Any, span: SourceSpan) -> None:
        sources = value if isinstance(value, list) else [value]
        if not all(isinstance(item, dict) for item in sources):
            self.fail("E101", "'<<' merges only mappings", span)
        parent.merges.extend(sources)


def load_yaml(text: str, display_path: str, line_offset: int = 0) -> tuple[Any, SourceMap]:
    """Parse one YAML document into plain data plus a SourceMap. Raises YamlLoadError."""
    composer = _Composer(display_path, line_offset)
    try:
        data = composer.run(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = (mark.line + 1 + line_offset) if mark else 1
        col = (mark.column + 1) if mark else 1
        message = exc.problem or "invalid YAML"
        if exc.context:
            message = f"{message} ({exc.context})"
        lines = text.split("\n")
        source_line = lines[line - 1 - line_offset] if 0 <= line - 1 - line_offset < len(lines) else ""
        raise YamlLoadError(error("E101", f"YAML syntax error: {message}", SourceSpan(display_path, line, col),
                                  _syntax_hint(message, source_line))) from None
    except yaml.reader.ReaderError as exc:  # pyyaml locates it by character offset, not line and column
        raise YamlLoadError(_unreadable(text, exc, display_path, line_offset)) from None
    except yaml.YAMLError as exc:
        raise YamlLoadError(error("E101", f"YAML syntax error: {exc}", SourceSpan(display_path, 1, 1))) from None
    return data, composer.smap


def _unreadable(text: str, exc: yaml.reader.ReaderError, display_path: str, line_offset: int):
    character = exc.character if isinstance(exc.character, str) else chr(exc.character)
    kind = "control character" if unicodedata.category(character) == "Cc" else "character"
    line_start = text.rfind("\n", 0, exc.position) + 1
    span = SourceSpan(display_path, text.count("\n", 0, exc.position) + 1 + line_offset, exc.position - line_start + 1)
    escape = f"\\x{ord(character):02x}" if ord(character) < 0x100 else f"\\u{ord(character):04x}"
    return error("E101", f"YAML syntax error: the {kind} {character!r} is not allowed in YAML", span,
                 f'remove it, or write it as an escape in a double-quoted string: "{escape}"')


def _syntax_hint(message: str, source_line: str) -> str | None:
    if "\t" in source_line[: len(source_line) - len(source_line.lstrip())]:
        return "YAML indentation must use spaces, not tabs"
    if "mapping values are not allowed" in message:
        return "a value containing ': ' must be quoted"
    if "${{" in message or "found unexpected end of stream" in message:
        return "quote values that start with '${{', e.g. when: \"${{ ... }}\""
    return None
