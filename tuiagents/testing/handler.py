"""The HTTP request handler of the scripted server: routing, responses, streams and faults.

One handler instance serves one connection and exactly one request (``Connection: close``). The
state it needs (the dispatcher, the request log, the stop flag) lives on the owning
:class:`~tuiagents.testing.server.ScriptedServer`, reachable as ``self.server.owner``.
"""

from __future__ import annotations

import json
import logging
import socket
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from tuiagents.testing.faults import Fault
from tuiagents.testing.wire import completion_body, error_body, model_entry, models_body, stream_chunks

log = logging.getLogger("tuiagents.testing")

MALFORMED = '{"id": "chatcmpl-broken", "object": "chat.completion.chunk", "choices": [{"delta": '
MID_STREAM_KINDS = ("drop_mid_stream", "malformed_chunk", "stream_error")
CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)
DRIP_PIECES = 10  # a non-streamed body under a ``chunk_delay`` is sent in this many pieces


class _Stopped(Exception):
    """The server is stopping (or the connection was dropped on purpose): abandon the response."""


class ScriptedHandler(BaseHTTPRequestHandler):
    """Serves one request of the scripted server; see :mod:`tuiagents.testing.server`."""

    protocol_version = "HTTP/1.1"
    server_version = "tuiagents-scripted/1"

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._route("GET")

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        self._route("POST")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        log.debug("scripted server: " + format, *args)

    # -- routing -----------------------------------------------------------------------------------
    def _route(self, method: str) -> None:
        self.close_connection = True
        owner = self.server.owner  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        path = urlsplit(self.path).path
        route = (path[3:] if path.startswith("/v1/") else path).rstrip("/")
        headers = {k.lower(): v for k, v in self.headers.items()}
        base = {"method": method, "path": path, "headers": headers, "body": body}
        try:
            if route == "/chat/completions" and method == "POST":
                self._chat(owner, base)
            elif route == "/models" and method == "GET":
                owner._record(**base, status=200)
                self._send_json(200, models_body(owner.script.models))
            elif route.startswith("/models/") and method == "GET":
                model = route[len("/models/"):]
                found = model in owner.script.models
                owner._record(**base, status=200 if found else 404)
                if found:
                    self._send_json(200, model_entry(model))
                else:
                    self._send_json(404, error_body(f"The model '{model}' does not exist", code="model_not_found"))
            else:
                owner._record(**base, status=404)
                self._send_json(404, error_body(f"scripted server: no route for {method} {path}", code="not_found"))
        except CLIENT_GONE:
            log.debug("scripted server: client went away during %s %s", method, path)
        except _Stopped:
            self._drop()

    def _chat(self, owner: Any, base: dict[str, Any]) -> None:
        body = base["body"]
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            owner._record(**base, status=400)
            self._send_json(400, error_body("scripted server: the body must be a JSON object with 'messages'"))
            return
        outcome = owner.dispatcher.choose(body)
        fault: Fault | None = outcome.fault
        stream = body.get("stream") is True
        status: int | None = 200
        if fault is not None and fault.is_http_error:
            status = fault.effective_status
        elif fault is not None and fault.kind == "drop":
            status = None
        elif fault is not None and fault.kind == "stream_error" and not stream:
            status = 500
        record = owner._record(
            **base, agent=outcome.agent, turn=outcome.turn, rule=outcome.rule,
            fault=fault.kind if fault else None, status=status,
        )
        completion_id = f"chatcmpl-scripted-{record.index}"
        self._wait(owner, fault.delay if fault else 0.0)
        if fault is not None and fault.is_http_error:
            headers = {} if fault.retry_after is None else {"Retry-After": format(fault.retry_after, "g")}
            self._send_json(fault.effective_status, fault.error_body(), headers)
        elif fault is not None and fault.kind == "drop":
            self._drop()
        elif stream:
            self._stream(owner, body, outcome.reply, completion_id, fault)
        elif fault is not None and fault.kind == "stream_error":
            self._send_json(500, fault.error_body())
        elif fault is not None and fault.kind == "malformed_chunk":
            self._send_bytes(200, MALFORMED.encode(), "application/json")
        else:
            data = json.dumps(completion_body(body, outcome.reply, completion_id)).encode()
            if fault is not None and fault.kind == "drop_mid_stream":
                self._send_head(200, "application/json", {"Content-Length": str(len(data))})
                self.wfile.write(data[: len(data) // 2])
                self._drop()
            elif fault is not None and fault.chunk_delay > 0:
                self._drip(owner, data, fault.chunk_delay)
            else:
                self._send_bytes(200, data, "application/json")

    # -- streaming ---------------------------------------------------------------------------------
    def _stream(self, owner: Any, body: dict, reply: Any, completion_id: str, fault: Fault | None) -> None:
        self._send_head(200, "text/event-stream; charset=utf-8",
                        {"Transfer-Encoding": "chunked", "Cache-Control": "no-cache"})
        chunks = list(stream_chunks(body, reply, completion_id))
        if fault is not None and fault.kind == "stream_prefix" and fault.prefix:
            self._write_chunk(fault.prefix.encode("utf-8"))
        mid = fault if fault is not None and fault.kind in MID_STREAM_KINDS else None
        at = min(mid.after_chunks, len(chunks)) if mid else -1
        for index, chunk in enumerate(chunks):
            if index == at and self._mid_stream(mid):
                return
            if index:
                self._wait(owner, fault.chunk_delay if fault else 0.0)
            self._event(json.dumps(chunk))
        if at == len(chunks) and self._mid_stream(mid):
            return
        self._event("[DONE]")
        self._write_chunk(b"")

    def _mid_stream(self, fault: Fault | None) -> bool:
        """Apply a mid-stream fault; True when the stream ends here."""
        assert fault is not None
        if fault.kind == "malformed_chunk":
            self._event(MALFORMED)
            return False
        if fault.kind == "stream_error":
            self._event(json.dumps(fault.error_body()))
            self._write_chunk(b"")
            return True
        self._drop()
        return True

    def _event(self, data: str) -> None:
        self._write_chunk(f"data: {data}\n\n".encode())

    def _write_chunk(self, payload: bytes) -> None:
        self.wfile.write(f"{len(payload):X}\r\n".encode() + payload + b"\r\n")
        self.wfile.flush()

    def _drip(self, owner: Any, data: bytes, pause: float) -> None:
        """Send a JSON body in DRIP_PIECES pieces, ``pause`` seconds apart (a slow, steady server)."""
        self._send_head(200, "application/json", {"Content-Length": str(len(data))})
        step = -(-len(data) // DRIP_PIECES)
        for start in range(0, len(data), step):
            if start:
                self._wait(owner, pause)
            self.wfile.write(data[start : start + step])
            self.wfile.flush()

    # -- plumbing ----------------------------------------------------------------------------------
    def _wait(self, owner: Any, seconds: float) -> None:
        if not owner._sleep(seconds):
            raise _Stopped

    def _send_head(self, status: int, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Connection", "close")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _send_bytes(self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self._send_head(status, content_type, {"Content-Length": str(len(data)), **(headers or {})})
        self.wfile.write(data)
        self.wfile.flush()

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send_bytes(status, json.dumps(payload).encode(), "application/json", headers)

    def _drop(self) -> None:
        """Close the connection now, without (the rest of) a response."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
