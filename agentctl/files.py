"""Files written whole or not at all: a cassette, a cache entry, a trace file."""

from __future__ import annotations

import contextlib
import itertools
import os
from pathlib import Path

_TEMPORARY = itertools.count()


def write_whole(path: Path, text: str) -> None:
    """`text` in a temporary file beside `path`, then renamed over it, so a reader never sees half
    a file. Raises OSError (a full disk, a folder in the way), leaving no temporary file behind."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{next(_TEMPORARY)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
