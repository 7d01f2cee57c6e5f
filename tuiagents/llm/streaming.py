"""Turning what the API sent (a ``ChatCompletion`` or a stream of chunks) into one :class:`Reply`.

Streamed text reaches ``on_delta`` as each chunk arrives; tool calls are assembled from their
fragments (keyed by ``index``; ``id`` and ``name`` arrive once, ``arguments`` in pieces); usage comes
from the final chunk that ``stream_options.include_usage`` asks for. A stream that breaks, sends a
chunk that is not JSON or of the wrong shape, or ends before any choice finished raises
:class:`~tuiagents.llm.retry.StreamBroken`; what had already been handed to ``on_delta`` is kept
in :class:`StreamProgress` so the caller can decide whether a retry is still invisible.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from tuiagents.engine.messages import ToolCall
from tuiagents.llm.retry import MalformedResponse, StreamBroken

DeltaCallback = Callable[[str], "Awaitable[None] | None"]


@dataclass
class Reply:
    """What one successful attempt produced, before usage accounting and caching."""

    content: str
    tool_calls: list[ToolCall]
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None
    usage_estimated: bool = False


def estimate_usage(reply: Reply, messages: list[dict[str, Any]]) -> Reply:
    """Fill in token counts a server did not report (llama.cpp streams carry none).

    About four characters per token: rough, but budgets and the cost display keep working, and
    `usage_estimated` tells the UI and the log that these are estimates.
    """
    if reply.prompt_tokens or reply.completion_tokens:
        return reply
    prompt_chars = sum(len(str(m.get("content") or "")) for m in messages)
    completion_chars = len(reply.content) + sum(len(c.name) + len(c.arguments) for c in reply.tool_calls)
    if not completion_chars:
        return reply
    reply.prompt_tokens = max(1, -(-prompt_chars // 4))
    reply.completion_tokens = max(1, -(-completion_chars // 4))
    reply.usage_estimated = True
    return reply


@dataclass
class StreamProgress:
    """Text of the current attempt already handed to ``on_delta`` (empty: nothing shown yet).

    Without an ``on_delta`` nothing is ever shown, so any failure can still be retried unseen.
    """

    parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """Everything delivered so far, joined."""
        return "".join(self.parts)

    @property
    def delivered(self) -> bool:
        """True once any non-empty delta reached the callback."""
        return bool(self.parts)


async def call_maybe_async(callback: Callable[..., Any] | None, *args: Any) -> None:
    """Call a callback that may be a plain function or a coroutine function."""
    if callback is None:
        return
    result = callback(*args)
    if inspect.isawaitable(result):
        await result


class StreamAssembler:
    """Accumulates chat-completion chunks (first choice only) into a :class:`Reply`."""

    def __init__(self, fallback_model: str) -> None:
        self._text: list[str] = []
        self._tools: dict[int, dict[str, str]] = {}
        self._last_index = -1
        self.model = fallback_model
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.finish_reason: str | None = None
        self.chunks = 0

    def feed(self, chunk: Any) -> str:
        """Take one chunk; return its text delta ('' when it carries none)."""
        self.chunks += 1
        if getattr(chunk, "model", None):
            self.model = chunk.model
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.prompt_tokens = int(usage.prompt_tokens or 0)
            self.completion_tokens = int(usage.completion_tokens or 0)
        text = ""
        for choice in chunk.choices or []:
            if (choice.index or 0) != 0:
                continue
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason
            delta = choice.delta
            if delta is None:
                continue
            if delta.content:
                text = delta.content
                self._text.append(text)
            for frag in delta.tool_calls or []:
                self._feed_tool(frag)
        return text

    def _feed_tool(self, frag: Any) -> None:
        index = getattr(frag, "index", None)
        if index is None:  # some servers omit it: a new id starts a new call
            index = self._last_index + 1 if (frag.id and frag.id not in self._ids()) else max(self._last_index, 0)
        self._last_index = index
        slot = self._tools.setdefault(index, {"id": "", "name": "", "arguments": ""})
        if frag.id:
            slot["id"] = frag.id
        fn = frag.function
        if fn is not None:
            if fn.name and not slot["name"]:
                slot["name"] = fn.name
            if fn.arguments:
                slot["arguments"] += fn.arguments

    def _ids(self) -> set[str]:
        return {slot["id"] for slot in self._tools.values()}

    def result(self) -> Reply:
        """The assembled reply. Tool calls without an id get a stable ``call_<n>`` one."""
        calls = [
            ToolCall(id=slot["id"] or f"call_{i}", name=slot["name"], arguments=slot["arguments"] or "{}")
            for i, slot in sorted(self._tools.items())
        ]
        return Reply(
            content="".join(self._text),
            tool_calls=calls,
            model=self.model,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            finish_reason=self.finish_reason,
        )


async def read_stream(
    stream: Any, model: str, on_delta: DeltaCallback | None, progress: StreamProgress
) -> Reply:
    """Consume an ``openai.AsyncStream[ChatCompletionChunk]`` into a :class:`Reply`.

    SDK errors (timeouts, dropped connections, error events) propagate unchanged for the caller to
    classify; malformed data becomes :class:`StreamBroken`. The stream is always closed.
    """
    assembler = StreamAssembler(model)
    try:
        iterator = stream.__aiter__()
        while True:
            try:
                chunk = await iterator.__anext__()
            except StopAsyncIteration:
                break
            except json.JSONDecodeError:
                raise StreamBroken(f"malformed chunk (not JSON) after {assembler.chunks} chunks") from None
            try:
                delta = assembler.feed(chunk)
            except (AttributeError, TypeError, KeyError, ValueError) as exc:
                raise StreamBroken(f"malformed chunk ({type(exc).__name__}) after {assembler.chunks} chunks") from None
            if delta and on_delta is not None:
                progress.parts.append(delta)
                await call_maybe_async(on_delta, delta)
    finally:
        await stream.close()
    if assembler.finish_reason is None:
        raise StreamBroken(f"the stream ended after {assembler.chunks} chunks without finishing the reply")
    return assembler.result()


def parse_completion(response: Any, model: str) -> Reply:
    """Turn a non-streamed ``ChatCompletion`` into a :class:`Reply` (MalformedResponse if it is not one)."""
    if isinstance(response, (str, bytes)) or response is None:
        raise MalformedResponse("the body is not a JSON chat completion")
    try:
        choice = response.choices[0]
        message = choice.message
        calls = [
            ToolCall(id=c.id or f"call_{i}", name=c.function.name, arguments=c.function.arguments or "{}")
            for i, c in enumerate(message.tool_calls or [])
        ]
        usage = getattr(response, "usage", None)
        return Reply(
            content=message.content or "",
            tool_calls=calls,
            model=getattr(response, "model", None) or model,
            prompt_tokens=int(usage.prompt_tokens or 0) if usage is not None else 0,
            completion_tokens=int(usage.completion_tokens or 0) if usage is not None else 0,
            finish_reason=choice.finish_reason,
        )
    except (AttributeError, IndexError, TypeError, KeyError, ValueError) as exc:
        raise MalformedResponse(f"unexpected shape ({type(exc).__name__})") from None
