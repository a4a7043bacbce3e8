"""Tools behind one protocol: Python functions now; HTTP endpoints and MCP servers plug in here."""
