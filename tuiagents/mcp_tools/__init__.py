"""Tools from MCP servers: the `[[mcp_servers]]` settings and a client on the `mcp` SDK.

An outside boundary like `llm` and `execution`: it knows nothing of agents or runs. The engine
(`engine/tool_servers.py`) starts the servers a run needs and turns their tools into its own.
"""
