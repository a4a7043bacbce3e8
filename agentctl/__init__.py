"""agentctl: declarative LLM pipelines compiled into a checked execution graph."""

__version__ = "0.1.0"

import os as _os

# pydantic scans every installed package's entry points for plugins on first use (13 ms here);
# agentctl's models are internal, so no third-party plugin should observe them.
_os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
