"""The gateway's decisions, without I/O: what an event puts in an agent's inbox, what an action publishes."""
