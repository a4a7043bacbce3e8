"""The only module that talks to the terminal (and the only one that imports rich).

Colour follows rich's rules: off when output is not a terminal and when NO_COLOR is set. When
stdout is not a terminal (CI, pipes) text is written plainly and rich is not even imported:
it costs 16 ms of a 0.3 s `agentctl validate`.
"""

from __future__ import annotations

import math
import os
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from agentctl.diagnostics import Diagnostic
from agentctl.errors import AgentctlError, OutputError
from agentctl.fitting import column_widths, fit_columns

if TYPE_CHECKING:
    from rich.console import Console


class Text:
    """Styled text as (text, style) segments; rendered by rich only on a colour terminal."""

    def __init__(self, text: str = "", style: str | None = None) -> None:
        self.segments: list[tuple[str, str | None]] = [(text, style)] if text else []

    def append(self, text: str, style: str | None = None) -> None:
        self.segments.append((text, style))

    @property
    def plain(self) -> str:
        return "".join(t for t, _ in self.segments)


def _colour(stream) -> bool:
    return _live(stream) and "NO_COLOR" not in os.environ


def _live(stream) -> bool:
    """A terminal that can redraw: the live view (NO_COLOR turns colour off, not the view; rich
    honours it; --no-live turns the view off)."""
    return stream.isatty() and os.environ.get("TERM") != "dumb"


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but newline and tab


def printable(text: str) -> str:
    """Control characters (an ESC sequence in a YAML key, a model's answer) shown as \\x1b, never
    sent to the terminal to act on it."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text) if _CONTROL.search(text) else text


def write(stream, text: str) -> None:
    """Write and flush, control characters escaped; a reader that went away (`agentctl run ... |
    head -2`) is not an error: the stream is pointed at /dev/null and the run goes on to its end
    and its record. Nor is stderr that cannot be written (progress is also in the journal); stdout
    that cannot be written (`--json > file` on a full disk) is an error (OutputError)."""
    try:
        stream.write(printable(text))
        stream.flush()
    except OSError as exc:
        try:  # also what is left in the buffer, which the interpreter flushes at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
        except (OSError, ValueError):  # not a real file (a test's capture): nothing more to do
            pass
        if not isinstance(exc, BrokenPipeError) and stream is not sys.stderr:
            name = str(getattr(stream, "name", "<stdout>"))
            raise OutputError(f"cannot write to {'stdout' if name.startswith('<') else name}: {exc.strerror}",
                              "what the command did stands (a run is in the journal: agentctl runs list)") from None


def _emit(text: Text, stderr: bool = False) -> None:
    stream = sys.stderr if stderr else sys.stdout
    if not _colour(stream):
        write(stream, text.plain + "\n")
        return
    from rich.text import Text as RichText

    rich_text = RichText()
    for segment, style in text.segments:
        rich_text.append(printable(segment), style=style)
    (err() if stderr else out()).print(rich_text)

STYLES = {"error": "bold red", "warning": "bold yellow"}
UNREADABLE = {"E105", "E106"}  # too large, binary or not UTF-8: showing the line would not help


@lru_cache(maxsize=1)
def out() -> "Console":
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


@lru_cache(maxsize=1)
def err() -> "Console":
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


@lru_cache(maxsize=1)
def live_console() -> "Console":
    """The live views' console: it wraps, where err()'s soft wrap would let the terminal's edge
    cut a frame's long lines (the budget line lost its cost against the budget at 80 columns)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


class SourceLines:
    """Source lines for carets, read once per file (what a diagnostic points at is small)."""

    def __init__(self) -> None:
        self.files: dict[str, list[str] | None] = {}

    def line(self, path: str, number: int) -> str | None:
        if path not in self.files:
            self.files[path] = _read_lines(path)
        lines = self.files[path]
        if lines is None or not 0 < number <= len(lines):
            return None
        return lines[number - 1]


def _read_lines(path: str) -> list[str] | None:
    try:
        file = Path(path)
        if file.stat().st_size > 5 * 1024 * 1024:
            return None
        return file.read_bytes().decode("utf-8", errors="replace").split("\n")
    except OSError:
        return None


