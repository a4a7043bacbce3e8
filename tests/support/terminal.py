"""A command run in a real pseudo-terminal of a given size, as a user at a terminal runs it: the
live view and the summary see a terminal (isatty, its width), not a pipe."""

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import time

from tests.support.signals import interruptible

_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
TIMEOUT = 120.0  # only guards a hung child; nothing waits for it to pass


class Terminal:
    """`argv` started in a pseudo-terminal `columns` wide; `expect` reads until a text has been
    shown (to act at a known moment of the run), `finish` to the end."""

    def __init__(self, argv: list[str], cwd, columns: int, rows: int = 24, env: dict | None = None) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(columns), **(env or {})}
        self.proc = subprocess.Popen(argv, cwd=cwd, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True, preexec_fn=interruptible)
        os.close(slave)
        self.received = bytearray()
        self.closed = False
        self.deadline = time.monotonic() + TIMEOUT  # the live view writes all along: a per-read timeout never ends

    @property
    def screen(self) -> str:
        """Everything shown so far, escape sequences removed, lines split on the terminal's \\r\\n."""
        return _ESCAPES.sub("", self.received.decode("utf-8", "replace")).replace("\r\n", "\n")

    def _read(self) -> bool:
        left = self.deadline - time.monotonic()
        if self.closed or left <= 0 or not select.select([self.master], [], [], left)[0]:
            return False
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: every end of the terminal closed, the child is gone
            chunk = b""
        if not chunk:
            self.closed = True
            os.close(self.master)
            return False
        self.received += chunk
        return True

    def expect(self, text: str) -> str:
        while text not in self.screen:
            if not self._read():
                os.killpg(self.proc.pid, signal.SIGKILL)  # the command and what it started
                raise AssertionError(f"{text!r} never shown; the terminal showed:\n{self.screen[-3000:]}")
        return self.screen

    def until(self, done, what: str) -> str:
        """Read what is shown until `done()` holds (something the test saw happen elsewhere)."""
        while not done():
            if not self._read():
                os.killpg(self.proc.pid, signal.SIGKILL)
                raise AssertionError(f"{what} never happened; the terminal showed:\n{self.screen[-3000:]}")
        return self.screen

    def type(self, text: str) -> None:
        """Keys typed at the terminal (\n for Enter)."""
        os.write(self.master, text.encode())

    def interrupt(self) -> None:
        """Ctrl-C: SIGINT to the command's process group, as a terminal sends it."""
        os.killpg(self.proc.pid, signal.SIGINT)

    def finish(self) -> tuple[int, str]:
        while self._read():
            pass
        if not self.closed:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the command and what it started
            raise AssertionError(f"still running after {TIMEOUT:g} s; the terminal showed:\n{self.screen[-3000:]}")
        return self.proc.wait(timeout=TIMEOUT), self.screen


def run_in_terminal(argv: list[str], cwd, columns: int, rows: int = 24, env: dict | None = None) -> tuple[int, str]:
    """Exit code and everything the terminal showed."""
    return Terminal(argv, cwd, columns, rows, env).finish()
