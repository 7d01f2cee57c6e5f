"""`[[mcp_servers]]`: one MCP server a run starts (stdio) or connects to (streamable HTTP)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tuiagents import secrets

#: What a server's name may hold: it is written in `tools = ["mcp:NAME/tool"]`.
NAME_PATTERN = r"^[A-Za-z0-9_.\-]+$"
#: How an agent's `tools` entry names an MCP server's tools: "mcp:NAME" or "mcp:NAME/TOOL".
MCP_PREFIX = "mcp:"
#: The value a secret has in a session log's config snapshot.
REDACTED = secrets.REDACTED


class McpServerSettings(BaseModel):
    """A server whose tools agents use with `tools = ["mcp:NAME"]` (all) or `"mcp:NAME/TOOL"` (one).

    Exactly one of `command` (a stdio server the run starts, with `env` and `cwd`) and `url` (a
    streamable HTTP endpoint, with `headers`). Credential headers (Authorization, ...-Token, api-key, ...) and secret-looking `env` values
    are registered with the scrubber as they are read, so they never reach a screen, log or export.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = Field(pattern=NAME_PATTERN)
    command: list[str] | None = None
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    #: seconds one tool call may take; its expiry is the call's result
    timeout: float = Field(default=60.0, gt=0, le=7 * 24 * 3600)
    #: seconds the server has to start and list its tools
    startup_timeout: float = Field(default=30.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _check(self) -> "McpServerSettings":
        if (self.command is None) == (self.url is None):
            raise ValueError(f"server {self.name!r}: set either command = [\"program\", \"arg\", ...] (stdio) "
                             f"or url = \"http://127.0.0.1:8000/mcp\" (streamable HTTP), not both or neither")
        if self.command is not None and not (self.command and self.command[0].strip()):
            raise ValueError(f"server {self.name!r}: command is empty; name the program to start")
        if self.url is not None:
            if not re.match(r"^https?://[^/\s]+", self.url):
                raise ValueError(f"server {self.name!r}: url must start with http:// or https:// "
                                 f"(got {secrets.scrub(self.url)!r})")
            if self.env or self.cwd:
                raise ValueError(f"server {self.name!r}: env and cwd are for a command; a url server runs elsewhere")
        if self.command is not None and self.headers:
            raise ValueError(f"server {self.name!r}: headers are for a url server; give a command server env instead")
        hidden = [f"headers.{k}" for k, v in self.headers.items() if v == REDACTED]
        hidden += [f"env.{k}" for k, v in self.env.items() if v == REDACTED]
        if hidden:
            raise ValueError(f"server {self.name!r}: {', '.join(hidden)} held a secret, which a session log does "
                             f"not keep; pass --config FILE with the server's real settings")
        return self

    def model_post_init(self, __context: Any) -> None:
        """Tell the process-wide scrubber the secrets this entry holds, before anything is shown."""
        secrets.register_url(self.url)
        secrets.register_headers(self.headers)
        secrets.register(*self.secret_env().values())

    def secret_env(self) -> dict[str, str]:
        """The `env` entries that are secrets: secret-looking names, or values holding a known secret."""
        named = set(secrets.env_secrets(self.env))
        return {k: v for k, v in self.env.items() if v in named or secrets.scrub(v) != v}

    def snapshot(self) -> dict[str, Any]:
        """This entry for a session log: every header value and every secret env value redacted."""
        data = self.model_dump(mode="json")
        data["url"] = secrets.scrub_url(self.url) if self.url else None
        data["headers"] = {k: REDACTED for k in self.headers}
        hidden = self.secret_env()
        data["env"] = {k: (REDACTED if k in hidden else v) for k, v in self.env.items()}
        return data

    def where(self) -> str:
        """The server in words for messages: its command line or its URL (without credentials)."""
        if self.command is not None:
            return secrets.scrub(" ".join(self.command))
        return secrets.scrub_url(self.url) or ""


@dataclass(frozen=True)
class McpToolRef:
    """An agent's `tools` entry for an MCP server: all its tools (`tool` None) or one."""

    server: str
    tool: str | None = None

    @classmethod
    def parse(cls, spec: str) -> "McpToolRef | None":
        """The reference `spec` writes, None when it is not an "mcp:" entry; ValueError when malformed."""
        if not spec.startswith(MCP_PREFIX):
            return None
        server, slash, tool = spec[len(MCP_PREFIX):].partition("/")
        if not re.match(NAME_PATTERN, server) or (slash and not tool.strip()):
            raise ValueError(f"tool {spec!r}: write it as \"mcp:SERVER\" (every tool of the server) or "
                             f"\"mcp:SERVER/TOOL\" (one tool)")
        return cls(server=server, tool=tool if slash else None)

    def __str__(self) -> str:
        return MCP_PREFIX + self.server + (f"/{self.tool}" if self.tool else "")


def mcp_tool_problems(agents: Iterable[tuple[str, list[str]]], servers: set[str]) -> list[str]:
    """Config problems of the agents' (name, tools) "mcp:" entries: malformed, or naming no
    `[[mcp_servers]]` entry. (A tool a server lacks, or one name from two servers, shows only once
    the servers list their tools.)"""
    problems: list[str] = []
    for i, (agent, tools) in enumerate(agents):
        for j, spec in enumerate(tools):
            try:
                ref = McpToolRef.parse(spec)
            except ValueError as exc:
                problems.append(f"agents[{i}].tools[{j}]: {exc}")
                continue
            if ref is not None and ref.server not in servers:
                problems.append(f"agents[{i}].tools[{j}]: agent {agent!r} names MCP server {ref.server!r}, "
                                f"which is not defined; add an [[mcp_servers]] entry named {ref.server!r} or use "
                                f"one of: {', '.join(sorted(servers)) or '(no MCP servers defined)'}")
    return problems
