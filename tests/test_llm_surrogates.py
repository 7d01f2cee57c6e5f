"""A model's reply may hold a lone surrogate (JSON allows ``\\ud800``; some servers send one).

The conversation must go on: the next request carries that message back to the model, and a
lone surrogate cannot be written as UTF-8, so the LLM layer sends it as U+FFFD instead of
failing the run with a UnicodeEncodeError.
"""

from __future__ import annotations

import pytest

from tuiagents.llm import LLMClient, LLMSettings, ModelEntry
from tuiagents.testing import Rule
from tuiagents.testing.fixtures import scripted_server  # noqa: F401 - pytest fixture


@pytest.mark.parametrize(("stream", "cache_seed"), [(True, False), (False, False), (True, 41)])
async def test_history_with_a_lone_surrogate_is_sent(scripted_server, tmp_path, stream, cache_seed):
    server = scripted_server([Rule(agent="writer", reply="ok")])
    entry = ModelEntry(name="default", model="test-model", base_url=server.url)
    client = LLMClient([entry], LLMSettings(cache_seed=cache_seed, cache_dir=str(tmp_path)))
    messages = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": "half a pair: \ud800 and a tool",
         "tool_calls": [{"id": "c1", "type": "function",
                         "function": {"name": "f", "arguments": '{"x": "\udfff"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "fine"},
    ]
    try:
        result = await client.complete(messages, agent="writer", stream=stream)
    finally:
        await client.aclose()
    assert result.content == "ok"
    sent = server.chat_requests[0].body["messages"]
    assert sent[1]["content"] == "half a pair: \ufffd and a tool"
    assert sent[1]["tool_calls"][0]["function"]["arguments"] == '{"x": "\ufffd"}'
    assert messages[1]["content"] == "half a pair: \ud800 and a tool"  # the caller's copy is kept
