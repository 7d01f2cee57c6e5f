"""Faults the scripted server can inject instead of (or on top of) a normal reply.

A :class:`Fault` is attached either to a :class:`~tuiagents.testing.script.Rule` (it then applies
every time that rule matches) or to the script's global ``faults`` queue (it then applies to the next
``times`` chat-completion requests, whatever they are, before any rule is consulted; ``/models``
requests are never faulted). A global mid-stream fault streams the reply of the rule that matches,
without using that rule up, so the retried request gets the same reply.

Kinds (``kind`` in JSON):

==================  ==========================================================================
``rate_limit``      HTTP 429 with a ``Retry-After: <retry_after>`` header (seconds, default 0).
``server_error``    HTTP 500.
``bad_request``     HTTP 400 (a non-retryable client error).
``http_error``      Any other status: set ``status``.
``drop``            Read the request, then close the connection without any response.
``drop_mid_stream`` Send the headers and ``after_chunks`` stream chunks (or half the JSON body
                    for a non-stream request), then close the connection.
``malformed_chunk`` Streaming: after ``after_chunks`` good chunks send ``data: {not json`` and
                    carry on. Non-stream: a 200 response whose body is not JSON.
``stream_error``    Streaming: after ``after_chunks`` chunks send an OpenAI-style
                    ``data: {"error": {...}}`` event and stop (the client raises ``APIError``).
``slow``            The normal reply, but only after ``delay`` seconds, and with ``chunk_delay``
                    seconds between stream chunks (a non-stream body is then sent in ten
                    pieces, ``chunk_delay`` apart: a slow drip that no per-read timeout catches).
``stream_prefix``   Streaming: the normal reply, with ``prefix`` sent as it is before the first
                    event (a UTF-8 byte-order mark, keep-alive comment lines, ...).
==================  ==========================================================================

``delay`` (seconds before the first byte) and ``chunk_delay`` work with every kind, so a slow 429
is ``Fault(kind="rate_limit", delay=1.0)``.

Every kind except ``slow`` and ``stream_prefix`` is *fatal*: the request does not count as a completed turn of its agent,
so a retried request sees the same ``turn`` as the failed one.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

FaultKind = Literal[
    "rate_limit",
    "server_error",
    "bad_request",
    "http_error",
    "drop",
    "drop_mid_stream",
    "malformed_chunk",
    "stream_error",
    "slow",
    "stream_prefix",
]

_DEFAULT_STATUS = {"rate_limit": 429, "server_error": 500, "bad_request": 400, "http_error": 500}
_ERROR_TYPE = {429: "rate_limit_error", 400: "invalid_request_error", 401: "authentication_error"}


class Fault(BaseModel):
    """One injected failure (or slowdown) of the scripted server; see the module docstring."""

    model_config = ConfigDict(extra="forbid")

    kind: FaultKind
    status: int | None = Field(default=None, description="HTTP status; defaults from the kind.")
    retry_after: float | None = Field(default=None, description="Retry-After header, seconds.")
    message: str | None = Field(default=None, description="Error message in the error body.")
    delay: float = Field(default=0.0, ge=0, description="Seconds to wait before the first byte.")
    chunk_delay: float = Field(default=0.0, ge=0, description="Seconds between stream chunks (or body pieces).")
    after_chunks: int = Field(default=2, ge=0, description="Good chunks sent before a mid-stream fault.")
    times: int = Field(default=1, ge=1, description="Requests affected (global faults only).")
    prefix: str = Field(default="", description="Text sent before a stream's first event (stream_prefix).")

    # -- convenience constructors -------------------------------------------------------------
    @classmethod
    def rate_limit(cls, retry_after: float = 0, *, times: int = 1, **kw: object) -> Fault:
        """HTTP 429 with ``Retry-After: retry_after`` for the next ``times`` requests."""
        return cls(kind="rate_limit", retry_after=retry_after, times=times, **kw)

    @classmethod
    def server_error(cls, *, times: int = 1, **kw: object) -> Fault:
        """HTTP 500 (retryable by the openai client)."""
        return cls(kind="server_error", times=times, **kw)

    @classmethod
    def bad_request(cls, message: str = "scripted bad request", *, times: int = 1, **kw: object) -> Fault:
        """HTTP 400 (not retried by the openai client; surfaces as ``openai.BadRequestError``)."""
        return cls(kind="bad_request", message=message, times=times, **kw)

    @classmethod
    def http_error(cls, status: int, *, times: int = 1, **kw: object) -> Fault:
        """Any HTTP error status, e.g. 401, 404, 503."""
        return cls(kind="http_error", status=status, times=times, **kw)

    @classmethod
    def drop(cls, *, times: int = 1, **kw: object) -> Fault:
        """Close the connection without a response (``openai.APIConnectionError``)."""
        return cls(kind="drop", times=times, **kw)

    @classmethod
    def drop_mid_stream(cls, after_chunks: int = 2, *, times: int = 1, **kw: object) -> Fault:
        """Close the connection after ``after_chunks`` stream chunks."""
        return cls(kind="drop_mid_stream", after_chunks=after_chunks, times=times, **kw)

    @classmethod
    def malformed_chunk(cls, after_chunks: int = 2, *, times: int = 1, **kw: object) -> Fault:
        """Send an SSE data line that is not JSON after ``after_chunks`` good chunks."""
        return cls(kind="malformed_chunk", after_chunks=after_chunks, times=times, **kw)

    @classmethod
    def stream_error(cls, after_chunks: int = 2, *, times: int = 1, **kw: object) -> Fault:
        """Send an OpenAI-style error event in the middle of a stream."""
        return cls(kind="stream_error", after_chunks=after_chunks, times=times, **kw)

    @classmethod
    def slow(cls, delay: float = 0.0, chunk_delay: float = 0.0, *, times: int = 1) -> Fault:
        """Reply normally, but wait ``delay`` s before the first byte and ``chunk_delay`` s per chunk."""
        return cls(kind="slow", delay=delay, chunk_delay=chunk_delay, times=times)

    @classmethod
    def stream_prefix(cls, prefix: str, *, times: int = 1) -> Fault:
        """Stream the normal reply with ``prefix`` (UTF-8) sent before its first event."""
        return cls(kind="stream_prefix", prefix=prefix, times=times)

    # -- derived values -------------------------------------------------------------------------
    @property
    def fatal(self) -> bool:
        """True when the request fails (it then does not count as a turn of its agent)."""
        return self.kind not in ("slow", "stream_prefix")

    @property
    def is_http_error(self) -> bool:
        """True for the kinds answered with an HTTP error status and an error body."""
        return self.kind in _DEFAULT_STATUS

    @property
    def effective_status(self) -> int:
        """The HTTP status sent for an HTTP-error kind."""
        return self.status if self.status is not None else _DEFAULT_STATUS.get(self.kind, 200)

    def error_body(self) -> dict:
        """The OpenAI-style ``{"error": {...}}`` body sent with an HTTP error or stream error."""
        status = self.effective_status if self.is_http_error else 500
        err_type = _ERROR_TYPE.get(status, "server_error" if status >= 500 else "invalid_request_error")
        default = f"scripted fault: {self.kind}"
        message = self.message or (f"{default} (HTTP {status})" if self.is_http_error else default)
        return {"error": {"message": message, "type": err_type, "param": None, "code": self.kind}}
