from agentctl.cli import entry

entry()
