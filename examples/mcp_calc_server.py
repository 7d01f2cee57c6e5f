"""An example MCP server for tuiagents' `[[mcp_servers]]`: four arithmetic tools, on the `mcp` SDK.

    python3 examples/mcp_calc_server.py               # stdio (what config.toml.example starts)
    python3 examples/mcp_calc_server.py --http 8000   # streamable HTTP on http://127.0.0.1:8000/mcp

The tool descriptions and argument types below are what the model is offered and what you see
when you decide on a call.
"""

from __future__ import annotations

import sys

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

app = MCPServer("calc")


@app.tool()
def add(a: float, b: float) -> float:
    """Add two numbers and return the sum."""
    return a + b


@app.tool()
def subtract(a: float, b: float) -> float:
    """Subtract b from a and return the difference."""
    return a - b


@app.tool()
def multiply(a: float, b: float) -> float:
    """Multiply two numbers and return the product."""
    return a * b


@app.tool()
def divide(a: float, b: float) -> float:
    """Divide a by b and return the quotient; b must not be 0."""
    if b == 0:
        raise ToolError("cannot divide by zero")  # the model reads this as the call's result
    return a / b


if __name__ == "__main__":
    if "--http" in sys.argv:
        app.run("streamable-http", host="127.0.0.1", port=int(sys.argv[sys.argv.index("--http") + 1]))
    else:
        app.run()
