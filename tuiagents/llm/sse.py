"""Reading a streamed chat completion straight from the HTTP response the SDK returned.

The request still goes through ``client.post(..., stream=True)`` (auth, headers, status errors
mapped to ``openai.APIStatusError``), asking for the raw response rather than an
``AsyncStream[ChatCompletionChunk]``: the SDK's stream object builds a pydantic-free but still
costly model per event (``construct_type``), most of a streamed turn's time. Here the
server-sent-event lines are split by hand, each ``data:`` payload is ``json.loads``-ed once, and
:class:`~tuiagents.llm.streaming.StreamAssembler` reads only the fields it uses.

Failures keep the SDK's types, so :func:`~tuiagents.llm.retry.classify` treats them as before:
a read timeout is ``openai.APITimeoutError``, a dropped connection ``openai.APIConnectionError``,
an ``{"error": ...}`` event ``openai.APIError``; a payload that is not JSON or not a chunk, or a
stream that ends before the reply finished, is :class:`~tuiagents.llm.retry.StreamBroken`.
Parsing follows the SDK's decoder: lines end at CR, LF or CRLF; ``data:`` lines of one event are
joined with newlines; a blank line ends an event; comments and other fields are ignored; the
stream ends at ``[DONE]`` (the rest of the body is drained so the connection can be reused).
Beyond the SDK, as the SSE standard says: a UTF-8 byte-order mark at the very start of the
stream is dropped (it would hide the first ``data:`` field, and with it the first words), and
only what is kept counts toward the event cap: a padded keep-alive comment is read and forgotten.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sys
from typing import Any

from tuiagents.llm.retry import StreamBroken
from tuiagents.llm.streaming import DeltaCallback, Reply, StreamAssembler, StreamProgress, call_maybe_async

DRAIN_SECONDS = 0.1  # after [DONE]: how long to wait for the end of the body before dropping it
MAX_EVENT_BYTES = 8 * 1024 * 1024  # a server streaming one endless line or event is broken, not trusted
BOM = b"\xef\xbb\xbf"  # U+FEFF in UTF-8


@functools.cache
def _transport_errors(module_name: str) -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """(timeouts, other transport errors) of the ``httpx`` flavour a response comes from."""
    import ssl

    module = sys.modules[module_name]
    others: tuple[type[BaseException], ...] = (module.RequestError, ssl.SSLError)
    try:
        import anyio

        others += (anyio.EndOfStream,)
    except ImportError:  # pragma: no cover - anyio comes with the SDK
        pass
    return (module.TimeoutException,), others


def raw_response_type(client: Any) -> type:
    """The ``Response`` class of the HTTP library under an SDK client (``httpx`` or ``httpx2``).

    Passed as ``cast_to``, it makes ``client.post(..., stream=True)`` hand back the response
    itself, after the SDK's status checks, instead of a parsed stream object.
    """
    for cls in type(getattr(client, "_client", None)).__mro__:
        root = cls.__module__.split(".")[0]
        if root.startswith("httpx") and hasattr(sys.modules.get(root), "Response"):
            return sys.modules[root].Response
    import httpx  # the SDK's own default before httpx2

    return httpx.Response


async def read_sse(response: Any, model: str, on_delta: DeltaCallback | None, progress: StreamProgress) -> Reply:
    """Read a chat-completion event stream from ``response`` into a :class:`Reply`.

    Text deltas go to ``on_delta`` (and ``progress``) as each event arrives. The response is
    always closed.
    """
    import openai

    assembler = StreamAssembler(model)
    timeouts, others = _transport_errors(type(response).__module__.split(".")[0])
    encoded = response.headers.get("content-encoding", "identity").lower() not in ("", "identity")
    chunks = response.aiter_bytes() if encoded else response.aiter_raw()  # raw: no decoder layer
    tail: list[bytes] = []  # an unfinished line, in the pieces it came in
    unfinished = 0  # bytes of that line
    kept = 0  # bytes of the data lines of the current event
    data: list[bytes] = []  # the data lines of the current event
    head: bytes | None = b""  # the first bytes, until it is known whether they start with a BOM
    done = False
    try:
        while not done:
            try:
                raw = await chunks.__anext__()
            except StopAsyncIteration:
                break
            except timeouts:
                raise openai.APITimeoutError(request=response.request) from None
            except others as exc:
                raise openai.APIConnectionError(request=response.request) from exc
            if head is not None:  # the stream's first bytes: a BOM may come in pieces
                head += raw
                if len(head) < len(BOM) and BOM.startswith(head):
                    continue
                raw, head = (head[len(BOM):] if head.startswith(BOM) else head), None
            if b"\n" not in raw and b"\r" not in raw:
                unfinished += len(raw)
                if kept + unfinished > MAX_EVENT_BYTES:
                    raise _too_long(assembler)
                tail.append(raw)  # joined once its line ends: no quadratic copying of a long line
                continue
            if tail:
                tail.append(raw)
                raw = b"".join(tail)
            if b"\r" in raw:
                raw, rest = _lf_lines(raw)
                lines = raw.split(b"\n")
                lines.pop()
            else:
                lines = raw.split(b"\n")
                rest = lines.pop()
            tail = [rest] if rest else []
            unfinished = len(rest)
            for line in lines:
                if line:
                    if line.startswith(b"data:"):
                        data.append(line[6:] if line[5:6] == b" " else line[5:])
                        kept += len(line)
                        if kept > MAX_EVENT_BYTES:
                            raise _too_long(assembler)
                    continue  # comments, event names, ids: not used by chat completions, not kept
                if not data:
                    continue
                payload = data[0] if len(data) == 1 else b"\n".join(data)
                data = []
                kept = 0
                if payload.startswith(b"[DONE]"):
                    done = True
                    break
                text = _feed(assembler, payload, response)
                if text and on_delta is not None:
                    progress.parts.append(text)
                    await call_maybe_async(on_delta, text)
            if kept + unfinished > MAX_EVENT_BYTES:
                raise _too_long(assembler)
        if done:
            await _drain(chunks)
    finally:
        await response.aclose()
    if assembler.finish_reason is None:
        raise StreamBroken(f"the stream ended after {assembler.chunks} chunks without finishing the reply")
    try:
        return assembler.result()
    except ValueError as exc:  # a tool call the ToolCall model refuses
        raise StreamBroken(f"malformed tool call in the stream ({type(exc).__name__})") from None


def _too_long(assembler: StreamAssembler) -> StreamBroken:
    return StreamBroken(f"an event of more than {MAX_EVENT_BYTES >> 20} MiB after {assembler.chunks} chunks")


def _feed(assembler: StreamAssembler, payload: bytes, response: Any) -> str:
    """Parse one event's data and hand it to ``assembler``; its text delta."""
    try:
        chunk = json.loads(payload.decode("utf-8"))  # str: json skips guessing the encoding
    except ValueError:  # UnicodeDecodeError included
        raise StreamBroken(f"malformed chunk (not JSON) after {assembler.chunks} chunks") from None
    if type(chunk) is not dict:
        raise StreamBroken(f"malformed chunk (not an object) after {assembler.chunks} chunks")
    if chunk.get("error"):
        _raise_error_event(chunk["error"], response)
    try:
        return assembler.feed(chunk)
    except (AttributeError, TypeError, KeyError, ValueError) as exc:
        raise StreamBroken(f"malformed chunk ({type(exc).__name__}) after {assembler.chunks} chunks") from None


