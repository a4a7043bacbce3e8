"""Exit codes (a user-facing contract) and the few exceptions that cross module boundaries."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1  # failed run or invalid spec
EXIT_USAGE = 2
EXIT_BUDGET = 3
EXIT_PAUSED = 4
EXIT_INTERRUPTED = 130


class AgentctlError(Exception):
    """An error meant for the user: a message, an optional hint, and the exit code to use."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(AgentctlError):
    exit_code = EXIT_USAGE
