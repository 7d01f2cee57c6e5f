"""The on-disk response cache of LLMClient, seen through the scripted server's request count."""

from __future__ import annotations

import asyncio

import pytest

from tuiagents.llm import LLMClient, LLMSettings, ModelEntry
from tuiagents.llm.cache import CACHE_FILE, cache_key
from tuiagents.testing import Reply, Rule, Usage
from tuiagents.testing.fixtures import scripted_server  # noqa: F401 - pytest fixture

ASK = [{"role": "user", "content": "What is two plus two?"}]
USAGE = Usage(prompt_tokens=40, completion_tokens=6)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_CUSTOM_HEADERS"):
        monkeypatch.delenv(name, raising=False)


def _client(server, tmp_path, seed=41) -> LLMClient:
    entry = ModelEntry(name="default", model="gpt-4o", base_url=server.url)
    return LLMClient([entry], LLMSettings(cache_seed=seed, cache_dir=str(tmp_path)))


def _server(scripted_server):
    return scripted_server([Rule(agent="calc", replies=[
        Reply(content="Four, of course.", usage=USAGE),
        Reply(content="A different answer.", usage=USAGE),
    ])])


async def test_cache_hit_makes_no_request(scripted_server, tmp_path) -> None:
    server = _server(scripted_server)
    client = _client(server, tmp_path)
    first = await client.complete(ASK, agent="calc")
    assert not first.cached and first.cost > 0
    shown: list[str] = []
    second = await client.complete(ASK, agent="calc", on_delta=shown.append)
    await client.aclose()
    assert len(server.chat_requests) == 1
    assert second.cached and second.cost == 0 and second.content == "Four, of course."
    assert (second.prompt_tokens, second.completion_tokens) == (40, 6)
    assert shown == ["Four, of course."]  # the UI still gets the text, once
    totals = client.usage.totals()
    assert (totals.calls, totals.prompt_tokens, totals.cost) == (1, 40, first.cost)
    assert (totals.cached_calls, totals.cached_prompt_tokens, totals.cached_completion_tokens) == (1, 40, 6)
    assert (tmp_path / CACHE_FILE).is_file()


async def test_cache_survives_a_new_client_and_stream_mode(scripted_server, tmp_path) -> None:
    server = _server(scripted_server)
    client = _client(server, tmp_path)
    await client.complete(ASK, agent="calc", stream=True)
    await client.aclose()
    again = _client(server, tmp_path)
    result = await again.complete(ASK, agent="calc", stream=False)
    await again.aclose()
    assert result.cached and len(server.chat_requests) == 1


async def test_tool_calls_are_cached(scripted_server, tmp_path) -> None:
    server = scripted_server([Rule(reply=Reply.tool("run", code="print(1)"))])
    client = _client(server, tmp_path)
    first = await client.complete(ASK, agent="coder")
    second = await client.complete(ASK, agent="coder")
    await client.aclose()
    assert second.cached and second.tool_calls == first.tool_calls and second.finish_reason == "tool_calls"


async def test_cache_seed_false_disables(scripted_server, tmp_path) -> None:
    server = _server(scripted_server)
    client = _client(server, tmp_path, seed=False)
    first = await client.complete(ASK, agent="calc")
    second = await client.complete(ASK, agent="calc")
    await client.aclose()
    assert len(server.chat_requests) == 2 and not second.cached
    assert (first.content, second.content) == ("Four, of course.", "A different answer.")
    assert not (tmp_path / CACHE_FILE).exists()


async def test_different_seed_misses(scripted_server, tmp_path) -> None:
    server = _server(scripted_server)
    one = _client(server, tmp_path, seed=1)
    await one.complete(ASK, agent="calc")
    await one.aclose()
    two = _client(server, tmp_path, seed=2)
    result = await two.complete(ASK, agent="calc")
    await two.aclose()
    assert not result.cached and result.content == "A different answer."
    assert len(server.chat_requests) == 2


async def test_changed_request_misses(scripted_server, tmp_path) -> None:
    server = scripted_server([Rule(reply="answer")])
    client = _client(server, tmp_path)
    await client.complete(ASK, agent="calc")
    await client.complete(ASK + [{"role": "user", "content": "and three?"}], agent="calc")
    await client.complete(ASK, agent="other")  # another agent never reuses an answer
    await client.complete(ASK, agent="calc", tools=[{"type": "function", "function": {"name": "f"}}])
    await client.aclose()
    assert len(server.chat_requests) == 4 and client.usage.totals().cached_calls == 0


