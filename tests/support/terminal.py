"""A command run in a real pseudo-terminal of a given size, as a user at a terminal runs it: the
live view and the summary see a terminal (isatty, its width), not a pipe."""

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios

_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def run_in_terminal(argv: list[str], cwd, columns: int, rows: int = 24, env: dict | None = None,
                    timeout: float = 120.0) -> tuple[int, str]:
    """Exit code and everything the terminal received, escape sequences removed, lines split on
    the terminal's \\r\\n."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(columns), **(env or {})}
    proc = subprocess.Popen(argv, cwd=cwd, stdin=slave, stdout=slave, stderr=slave, env=env,
                            start_new_session=True)
    os.close(slave)
    received = bytearray()
    try:
        while select.select([master], [], [], timeout)[0]:  # the timeout only guards a hung child
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every end of the terminal closed, the child is gone
                break
            if not chunk:
                break
            received += chunk
    finally:
        os.close(master)
    code = proc.wait(timeout=timeout)
    return code, _ESCAPES.sub("", received.decode("utf-8", "replace")).replace("\r\n", "\n")
