"""One MCP server for one run, on the `mcp` SDK: start it, list its tools, call them, stop it.

The SDK's transports and session are async context managers that must be left by the task that
entered them, so each server lives in a task of its own (`McpServer._own`): it connects,
initializes, lists the tools, then waits until `close()` asks it to leave, which stops a stdio
server's process (stdin closed, then SIGTERM and SIGKILL to its process tree) and ends an HTTP
session. Calls are made from any task through the session that task keeps open.

Nothing here raises into a run once the server is up: a server's own error, a lost server and a
call past its timeout all become a result text the model can read (`McpCallResult`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from tuiagents import secrets
from tuiagents.mcp_tools.settings import McpServerSettings

# The SDK logs transport hiccups (a session closed under a late reply) with tracebacks; with no
# handler configured, Python would print them over the cockpit. Failures reach the person as
# results and notices instead.
logging.getLogger("mcp").addHandler(logging.NullHandler())

#: Seconds `close()` waits for a server to stop before cancelling its task (the SDK itself kills a
#: stdio server's process tree within about 4 s of being asked to stop).
CLOSE_TIMEOUT = 10.0
#: Lines of a server's stderr quoted when it fails.
STDERR_LINES = 8
_STDERR_TAIL_BYTES = 16_384


@dataclass(frozen=True)
class McpToolSpec:
    """A tool as its server lists it: the name, description and input schema the model sees."""

    name: str
    description: str
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class McpCallResult:
    """What a call gave: the text for the model, and whether it is an error (the server's or ours)."""

    text: str
    is_error: bool = False


class McpStartError(Exception):
    """A server that did not start, connect or list its tools; the message names it and says why,
    with its stderr's last lines when it had any."""


def _leaf(exc: BaseException) -> BaseException:
    """The first real exception inside (nested) exception groups, which anyio task groups raise."""
    while getattr(exc, "exceptions", None):
        exc = exc.exceptions[0]  # type: ignore[attr-defined]
    return exc


def _why(exc: BaseException) -> str:
    from mcp.shared.exceptions import MCPError
    from mcp.types import CONNECTION_CLOSED

    exc = _leaf(exc)
    text = str(exc).strip()
    if isinstance(exc, MCPError) and exc.code == CONNECTION_CLOSED:
        return "it closed the connection (did the server exit?)"
    if isinstance(exc, FileNotFoundError):
        return f"the program was not found ({exc.filename or text}); check command"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def result_text(result: Any) -> str:
    """The text of a `CallToolResult` for the model: text parts joined, other parts described."""
    parts: list[str] = []
    for item in getattr(result, "content", None) or []:
        kind = getattr(item, "type", "")
        if kind == "text":
            parts.append(item.text)
        elif kind in ("image", "audio"):
            parts.append(f"[{kind} {getattr(item, 'mime_type', '')}, {len(getattr(item, 'data', '') or '')} "
                         f"base64 characters, not shown]")
        elif kind == "resource":
            res = item.resource
            parts.append(getattr(res, "text", None) or f"[resource {res.uri}]")
        elif kind == "resource_link":
            parts.append(f"[resource link {item.uri}]")
        else:
            parts.append(f"[{kind or type(item).__name__} content]")
    structured = getattr(result, "structured_content", None)
    if not parts and structured is not None:
        parts.append(json.dumps(structured, ensure_ascii=False, default=str))
    return "\n".join(parts)


class McpServer:
    """A connection to one `[[mcp_servers]]` entry for the length of a run."""

    def __init__(self, settings: McpServerSettings) -> None:
        self.settings = settings
        #: the server's tools by name, once started
        self.tools: dict[str, McpToolSpec] = {}
        self._session: Any = None
        self._task: asyncio.Task | None = None
        self._ready: asyncio.Future | None = None
        self._closing: asyncio.Event | None = None
        self._lost: str = ""
        self._stderr_path: str | None = None

    @property
    def name(self) -> str:
        """The server's name in the config."""
        return self.settings.name

    @property
    def running(self) -> bool:
        """True while the server is connected and its tools can be called."""
        return self._session is not None

    # -- start and stop ------------------------------------------------------------------------
    async def start(self) -> None:
        """Start (or connect to) the server and list its tools; McpStartError when it cannot."""
        if self._task is not None:
            return
        self._ready = asyncio.get_running_loop().create_future()
        self._closing = asyncio.Event()
        self._task = asyncio.create_task(self._own(), name=f"mcp-server-{self.name}")
        limit = self.settings.startup_timeout
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), limit)
        except asyncio.TimeoutError:
            # said before close(), which removes the stderr file whose tail the message quotes
            error = McpStartError(self._failure(f"it did not start and list its tools within {limit:g} s "
                                                f"(startup_timeout)"))
            await self.close()
            raise error from None
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Stop the server (a stdio server's process and its children) and end the session; safe twice."""
        task, self._task = self._task, None
        if task is None:
            return
        if self._closing is not None:
            self._closing.set()
        starting = self._ready is not None and not self._ready.done()
        try:
            if starting:  # still connecting or listing: nothing to wait for, leave at once
                task.cancel()
            done, _ = await asyncio.wait({task}, timeout=CLOSE_TIMEOUT)
            if not done:
                task.cancel()
            # the task's own end (an error while leaving, its cancellation) is no news to the run
            await asyncio.gather(task, return_exceptions=True)
        finally:
            self._session = None
            if self._ready is not None and self._ready.done() and not self._ready.cancelled():
                self._ready.exception()  # said by start() already; not "never retrieved"
            if self._stderr_path is not None:
                try:
                    os.unlink(self._stderr_path)
                except OSError:
                    pass
                self._stderr_path = None

    async def _own(self) -> None:
        """Enter the transport and session, list the tools, wait for `close()`, and leave them."""
        assert self._ready is not None and self._closing is not None
        try:
            async with AsyncExitStack() as stack:
                read, write = await self._connect(stack)
                from mcp import ClientSession
                from mcp.types import Implementation

                session = await stack.enter_async_context(
                    ClientSession(read, write, client_info=Implementation(name="tuiagents", version="1")))
                await session.initialize()
                self.tools = await self._list_tools(session)
                self._session = session
                self._ready.set_result(None)
                await self._closing.wait()
        except asyncio.CancelledError:
            self._fail_start("it was stopped while starting")
            raise
        except BaseException as exc:  # noqa: BLE001 - said to start() or, later, to each call
            if not self._ready.done():
                self._fail_start(_why(exc))
            elif not self._closing.is_set():
                self._lost = _why(exc)
        finally:
            self._session = None

    def _fail_start(self, why: str) -> None:
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(McpStartError(self._failure(why)))

    async def _connect(self, stack: AsyncExitStack) -> tuple[Any, Any]:
        """The read and write streams of the server's transport, entered on `stack`."""
        s = self.settings
        if s.command is not None:
            from mcp.client.stdio import StdioServerParameters, get_default_environment, stdio_client

            fd, self._stderr_path = tempfile.mkstemp(prefix=f"tuiagents-mcp-{self.name}-", suffix=".stderr")
            os.close(fd)
            # appended, so the server's writes and our reads of the tail never move each other's offset
            errlog = stack.enter_context(open(self._stderr_path, "a", encoding="utf-8", errors="replace"))
            params = StdioServerParameters(command=s.command[0], args=list(s.command[1:]),
                                           env={**get_default_environment(), **s.env} if s.env else None,
                                           cwd=s.cwd)
            streams = await stack.enter_async_context(stdio_client(params, errlog=errlog))
        else:
            from mcp.client.streamable_http import streamable_http_client
            from mcp.shared._httpx_utils import create_mcp_http_client

            client = await stack.enter_async_context(create_mcp_http_client(headers=dict(s.headers) or None))
            streams = await stack.enter_async_context(streamable_http_client(s.url or "", http_client=client))
        return streams[0], streams[1]

    @staticmethod
    async def _list_tools(session: Any) -> dict[str, McpToolSpec]:
        from mcp.types import PaginatedRequestParams

        tools: dict[str, McpToolSpec] = {}
        cursor = None
        while True:
            page = await session.list_tools(params=PaginatedRequestParams(cursor=cursor) if cursor else None)
            for t in page.tools:
                schema = dict(t.input_schema or {"type": "object", "properties": {}})
                tools[t.name] = McpToolSpec(name=t.name, description=(t.description or t.title or t.name).strip(),
                                            parameters=schema)
            cursor = page.next_cursor
            if not cursor:
                return tools

    # -- calls -----------------------------------------------------------------------------------
    async def call(self, tool: str, arguments: dict[str, Any]) -> McpCallResult:
        """Call `tool`; every failure (the server's error, a lost server, the timeout) is a result."""
        from mcp.shared.exceptions import MCPError
        from mcp.types import CONNECTION_CLOSED, REQUEST_TIMEOUT

        session = self._session
        if session is None:
            why = f" ({self._lost})" if self._lost else ""
            return McpCallResult("Error: " + self._failure(f"it is not running{why}", called=tool), is_error=True)
        limit = self.settings.timeout
        timed_out = McpCallResult(f"Error: {tool} on MCP server {self.name!r} did not answer within {limit:g} s "
                                  f"(the server's timeout); the call was abandoned", is_error=True)
        try:
            # the SDK's own timeout cancels the request on the server; the outer one is a backstop
            result = await asyncio.wait_for(session.call_tool(tool, arguments, read_timeout_seconds=limit),
                                            limit + 5)
        except asyncio.TimeoutError:
            return timed_out
        except MCPError as exc:
            if exc.code == REQUEST_TIMEOUT:
                return timed_out
            if exc.code == CONNECTION_CLOSED:  # it died: what its stderr said last tells why
                return McpCallResult("Error: " + self._failure(_why(exc), called=tool), is_error=True)
            return McpCallResult(f"Error: MCP server {self.name!r} refused {tool}: {exc.message}", is_error=True)
        except Exception as exc:  # noqa: BLE001 - a transport failure is the call's result
            return McpCallResult("Error: " + self._failure(_why(exc), called=tool), is_error=True)
        return McpCallResult(result_text(result), is_error=bool(result.is_error))

    # -- messages --------------------------------------------------------------------------------
    def stderr_tail(self, lines: int = STDERR_LINES) -> str:
        """The last lines a stdio server wrote to stderr (secrets removed); "" when none."""
        if self._stderr_path is None:
            return ""
        try:
            with open(self._stderr_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - _STDERR_TAIL_BYTES))
                data = f.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
        tail = [line for line in data.splitlines() if line.strip()][-lines:]
        return secrets.scrub("\n".join(tail))

    def _failure(self, why: str, called: str | None = None) -> str:
        """What went wrong first (a stop reason shows the first line), then where, then its stderr."""
        what = f"failed calling {called}" if called else "could not start"
        kind = "command" if self.settings.command is not None else "url"
        text = (f"MCP server {self.name!r} {what}: {secrets.scrub(why)}\n"
                f"  its {kind}: {self.settings.where()}")
        tail = self.stderr_tail()
        if tail:
            text += "\n  its stderr ended with:\n" + "\n".join("    " + line for line in tail.splitlines())
        return text

