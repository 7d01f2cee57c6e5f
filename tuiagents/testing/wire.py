"""OpenAI chat-completion wire format: response bodies, stream chunks and token counts.

Token counting is a deterministic approximation, reported exactly as counted:

- ``count_tokens(text)`` is ``len(text.split())`` (whitespace-separated words);
- ``prompt_tokens`` is the sum of ``count_tokens`` over the text content of every request message
  (string content, or the ``text`` parts of list content; tool-call arguments in the history are
  not counted);
- ``completion_tokens`` is ``count_tokens(content)`` plus, for every tool call,
  ``count_tokens(name) + count_tokens(arguments_json)``;
- a reply's explicit ``usage`` replaces both numbers.
"""

from __future__ import annotations

import re
import time
from typing import Any, Iterator

from tuiagents.testing.dispatch import message_text
from tuiagents.testing.script import Reply

ARGUMENT_FRAGMENT = 8  # characters per streamed tool-call argument fragment


def count_tokens(text: str | None) -> int:
    """The server's token count of a text: the number of whitespace-separated words."""
    return len(text.split()) if text else 0


def usage_for(body: dict, reply: Reply) -> dict[str, int]:
    """The ``usage`` object reported for a request body and the reply sent to it."""
    if reply.usage is not None:
        prompt, completion = reply.usage.prompt_tokens, reply.usage.completion_tokens
    else:
        messages = body.get("messages") if isinstance(body.get("messages"), list) else []
        prompt = sum(count_tokens(message_text(m)) for m in messages)
        completion = count_tokens(reply.content) + sum(
            count_tokens(c.name) + count_tokens(c.arguments_json()) for c in reply.tool_calls
        )
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def split_words(text: str) -> list[str]:
    """Split text into stream pieces, one word each with its trailing whitespace; joins back exactly."""
    return [piece for piece in re.split(r"(?<=\s)(?=\S)", text) if piece]


def tool_call_ids(reply: Reply, completion_id: str) -> list[str]:
    """The id of each tool call: the scripted one, or one derived from the completion id."""
    return [c.id or f"call_{completion_id.rsplit('-', 1)[-1]}_{i}" for i, c in enumerate(reply.tool_calls)]


def completion_body(body: dict, reply: Reply, completion_id: str) -> dict[str, Any]:
    """A non-streaming ``chat.completion`` response body."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.content, "refusal": None}
    if reply.tool_calls:
        message["tool_calls"] = [
            {"id": call_id, "type": "function", "function": {"name": c.name, "arguments": c.arguments_json()}}
            for c, call_id in zip(reply.tool_calls, tool_call_ids(reply, completion_id))
        ]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(body.get("model", "scripted-model")),
        "system_fingerprint": None,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": reply.finish_reason}],
        "usage": usage_for(body, reply),
    }


def stream_chunks(body: dict, reply: Reply, completion_id: str) -> Iterator[dict[str, Any]]:
    """The ``chat.completion.chunk`` objects of a streamed reply, in order (without ``[DONE]``).

    A role chunk, one chunk per word of content, then per tool call a chunk with its index, id and
    name followed by argument fragments, a finish chunk, and, when the request asked for
    ``stream_options.include_usage``, a last chunk with empty ``choices`` and the usage.
    """
    options = body.get("stream_options")
    include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
    created = int(time.time())
    model = str(body.get("model", "scripted-model"))

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": None,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if include_usage:
            out["usage"] = None
        return out

    yield chunk({"role": "assistant", "content": "" if reply.content is not None else None})
    for piece in split_words(reply.content or ""):
        yield chunk({"content": piece})
    for index, (call, call_id) in enumerate(zip(reply.tool_calls, tool_call_ids(reply, completion_id))):
        head = {"index": index, "id": call_id, "type": "function", "function": {"name": call.name, "arguments": ""}}
        yield chunk({"tool_calls": [head]})
        args = call.arguments_json()
        for start in range(0, len(args), ARGUMENT_FRAGMENT):
            fragment = args[start : start + ARGUMENT_FRAGMENT]
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
    yield chunk({}, reply.finish_reason)
    if include_usage:
        final = chunk({})
        final["choices"] = []
        final["usage"] = usage_for(body, reply)
        yield final


def models_body(models: list[str]) -> dict[str, Any]:
    """The ``GET /v1/models`` response body."""
    return {"object": "list", "data": [model_entry(m) for m in models]}


def model_entry(model: str) -> dict[str, Any]:
    """One model object as listed by ``/v1/models``."""
    return {"id": model, "object": "model", "created": 0, "owned_by": "tuiagents-scripted"}


def error_body(message: str, err_type: str = "invalid_request_error", code: str | None = None) -> dict[str, Any]:
    """An OpenAI-style error body."""
    return {"error": {"message": message, "type": err_type, "param": None, "code": code}}