def _raise_error_event(error: Any, response: Any) -> None:
    """Raise ``openai.APIError`` for an ``{"error": ...}`` event, as the SDK's stream does."""
    import openai

    message = error.get("message") if isinstance(error, dict) else None
    if not message or not isinstance(message, str):
        message = "An error occurred during streaming"
    raise openai.APIError(message=message, request=response.request, body=error)


def _lf_lines(raw: bytes) -> tuple[bytes, bytes]:
    """``raw`` with CRLF and lone CR line ends made LF, cut after its last complete line, and
    the rest (an unfinished line; a CR at the very end, whose LF may come with the next read)."""
    hold = b""
    if raw.endswith(b"\r"):
        raw, hold = raw[:-1], b"\r"
    raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    last = raw.rfind(b"\n")
    return raw[: last + 1], raw[last + 1 :] + hold


async def _drain(chunks: Any) -> None:
    """Read what follows ``[DONE]`` (usually just the end of the body) for a short while, so an
    HTTP/1.1 connection goes back to the pool; errors there do not matter any more."""
    try:
        if hasattr(asyncio, "timeout"):  # Python 3.11+: no extra task
            async with asyncio.timeout(DRAIN_SECONDS):
                async for _ in chunks:
                    pass
        else:
            await asyncio.wait_for(_exhaust(chunks), DRAIN_SECONDS)
    except Exception:  # noqa: BLE001 - the reply is complete; the connection is merely not reused
        pass


async def _exhaust(chunks: Any) -> None:
    async for _ in chunks:
        pass
