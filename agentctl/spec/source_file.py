"""Reading a source file as text, turning every way it can be unreadable into a diagnostic."""

from __future__ import annotations

from pathlib import Path

from agentctl.diagnostics import Diagnostic, SourceSpan, error

MAX_FILE_BYTES = 5 * 1024 * 1024


def read_text(path: Path, display: str) -> tuple[str | None, Diagnostic | None]:
    """The file's text, or a located diagnostic saying why it cannot be read."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, error("E105", f"file is {size / 1e6:.1f} MB; agentctl reads files up to "
                               f"{MAX_FILE_BYTES // (1024 * 1024)} MB", SourceSpan(display, 1, 1),
                               "split it into smaller pipelines or prompts")
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, error("E100", "file not found", SourceSpan(display, 1, 1))
    except IsADirectoryError:
        return None, error("E100", "expected a file, found a directory", SourceSpan(display, 1, 1))
    except OSError as exc:
        return None, error("E100", f"cannot read file: {exc.strerror or exc}", SourceSpan(display, 1, 1))
    return decode(raw, display)


def decode(raw: bytes, display: str) -> tuple[str | None, Diagnostic | None]:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    nul = raw.find(b"\x00")
    if nul >= 0:
        return None, error("E106", "binary data (a NUL byte) in a text file", _byte_span(raw, nul, display),
                           "pipelines and prompts are UTF-8 text files")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, error("E106", f"not valid UTF-8: byte 0x{raw[exc.start]:02x} cannot be decoded",
                           _byte_span(raw, exc.start, display), "save the file as UTF-8")
    if not text.strip():
        return None, error("E107", "file is empty", SourceSpan(display, 1, 1),
                           "a pipeline starts with 'apiVersion: agentctl/v1'; `agentctl init` writes an example")
    return text.replace("\r\n", "\n"), None


def _byte_span(raw: bytes, offset: int, display: str) -> SourceSpan:
    line = raw.count(b"\n", 0, offset) + 1
    line_start = raw.rfind(b"\n", 0, offset) + 1
    col = len(raw[line_start:offset].decode("utf-8", errors="replace")) + 1
    return SourceSpan(display, line, col)
