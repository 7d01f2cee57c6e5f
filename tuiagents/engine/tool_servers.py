"""The MCP servers of one run: started with it, their tools given to the agents that name them,
stopped with it.

An agent's `tools = ["mcp:calc"]` gets every tool server `calc` lists, `"mcp:calc/add"` one. What a
server lists (a tool's name, description and input schema) is what the agent's model is offered
and what the person sees when deciding on a call. Which tools exist is known only once the
servers answer, so a tool a server lacks, or one name from two sources given to one agent, is a
`ToolServerError` at start (`bad_config`: the headless command exits 2 for it).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuiagents.engine.tools import Tool, ToolFailed
from tuiagents.mcp_tools.client import McpServer, McpStartError, McpToolSpec
from tuiagents.mcp_tools.settings import McpServerSettings, McpToolRef

if TYPE_CHECKING:
    from tuiagents.engine.agent import ConversableAgent


class ToolServerError(Exception):
    """The run's MCP servers cannot give the agents their tools; the message says which and why.

    `bad_config` is True when the config asks for what the servers do not have (a fix in the
    config), False when a server failed to start.
    """

    def __init__(self, message: str, *, bad_config: bool = False) -> None:
        super().__init__(message)
        self.bad_config = bad_config


def model_name(name: str) -> str:
    """`name` as a chat completion's function name may be written (letters, digits, _ and -, at most
    64): MCP allows dots and longer names, which an OpenAI-compatible API refuses outright."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64] or "_"


def mcp_tool(server: McpServer, spec: McpToolSpec) -> Tool:
    """A tool that calls `spec` on `server`: the server's description and schema, its result text
    (under `model_name(spec.name)`; the server is called with its own name)."""

    async def call(**arguments: Any) -> str:
        result = await server.call(spec.name, arguments)
        if result.is_error:
            raise ToolFailed(result.text)
        return result.text

    call.__name__ = model_name(spec.name)
    call.__doc__ = spec.description
    return Tool(name=model_name(spec.name), description=spec.description, function=call, parameters=dict(spec.parameters))


class ToolServers:
    """The servers a run uses and which agent asked for which of their tools."""

    def __init__(self, settings: Iterable[McpServerSettings], wanted: dict[str, list[McpToolRef]],
                 folder: str | Path | None = None) -> None:
        """`wanted` maps an agent's name to its "mcp:" entries; only servers named there start.
        A stdio server without `cwd` starts in `folder` (the config's), a relative `cwd` is taken from it."""
        names = {ref.server for refs in wanted.values() for ref in refs}
        self.wanted = wanted
        self.servers: dict[str, McpServer] = {
            s.name: McpServer(in_folder(s, folder)) for s in settings if s.name in names}
        self._opened = False

    def __bool__(self) -> bool:
        return bool(self.servers)

    async def start(self, agents: dict[str, "ConversableAgent"]) -> None:
        """Start every server, then give each agent the tools it named; ToolServerError when not possible
        (every server is stopped again then)."""
        if self._opened:
            return
        self._opened = True
        outcomes = await asyncio.gather(*(s.start() for s in self.servers.values()), return_exceptions=True)
        failed = [str(o) if isinstance(o, McpStartError) else f"MCP server {name!r} could not start: {o!r}"
                  for name, o in zip(self.servers, outcomes) if isinstance(o, BaseException)]
        try:
            if failed:
                raise ToolServerError("\n".join(failed))
            for agent_name, refs in self.wanted.items():
                agent = agents.get(agent_name)
                if agent is not None:
                    self._give(agent, refs)
        except BaseException:
            await self.aclose()
            raise

    def _give(self, agent: "ConversableAgent", refs: list[McpToolRef]) -> None:
        source = {name: "a Python function" for name in agent.tools}
        for ref in refs:
            server = self.servers[ref.server]
            if ref.tool is not None and ref.tool not in server.tools:
                listed = ", ".join(sorted(server.tools)) or "none"
                raise ToolServerError(f"agent {agent.name!r} asks for {ref}, but MCP server {ref.server!r} has no "
                                      f"tool {ref.tool!r} (its tools: {listed}); fix the agent's tools",
                                      bad_config=True)
            for spec in ([server.tools[ref.tool]] if ref.tool is not None else server.tools.values()):
                here, name = f"mcp:{ref.server}/{spec.name}", model_name(spec.name)
                if name in source and source[name] != here:
                    raise ToolServerError(
                        f"agent {agent.name!r} gets a tool named {name!r} from both {source[name]} and "
                        f"{here}; a model cannot tell them apart: give the agent only one of them "
                        f"(\"mcp:SERVER/TOOL\" names single tools)", bad_config=True)
                source[name] = here
                agent.register_tool(mcp_tool(server, spec))

    async def aclose(self) -> None:
        """Stop every server (a stdio server's process tree too); safe to call twice."""
        await asyncio.gather(*(s.close() for s in self.servers.values()), return_exceptions=True)


def in_folder(settings: McpServerSettings, folder: str | Path | None) -> McpServerSettings:
    """`settings` as a run uses them: a stdio server starts in `folder` (the config's) unless its
    `cwd` says otherwise, and a relative `cwd` is taken from `folder`."""
    if settings.command is None or folder is None:
        return settings
    cwd = Path(folder) / Path(settings.cwd).expanduser() if settings.cwd else Path(folder)
    return settings.model_copy(update={"cwd": str(cwd)})


def wanted_tools(specs: dict[str, list[str]]) -> dict[str, list[McpToolRef]]:
    """The "mcp:" entries of each agent's `tools` (agents without any are left out)."""
    out: dict[str, list[McpToolRef]] = {}
    for agent, tools in specs.items():
        refs = [r for r in (McpToolRef.parse(t) for t in tools) if r is not None]
        if refs:
            out[agent] = refs
    return out