def render_diagnostic(d: Diagnostic, sources: SourceLines) -> Text:
    """Compiler-style: the message, the location, the source line, a caret, the hint."""
    text = Text()
    text.append(f"{d.severity.value}[{d.code}]", style=STYLES[d.severity.value])
    text.append(f": {d.message}\n", style="bold")
    gutter = " " * len(str(d.span.line))
    text.append(f"{gutter}--> ", style="blue")
    text.append(f"{d.span}\n")
    line = None if d.code in UNREADABLE else sources.line(d.span.path, d.span.line)
    if line is not None:
        line = "".join(c if c.isprintable() else "?" for c in line.rstrip("\r").replace("\t", " "))
        width = 1
        if d.span.end_line == d.span.line and d.span.end_col and d.span.end_col > d.span.col:
            width = d.span.end_col - d.span.col
        width = max(1, min(width, len(line) - d.span.col + 1))
        text.append(f"{gutter} |\n", style="blue")
        text.append(f"{d.span.line} | ", style="blue")
        text.append(line[:300] + "\n")
        text.append(f"{gutter} | ", style="blue")
        text.append(" " * (d.span.col - 1) + "^" * width + "\n", style=STYLES[d.severity.value])
    if d.hint:
        text.append(f"{gutter} = ", style="blue")
        text.append("hint: ", style="bold")
        text.append(f"{d.hint}\n")
    return text


def summary_line(errors: int, warnings: int, files: int) -> str:
    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    if not errors and not warnings:
        return f"{plural(files, 'file')} checked: no problems"
    return f"{plural(files, 'file')} checked: {plural(errors, 'error')}, {plural(warnings, 'warning')}"


def print_diagnostics(diagnostics: Sequence[Diagnostic], files: int) -> None:
    sources = SourceLines()
    for d in diagnostics:
        _emit(render_diagnostic(d, sources))
    errors = sum(1 for d in diagnostics if d.is_error)
    style = "bold red" if errors else ("bold yellow" if diagnostics else "bold green")
    _emit(Text(summary_line(errors, len(diagnostics) - errors, files), style=style))


def print_plain(text: str, stream=None) -> None:
    """Machine-readable output: no markup, no wrapping, no colour; on stdout unless told."""
    write(stream or sys.stdout, text + ("\n" if not text.endswith("\n") else ""))


def print_diff(text: str) -> None:
    """`agentctl diff` as text: added lines green, removed red, headings bold on a terminal."""
    styled = Text()
    lines = text.rstrip("\n").split("\n")
    for index, line in enumerate(lines):
        body = line.lstrip()
        style = ("green" if body.startswith("+") and not body.startswith("+++") else
                 "red" if body.startswith("-") and not body.startswith("---") else
                 "bold" if line and not line.startswith(" ") else None)
        styled.append(line + ("\n" if index < len(lines) - 1 else ""), style)
    _emit(styled)


def print_info(message: str) -> None:
    _emit(Text(message))


def print_error(exc: AgentctlError) -> None:
    text = Text()
    text.append("error", style="bold red")
    text.append(f": {exc.message}")
    if exc.hint:
        text.append("\n  hint: ", style="bold")
        text.append(exc.hint)
    _emit(text, stderr=True)


def print_note(message: str) -> None:
    """A remark about what happens next, on stderr (stdout stays for results and --json)."""
    _emit(Text(message), stderr=True)


def print_warning(message: str) -> None:
    text = Text()
    text.append("warning", style="bold yellow")
    text.append(f": {message}")
    _emit(text, stderr=True)


def print_crash(log: Path) -> None:
    _emit(Text(f"internal error: agentctl crashed; this is a bug. Details are in {log} (please attach it to a "
               "report).", style="bold red"), stderr=True)


MAX_LINE = 400  # characters of one progress line


def print_tool_output(source: str, line: str) -> None:
    """What a Python tool or an MCP server printed ("tool NAME", "mcp NAME"): on stderr under its
    name, never on stdout."""
    write(sys.stderr, f"[{source}] {line}\n")


COLUMNS = ("step", "state", "model", "attempt", "tokens", "cost", "elapsed")
STATE_STYLES = {"succeeded": "green", "started": "green", "failed": "bold red", "denied": "red", "cancelled": "red",
                "running": "yellow", "starting": "yellow", "waiting": "magenta", "paused": "magenta",
                "stopping": "yellow", "cancelling": "yellow", "stopped": "green"}


