"""A scripted, OpenAI-compatible HTTP server on 127.0.0.1 for tests, the demo and CI.

It speaks the real wire protocol, so code under test uses the real ``openai`` client::

    with ScriptedServer(Script(rules=[Rule(agent="coder", reply="print('hi')")])) as server:
        client = openai.OpenAI(base_url=server.url, api_key="test")   # server.url ends in /v1
        client.chat.completions.create(model="m", messages=[...], user="coder")
        assert server.chat_requests[0].body["user"] == "coder"

Endpoints: ``POST /v1/chat/completions`` (streaming and not), ``GET /v1/models`` and
``GET /v1/models/{id}`` (the ``/v1`` prefix is optional). Every request is recorded in
:attr:`ScriptedServer.requests` *before* its response is sent. Each response closes its connection
(``Connection: close``); streams use chunked transfer encoding, so a connection dropped mid-stream
is an error for the client rather than a silently short body.

Command line (prints the base URL, then serves until Ctrl-C)::

    python -m tuiagents.testing.server --script demo.json --port 8765

Script file format (JSON, or TOML with the same structure; see :mod:`tuiagents.testing.script`;
the ``#`` comments below are explanations, not part of the format)::

    {
      "rules": [                                     # first matching rule that is not used up wins
        {"agent": "coder", "turn": 0, "reply": "Here is the code ..."},
        {"agent": "coder", "reply": {"content": null,
                                     "tool_calls": [{"name": "run", "arguments": {"x": 1}}]}},
        {"contains": "next speaker", "reply": "reviewer"},
        {"agent": "reviewer", "replies": ["Looks wrong.", "TERMINATE"]},
        {"model": "broken-*", "fault": {"kind": "server_error"}}
      ],
      "faults": [{"kind": "rate_limit", "retry_after": 0, "times": 2}],   # next 2 requests: 429
      "default": "(scripted server: no rule matched)",
      "models": ["scripted-model"]
    }

Matchers: ``agent`` (the request's ``user`` field; system-message substring when absent), ``turn``
(0-based count of the agent's completed requests), ``contains``/``regex`` (last message text),
``system`` (system message substring), ``model`` (glob). Fault kinds: :mod:`tuiagents.testing.faults`.
"""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import sys
import threading
from dataclasses import dataclass
from http.server import HTTPServer
from pathlib import Path
from typing import Any

from tuiagents.testing.dispatch import Dispatcher
from tuiagents.testing.faults import Fault
from tuiagents.testing.handler import ScriptedHandler
from tuiagents.testing.script import Script

log = logging.getLogger("tuiagents.testing")


@dataclass
class RecordedRequest:
    """One request the server received, and what it answered (for test assertions)."""

    index: int
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON (None when the body was empty or not JSON)
    agent: str | None = None  # the ``user`` field of a chat request
    turn: int | None = None  # the agent's turn the request was matched with
    rule: str | None = None  # label of the matched rule (None: default reply or global fault)
    fault: str | None = None  # kind of the injected fault, if any
    status: int | None = None  # HTTP status sent (None: connection dropped without a response)

    @property
    def is_chat(self) -> bool:
        """True for chat-completion requests."""
        return self.path.rstrip("/").endswith("/chat/completions")