async def test_concurrent_calls_share_the_cache_safely(scripted_server, tmp_path) -> None:
    server = scripted_server([Rule(reply="same")])
    client = _client(server, tmp_path)
    asks = [[{"role": "user", "content": f"question {i}"}] for i in range(8)]
    await asyncio.gather(*(client.complete(a, agent="x") for a in asks))
    results = await asyncio.gather(*(client.complete(a, agent="x") for a in asks))
    await client.aclose()
    assert all(r.cached for r in results) and len(server.chat_requests) == 8


def test_cache_key_is_canonical() -> None:
    body = {"model": "m", "messages": ASK, "temperature": 0.1, "user": "a"}
    reordered = {"user": "a", "temperature": 0.1, "messages": ASK, "model": "m"}
    streamed = {**body, "stream": True, "stream_options": {"include_usage": True}}
    assert cache_key(body, 41) == cache_key(reordered, 41) == cache_key(streamed, 41)
    assert cache_key(body, 41) != cache_key(body, 42)
    assert cache_key(body, 41) != cache_key({**body, "temperature": 0.2}, 41)
    assert len(cache_key(body, 41)) == 64


async def test_unwritable_cache_dir_does_not_fail_calls(scripted_server, tmp_path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be")
    server = scripted_server([Rule(reply="works anyway")])
    client = LLMClient([ModelEntry(name="d", model="m", base_url=server.url)],
                       LLMSettings(cache_dir=str(blocker / "cache")))
    assert (await client.complete(ASK)).content == "works anyway"
    assert (await client.complete(ASK)).content == "works anyway"
    await client.aclose()
    assert len(server.chat_requests) == 2


async def test_the_same_request_to_another_endpoint_is_not_answered_from_the_first_ones_cache(
        scripted_server, tmp_path) -> None:
    """One cache folder, two servers: each server's reply comes from that server (a run pointed at a
    new endpoint, or with no endpoint at all, never replays another endpoint's answers)."""
    first = scripted_server([Rule(agent="calc", reply=Reply(content="From the first server.", usage=USAGE))])
    second = scripted_server([Rule(agent="calc", reply=Reply(content="From the second server.", usage=USAGE))])
    ask = [{"role": "user", "content": "2+2?"}]
    a, b = _client(first, tmp_path), _client(second, tmp_path)
    try:
        assert (await a.complete(ask, agent="calc")).content == "From the first server."
        other = await b.complete(ask, agent="calc")
        again = await a.complete(ask, agent="calc")
    finally:
        await a.aclose(), await b.aclose()
    assert other.content == "From the second server." and not other.cached
    assert again.content == "From the first server." and again.cached  # its own cache still answers
    body = {"model": "m", "messages": ask}
    assert cache_key(body, 41, "openai 127.0.0.1:1/v1") != cache_key(body, 41, "openai 127.0.0.1:2/v1")


async def test_the_cache_and_its_journal_are_readable_by_their_owner_only(scripted_server, tmp_path) -> None:
    import os
    import stat

    server = _server(scripted_server)
    folder = tmp_path / "new" / "cache"
    entry = ModelEntry(name="default", model="gpt-4o", base_url=server.url)
    client = LLMClient([entry], LLMSettings(cache_seed=41, cache_dir=str(folder)))
    await client.complete(ASK, agent="calc")
    files = sorted(p for p in folder.iterdir())
    assert (folder / CACHE_FILE) in files
    for path in files:  # the database, its WAL and shared memory: whole replies are in them
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, (path.name, oct(path.stat().st_mode))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    await client.aclose()

    old = tmp_path / "old"  # a cache made before: made private when next opened
    old.mkdir()
    (old / CACHE_FILE).touch(mode=0o644)
    os.chmod(old / CACHE_FILE, 0o644)
    again = LLMClient([entry], LLMSettings(cache_seed=41, cache_dir=str(old)))
    await again.complete(ASK, agent="calc")
    await again.aclose()
    assert stat.S_IMODE((old / CACHE_FILE).stat().st_mode) == 0o600
