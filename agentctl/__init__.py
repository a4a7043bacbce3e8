"""agentctl: declarative LLM pipelines compiled into a checked execution graph."""

__version__ = "0.1.0"
