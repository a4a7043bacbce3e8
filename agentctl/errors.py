"""Exit codes (a user-facing contract) and the few exceptions that cross module boundaries."""

from __future__ import annotations

import errno
from contextlib import contextmanager
from typing import Iterator

EXIT_OK = 0
EXIT_FAILED = 1  # failed run or invalid spec
EXIT_USAGE = 2
EXIT_BUDGET = 3
EXIT_PAUSED = 4
EXIT_CHECKS = 5  # `diff --fail-on`: a check failed (the output was written)
EXIT_INTERRUPTED = 130

# A run's final status -> the exit code of the command that ran it. The one table of run outcomes.
EXIT_CODES = {
    "succeeded": EXIT_OK,
    "failed": EXIT_FAILED,
    "budget_exceeded": EXIT_BUDGET,
    "paused": EXIT_PAUSED,
    "interrupted": EXIT_INTERRUPTED,
}
RUN_STATUSES = (*EXIT_CODES, "running")  # what the journal says of a run: how it ended, or running


class AgentctlError(Exception):
    """An error meant for the user: a message, an optional hint, and the exit code to use."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(AgentctlError):
    exit_code = EXIT_USAGE


class OutputError(AgentctlError):
    """Standard output cannot be written (a full disk, an I/O error): what the command did stands."""


@contextmanager
def writing(what: object) -> Iterator[None]:
    """Files a command writes (init, schema, lock, reports): a folder that cannot be made or
    written, or a full disk, is an error for the user, not a crash."""
    try:
        yield
    except OSError as exc:
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        raise AgentctlError(f"cannot write {exc.filename or what}: {exc.strerror}",
                            "free disk space, or write it on another disk" if full else
                            "write it in a folder that exists and that you can write to") from None


class InvalidSpec(AgentctlError):
    """A pipeline that does not compile, given to a command that needs it compiled (graph, run)."""

    def __init__(self, diagnostics: list, files: int) -> None:
        super().__init__(f"{sum(1 for d in diagnostics if d.is_error)} error(s) in the pipeline")
        self.diagnostics = diagnostics
        self.files = files


class RunStopped(Exception):
    """Everything that stops a run before its end: a failed step, a spent budget, a pause for
    approval. `status` is the run's final status (a key of EXIT_CODES). Ctrl-C arrives as
    asyncio.CancelledError and ends the run as "interrupted"."""

    status = "failed"


class StepError(Exception):
    """A step cannot go on, for a reason the user must fix or the model could not: bad output,
    every model failing, a tool error, an expression error. The step fails (and with it the run)."""
