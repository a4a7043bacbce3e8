"""The one boundary between the command line and the process: `entry` is the `agentctl` command
(and `python -m agentctl`); `main` runs the typer app (agentctl/cli.py, which only declares the
commands) and maps every error to its exit code: diagnostics and AgentctlError to their codes, a
light install's missing run dependency to a usage error, anything else to a crash log and one
line. Bad input never shows a traceback.

Exit codes are a contract (errors.py): 0 success, 1 failed run or invalid spec, 2 usage error,
3 budget exceeded, 4 paused for approval, 5 `diff --fail-on` check failed, 130 interrupted.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from agentctl.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, AgentctlError, InvalidSpec, UsageError


# Top-level modules of the `run` extra (pyproject.toml): a light install has none of them.
RUN_EXTRA = ("litellm", "httpx", "tenacity", "aiolimiter", "opentelemetry", "mcp")


def entry() -> None:
    """The `agentctl` command (and python -m agentctl): main(), then, when litellm was loaded, an
    exit that skips the interpreter's teardown of it (0.6 s of freeing modules here), once
    everything is written: the journal and trace files are closed by then, stdout and stderr
    flushed below. Tests call main() and keep their process."""
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code
    if isinstance(code, str):
        sys.stderr.write(code + "\n")
        code = 1
    code = code or 0
    if "litellm" in sys.modules:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
    sys.exit(code)


def main() -> None:
    """The one boundary that maps errors to exit codes; bad input never shows a traceback.

    typer (which vendors its own click) reports usage errors itself, with exit code 2. Anything
    unexpected is a bug: a crash log under .agentctl/ and one line on the terminal.
    """
    # pydantic scans every installed package's entry points for plugins on first use (13 ms here);
    # agentctl's models are internal, so no third-party plugin should observe them.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        from agentctl.cli import app

        app(prog_name="agentctl")  # the same name (and completion variable) for python -m agentctl
    except InvalidSpec as exc:
        from agentctl import console

        console.print_diagnostics(exc.diagnostics, exc.files)
        sys.exit(exc.exit_code)
    except AgentctlError as exc:
        from agentctl import console

        console.print_error(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] in RUN_EXTRA:  # a light install (no run extra)
            from agentctl import console

            console.print_error(UsageError(f"this command needs '{exc.name}', which is part of the run extra",
                                           "pip install 'agentctl[run]' (validate, graph, diff and render do not "
                                           "need it)"))
            sys.exit(EXIT_USAGE)
        _crashed(exc)
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        _crashed(exc)


def _crashed(exc: Exception) -> None:
    """A bug: a crash log under .agentctl/ and one line on the terminal."""
    if os.environ.get("AGENTCTL_DEBUG"):
        raise exc
    from agentctl import console
    from agentctl.compile.project import find_root
    from agentctl.crash import write_crash_log

    console.print_crash(write_crash_log(exc, find_root(Path.cwd()) / ".agentctl"))
    sys.exit(EXIT_FAILED)
