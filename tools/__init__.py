"""Python tools used by the example pipelines (plain functions; agentctl derives their schemas)."""
