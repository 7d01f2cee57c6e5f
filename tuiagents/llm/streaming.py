"""Turning what the API sent (a ``ChatCompletion`` or a stream of chunks) into one :class:`Reply`.

Streamed chunks (read by :mod:`tuiagents.llm.sse`) are assembled by :class:`StreamAssembler`: tool
calls from their fragments (keyed by ``index``; ``id`` and ``name`` arrive once, ``arguments`` in
pieces), usage from the final chunk that ``stream_options.include_usage`` asks for. What had
already been handed to ``on_delta`` is kept in :class:`StreamProgress`, so that when the stream
breaks the caller can take it back (:class:`DraftDiscard`) before asking again.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from tuiagents.llm.retry import MalformedResponse
from tuiagents.llm.types import ToolCall

DeltaCallback = Callable[[str], "Awaitable[None] | None"]
DiscardCallback = Callable[["DraftDiscard"], "Awaitable[None] | None"]


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


@dataclass(frozen=True)
class DraftDiscard:
    """Streamed text taken back: the attempt on ``entry`` broke (``reason``) after ``text`` had
    been handed to ``on_delta``; the next attempt (if any) streams the reply from its start."""

    entry: str
    text: str
    reason: str


async def call_maybe_async(callback: Callable[..., Any] | None, *args: Any) -> None:
    """Call a callback that may be a plain function or a coroutine function."""
    if callback is None:
        return
    result = callback(*args)
    if inspect.isawaitable(result):
        await result


class StreamAssembler:
    """Accumulates chat-completion chunks (plain JSON objects; first choice only) into a :class:`Reply`.

    Only the fields used are read (``model``, ``usage``, ``choices[0].delta.content`` and
    ``tool_calls``, ``finish_reason``); everything else a server adds is ignored. A field of the
    wrong type raises ``TypeError``/``AttributeError``, which the reader reports as a broken stream.
    """

    def __init__(self, fallback_model: str) -> None:
        self._text: list[str] = []
        self._tools: dict[int, dict[str, str]] = {}
        self._last_index = -1
        self.model = fallback_model
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.finish_reason: str | None = None
        self.chunks = 0

    def feed(self, chunk: dict[str, Any]) -> str:
        """Take one chunk; return its text delta ('' when it carries none)."""
        self.chunks += 1
        model = chunk.get("model")
        if model:
            self.model = _text(model)
        usage = chunk.get("usage")
        if usage is not None:
            self.prompt_tokens = int(usage.get("prompt_tokens") or 0)
            self.completion_tokens = int(usage.get("completion_tokens") or 0)
        text = ""
        for choice in chunk.get("choices") or ():
            if (choice.get("index") or 0) != 0:
                continue
            finish = choice.get("finish_reason")
            if finish:
                self.finish_reason = _text(finish)
            delta = choice.get("delta")
            if delta is None:
                continue
            content = delta.get("content")
            if content:
                text = _text(content)
                self._text.append(text)
            for frag in delta.get("tool_calls") or ():
                self._feed_tool(frag)
        return text

    def _feed_tool(self, frag: dict[str, Any]) -> None:
        index = frag.get("index")
        call_id = frag.get("id")
        if index is None:  # some servers omit it: a new id starts a new call
            index = self._last_index + 1 if (call_id and call_id not in self._ids()) else max(self._last_index, 0)
        index = int(index)
        self._last_index = index
        slot = self._tools.setdefault(index, {"id": "", "name": "", "arguments": ""})
        if call_id:
            slot["id"] = _text(call_id)
        fn = frag.get("function")
        if fn is not None:
            name, arguments = fn.get("name"), fn.get("arguments")
            if name and not slot["name"]:
                slot["name"] = _text(name)
            if arguments:
                slot["arguments"] += _text(arguments)

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


def _text(value: Any) -> str:
    """``value`` if it is a string; a chunk with anything else there is malformed."""
    if type(value) is not str:
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


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
