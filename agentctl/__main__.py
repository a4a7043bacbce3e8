from agentctl.boundary import entry

entry()
