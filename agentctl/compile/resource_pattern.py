"""How a policy rule's argument pattern matches a value: as a path-like glob, because the values
worth scoping are paths and URLs. `*` and `?` stay within one `/`-separated segment, `**` crosses
segments, `[...]` is a character class. A value with a `.` or `..` segment matches only a pattern
that spells that segment out: `reports/../secret.txt` is not under `reports/*` (plain fnmatch
would say it is, and a policy must not be walked around that way)."""

from __future__ import annotations

import re
from functools import lru_cache

_DOT_SEGMENT = re.compile(r"(?:^|/)\.{1,2}(?:/|$)")


def resource_matches(pattern: str, value: str) -> bool:
    if _DOT_SEGMENT.search(value) and not _DOT_SEGMENT.search(pattern):
        return False
    return _compiled(pattern).fullmatch(value) is not None


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern:
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[" and (end := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1:end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body).replace("\\", "\\\\") + "]")
            i = end + 1
            continue
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out), re.DOTALL)
