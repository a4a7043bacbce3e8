"""`${env:NAME}` in tool configuration (MCP env, HTTP URLs and headers), resolved at run time."""

from __future__ import annotations

import os
import re

from agentctl.spec.models import ENV_REF
from agentctl.tools.base import ToolError


def resolve(value: str) -> str:
    def one(match: re.Match) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ToolError(f"environment variable {name} is not set")
        return os.environ[name]

    return ENV_REF.sub(one, value)
