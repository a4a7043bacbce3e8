"""Tools behind one protocol (base.py): Python functions, HTTP endpoints and MCP servers over stdio."""
