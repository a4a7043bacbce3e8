"""Children that Ctrl-C reaches: a shell that starts a job in the background (`cmd &` without job
control, nohup) ignores SIGINT in it, every process under it inherits that, and Python installs no
KeyboardInterrupt handler when SIGINT is ignored at start-up. A test that sends SIGINT to a child
restores the default first, so it tests agentctl and not how the suite was started."""

import signal


def interruptible() -> None:
    """preexec_fn for subprocess.Popen: SIGINT back to its default in the child."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
