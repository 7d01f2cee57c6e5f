"""Servers that report no usage (llama.cpp streams) still give budgets something to count."""

from __future__ import annotations

from tuiagents.llm.client import LLMClient
from tuiagents.llm.settings import LLMSettings, ModelEntry
from tuiagents.testing import Reply, Rule, ScriptedServer, Usage


async def test_missing_usage_is_estimated_and_flagged():
    reply = Reply(content="x" * 40, usage=Usage(prompt_tokens=0, completion_tokens=0))
    with ScriptedServer([Rule(reply=reply)]) as server:
        client = LLMClient([ModelEntry(name="m", model="m", base_url=server.url, price=(1.0, 1.0))],
                           LLMSettings(cache_seed=False))
        try:
            done = await client.complete([{"role": "user", "content": "y" * 80}], agent="a")
        finally:
            await client.aclose()
    assert done.usage_estimated
    assert (done.prompt_tokens, done.completion_tokens) == (20, 10)
    assert done.cost == (20 + 10) / 1e6


async def test_reported_usage_is_not_estimated():
    with ScriptedServer([Rule(reply="four words right here")]) as server:
        client = LLMClient([ModelEntry(name="m", model="m", base_url=server.url)], LLMSettings(cache_seed=False))
        try:
            done = await client.complete([{"role": "user", "content": "hello"}], agent="a")
        finally:
            await client.aclose()
    assert not done.usage_estimated and done.completion_tokens == 4