def terminal_width(stream) -> int | None:
    """The width of the terminal `stream` writes to; None when it is not a terminal (a log, a pipe)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns if stream.isatty() else None
    except (OSError, ValueError):
        return None


class LiveProgress:
    """`agentctl run`'s progress on stderr: on a terminal a live table of every step (state, model
    and fallback in use, attempt, tokens, cost, elapsed) with the run's totals against each budget;
    elsewhere one plain line per event. Subscribes to the engine's events."""

    def __init__(self, progress, redact, live: bool | None = None) -> None:
        self.progress = progress  # run_display.Progress
        self.redact = redact
        self.live_mode = _live(sys.stderr) if live is None else live
        self.live = None
        self.asking = False

    def __enter__(self) -> "LiveProgress":
        if self.live_mode:
            self.live = self._new_live()
            self.live.__enter__()
        return self

    def _new_live(self):
        from rich.live import Live

        # built at each refresh, not each event: the clocks move during a long model call
        return Live(console=live_console(), refresh_per_second=8, transient=False, get_renderable=self._table)

    def __exit__(self, *exc) -> None:
        if self.asking:  # a question the run's stop left unanswered: what follows starts on a new line
            write(sys.stderr, "\n")
        if self.live is not None:
            self.live.__exit__(*exc)  # its last refresh draws the final frame

    def __call__(self, event) -> None:
        line = self.progress.apply(event)
        if self.live is None and line:  # masked, then shortened: a shortened secret would no longer be recognised
            line = self.redact(f"[{event.at - self.progress.started:7.2f}s] {line}")
            write(sys.stderr, (line if len(line) <= MAX_LINE else line[:MAX_LINE - 1] + "…") + "\n")

    def _table(self):
        from rich.table import Table
        from rich.text import Text as RichText

        pipeline, (width, height) = self.progress.pipeline, live_console().size
        caption = self.progress.budget_line()
        # less the title, the heading's three lines, the bottom border, the line the cursor rests on
        # and the caption's lines (it wraps)
        room = height - 6 - math.ceil(len(caption) / max(width, 1))
        rows = [[printable(cell) for cell in row] for row in self.progress.table_rows(room)]
        kept = fit_columns(COLUMNS, rows, width)
        table = Table(title=printable(f"{pipeline.name} {pipeline.version}"), expand=False, caption_justify="left")
        step, state = COLUMNS.index("step"), COLUMNS.index("state")
        # the other columns stay whole: a step id too long for the terminal is the one cut short
        widths = column_widths(COLUMNS, rows)
        others = sum(3 + widths[i] for i in kept if i != step)
        for i in kept:
            table.add_column(COLUMNS[i], justify="right" if COLUMNS[i] in ("tokens", "cost", "elapsed") else "left",
                             no_wrap=i in (step, state), overflow="ellipsis",
                             max_width=max(4, width - 4 - others) if i == step else None)
        for row in rows:  # a state in its colour (none under NO_COLOR: rich drops colours then)
            table.add_row(*(RichText(row[i], STATE_STYLES.get(row[i].split()[-1])) if i == state else row[i]
                            for i in kept))
        table.caption = caption
        return table

    def ask(self, request) -> bool | None:
        """Ask a human at the terminal, with the live view out of the way while they answer."""
        if self.live is not None:
            self.live.stop()
        self.asking = True
        try:
            return ask_approval(request, self.redact)
        finally:
            self.asking = False
            if self.live is not None:  # a new view below the answer: the old one would redraw over the question
                self.live = self._new_live()
                self.live.start()


def ask_approval(request, redact=lambda text: text) -> bool | None:
    """Show an approval request's context (secrets masked) and ask, at the terminal; None when the
    input ends unanswered (Ctrl-D, the terminal closed): nobody decided."""
    import json

    lines = [f"\napproval needed at step '{request.step}' ({request.approver}): {request.message}"]
    for key, value in request.context.items():  # a model's tool arguments among them: escaped below
        lines.append(f"  {key}: {json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value}")
    write(sys.stderr, "\n".join(redact(line) for line in lines) + "\napprove? [y/N] ")
    line = sys.stdin.readline()
    if not line:
        write(sys.stderr, "\n")
        return None
    return line.strip().lower() in ("y", "yes")


class BatchProgress:
    """`agentctl eval`'s progress on stderr: on a terminal one live status line (rows done, passing,
    failing, errors, cost against the budget, time), redrawn from `status` at each refresh so it
    shows from the start and its clock moves; elsewhere one line per finished row."""

    def __init__(self, live: bool | None = None, status: Callable[[], str] = lambda: "") -> None:
        self.live_mode = _live(sys.stderr) if live is None else live
        self.status = status
        self.live = None

    def __enter__(self) -> "BatchProgress":
        if self.live_mode:
            from rich.live import Live

            self.live = Live(console=live_console(), refresh_per_second=4, transient=False,
                             get_renderable=lambda: printable(self.status()))
            self.live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.live is not None:
            self.live.__exit__(*exc)

    def update(self, row_line: str) -> None:
        """A row finished: its line, off a terminal (the live line counts it)."""
        if self.live is not None:
            self.live.refresh()
        else:
            write(sys.stderr, (row_line if len(row_line) <= MAX_LINE else row_line[:MAX_LINE - 1] + "…") + "\n")