class _HTTPServer(HTTPServer):
    """An HTTPServer with one tracked daemon thread per connection, so stop() can end them all."""

    allow_reuse_address = True
    request_queue_size = 128  # many agents may connect at once

    def __init__(self, owner: ScriptedServer, address: tuple[str, int]) -> None:
        self.owner = owner
        super().__init__(address, ScriptedHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve_one,
            args=(request, client_address),
            name=f"scripted-server-{self.server_address[1]}-conn",
            daemon=True,
        )
        self.owner._track(request, thread)
        thread.start()

    def _serve_one(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:  # noqa: BLE001 - a broken client must not kill the server
            log.debug("scripted server: connection from %s failed", client_address, exc_info=True)
        finally:
            self.shutdown_request(request)
            self.owner._untrack(request)


class ScriptedServer:
    """An OpenAI-compatible HTTP server answering from a :class:`Script`; thread-safe.

    ``script`` may be a :class:`Script`, a dict in the script format, a list of rules, a path to a
    ``.json``/``.toml`` script file, or None (every request gets the default reply). ``port=0`` lets
    the OS pick a free port. Use as a (sync or async) context manager, or call :meth:`start` and
    :meth:`stop`.
    """

    def __init__(self, script: Script | dict | list | str | Path | None = None, *, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self._dispatcher = Dispatcher(Script.coerce(script))
        self.host = host
        self._requested_port = port
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._connections: dict[Any, threading.Thread] = {}
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> ScriptedServer:
        """Bind and start serving in a daemon thread; returns self."""
        if self._httpd is not None:
            raise RuntimeError("ScriptedServer.start() called twice; create a new server instead")
        self._httpd = _HTTPServer(self, (self.host, self._requested_port))
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"scripted-server-{self.port}", daemon=True,
        )
        self._thread.start()
        log.info("scripted server listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving, close every open connection, free the port and join all threads."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            connections = dict(self._connections)
        for sock in connections:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in [*connections.values(), self._thread]:
            if thread is not None:
                thread.join(timeout=5)

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> ScriptedServer:
        return self.start()

    async def __aexit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """True between start() and stop()."""
        return self._httpd is not None

    @property
    def port(self) -> int:
        """The bound TCP port."""
        if self._httpd is None:
            raise RuntimeError("the scripted server is not running; call start() first")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The base URL for OpenAI clients: ``http://127.0.0.1:PORT/v1``."""
        return f"http://{self.host}:{self.port}/v1"

    # -- script and state --------------------------------------------------------------------------
    @property
    def script(self) -> Script:
        """The script being followed."""
        return self._dispatcher.script

    @property
    def dispatcher(self) -> Dispatcher:
        """The running script state (rule uses, agent turns, pending faults)."""
        return self._dispatcher

    def load(self, script: Script | dict | list | str | Path | None) -> None:
        """Replace the script and reset rule uses, agent turns and pending faults."""
        self._dispatcher = Dispatcher(Script.coerce(script))

    def inject(self, fault: Fault) -> None:
        """Apply ``fault`` to the next ``fault.times`` chat requests (after already queued faults)."""
        self._dispatcher.inject(fault)

    # -- recorded requests -------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """The chat-completion requests received so far."""
        return [r for r in self.requests if r.is_chat]

    def requests_for(self, agent: str) -> list[RecordedRequest]:
        """The chat requests whose ``user`` field was ``agent``."""
        return [r for r in self.chat_requests if r.agent == agent]

    def clear_requests(self) -> None:
        """Forget the recorded requests (the script state is kept)."""
        with self._lock:
            self._requests.clear()

    # -- clients -----------------------------------------------------------------------------------
    def client(self, **kwargs: Any) -> Any:
        """A sync ``openai.OpenAI`` client for this server (``api_key="test"`` unless given)."""
        import openai

        kwargs.setdefault("api_key", "test")
        return openai.OpenAI(base_url=self.url, **kwargs)

    def async_client(self, **kwargs: Any) -> Any:
        """An ``openai.AsyncOpenAI`` client for this server (``api_key="test"`` unless given)."""
        import openai

        kwargs.setdefault("api_key", "test")
        return openai.AsyncOpenAI(base_url=self.url, **kwargs)

    # -- used by the handler -----------------------------------------------------------------------
    def _record(self, **fields: Any) -> RecordedRequest:
        with self._lock:
            record = RecordedRequest(index=len(self._requests), **fields)
            self._requests.append(record)
            return record

    def _track(self, sock: Any, thread: threading.Thread) -> None:
        with self._lock:
            self._connections[sock] = thread

    def _untrack(self, sock: Any) -> None:
        with self._lock:
            self._connections.pop(sock, None)

    def _sleep(self, seconds: float) -> bool:
        """Wait up to ``seconds``; returns False when the server is stopping."""
        return not (seconds > 0 and self._stopping.wait(seconds)) and not self._stopping.is_set()


def main(argv: list[str] | None = None, prog: str = "python -m tuiagents.testing.server") -> int:
    """Run a scripted server from the command line until interrupted."""
    from tuiagents.testing.script import SCRIPT_HELP

    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0], epilog=SCRIPT_HELP,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--script", help="script file (.json or .toml, format below); default: no rules")
    parser.add_argument("--port", type=int, default=0, help="TCP port (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        print(f"{prog}: --port {args.port} is not a TCP port; give 1-65535, or 0 for any free port",
              file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(message)s")
    try:
        script = Script.from_file(args.script) if args.script else Script()
    except (OSError, ValueError) as exc:
        parser.error(f"cannot load script {args.script!r}: {exc}")
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    server = ScriptedServer(script, host=args.host, port=args.port)
    try:
        server.start()
    except OSError as exc:  # a busy port, an address not on this machine, a port needing root
        reason = exc.strerror or str(exc)
        print(f"{prog}: cannot listen on {args.host}:{args.port}: {reason}; pick another --port "
              "(0: any free port)", file=sys.stderr)
        return 2
    try:
        print(server.url, flush=True)
        try:
            done.wait()
        except KeyboardInterrupt:
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
