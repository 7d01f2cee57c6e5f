"""LLMClient against the scripted OpenAI-compatible server: replies, streaming, tools, usage, env."""

from __future__ import annotations

import json

import pytest

from tuiagents.llm import Completion, LLMClient, LLMSettings, ModelEntry
from tuiagents.llm.pricing import builtin_price, cost_usd
from tuiagents.testing import Reply, Rule, Usage
from tuiagents.testing.fixtures import scripted_server  # noqa: F401 - pytest fixture

PRICE = (2.0, 8.0)  # USD per 1M prompt / completion tokens


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_CUSTOM_HEADERS"):
        monkeypatch.delenv(name, raising=False)


def _client(server, tmp_path, **settings) -> LLMClient:
    entry = ModelEntry(name="default", model="test-model", base_url=server.url, price=PRICE)
    return LLMClient([entry], LLMSettings(cache_seed=False, cache_dir=str(tmp_path), **settings))


def _ask(text: str) -> list[dict]:
    return [{"role": "system", "content": "You are terse."}, {"role": "user", "content": text}]


async def test_non_stream_completion(scripted_server, tmp_path) -> None:
    server = scripted_server([Rule(agent="writer", reply="A short answer.")])
    client = _client(server, tmp_path)
    got: list[str] = []
    result = await client.complete(_ask("hello"), agent="writer", stream=False, on_delta=got.append)
    await client.aclose()
    assert isinstance(result, Completion)
    assert result.content == "A short answer."
    assert result.entry == "default" and result.model == "test-model"
    assert result.finish_reason == "stop" and not result.cached and result.tool_calls == []
    assert got == ["A short answer."]  # non-streamed text still reaches the UI, once
    body = server.chat_requests[0].body
    assert body["user"] == "writer" and body["model"] == "test-model"
    assert "stream" not in body


async def test_stream_deltas_arrive_in_pieces(scripted_server, tmp_path) -> None:
    server = scripted_server([Rule(agent="writer", reply="one two three four five")])
    client = _client(server, tmp_path)
    pieces: list[str] = []

    async def on_delta(text: str) -> None:
        pieces.append(text)

    result = await client.complete(_ask("count"), agent="writer", on_delta=on_delta)
    await client.aclose()
    assert len(pieces) == 5 and "".join(pieces) == "one two three four five"
    assert result.content == "one two three four five"
    body = server.chat_requests[0].body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("stream", [True, False])
async def test_tool_calls_assembled(scripted_server, tmp_path, stream: bool) -> None:
    args = {"code": "print('a fairly long argument so it is split into fragments')", "n": 3}
    server = scripted_server(
        [Rule(agent="coder", reply=Reply(content=None, tool_calls=[
            {"name": "run_python", "arguments": args, "id": "call_a"},
            {"name": "lookup", "arguments": {"q": "x"}},
        ]))]
    )
    client = _client(server, tmp_path)
    tools = [{"type": "function", "function": {"name": "run_python", "parameters": {"type": "object"}}}]
    result = await client.complete(_ask("run it"), agent="coder", tools=tools, stream=stream)
    await client.aclose()
    assert result.finish_reason == "tool_calls"
    assert [c.name for c in result.tool_calls] == ["run_python", "lookup"]
    assert result.tool_calls[0].id == "call_a" and result.tool_calls[1].id
    assert json.loads(result.tool_calls[0].arguments) == args
    assert json.loads(result.tool_calls[1].arguments) == {"q": "x"}
    assert server.chat_requests[0].body["tools"] == tools


async def test_usage_and_cost_per_agent_and_run(scripted_server, tmp_path) -> None:
    server = scripted_server([
        Rule(agent="a", reply=Reply(content="alpha", usage=Usage(prompt_tokens=100, completion_tokens=10))),
        Rule(agent="b", reply=Reply(content="beta", usage=Usage(prompt_tokens=1000, completion_tokens=200))),
    ])
    client = _client(server, tmp_path)
    results = [
        await client.complete(_ask("1"), agent="a"),
        await client.complete(_ask("2"), agent="a", stream=False),
        await client.complete(_ask("3"), agent="b"),
    ]
    await client.aclose()
    assert [(r.prompt_tokens, r.completion_tokens) for r in results] == [(100, 10), (100, 10), (1000, 200)]
    assert results[0].cost == pytest.approx((100 * 2.0 + 10 * 8.0) / 1e6)
    per_agent = client.usage.by_agent()
    assert per_agent["a"].calls == 2 and per_agent["a"].prompt_tokens == 200
    assert per_agent["a"].cost == pytest.approx(2 * cost_usd(100, 10, PRICE))
    assert per_agent["b"].cost == pytest.approx(cost_usd(1000, 200, PRICE))
    totals = client.usage.totals()
    assert (totals.calls, totals.prompt_tokens, totals.completion_tokens) == (3, 1200, 220)
    assert totals.cost == pytest.approx(sum(r.cost for r in results))
    assert totals.cached_calls == 0 and totals.retries == 0
    assert client.usage.by_model()["test-model"].calls == 3


async def test_builtin_price_used_without_entry_price(scripted_server, tmp_path) -> None:
    million = Usage(prompt_tokens=1_000_000, completion_tokens=0)
    server = scripted_server([Rule(reply=Reply(content="x", usage=million))])
    entry = ModelEntry(name="mini", model="gpt-4o-mini", base_url=server.url)
    client = LLMClient([entry], LLMSettings(cache_seed=False))
    result = await client.complete(_ask("hi"), agent="x")
    await client.aclose()
    assert result.cost == pytest.approx(builtin_price("gpt-4o-mini")[0])
    unknown = ModelEntry(name="local", model="llama-3-8b", base_url=server.url)
    client = LLMClient([unknown], LLMSettings(cache_seed=False))
    result = await client.complete(_ask("hi"), agent="x")
    await client.aclose()
    assert result.cost == 0 and client.usage.totals().unpriced_calls == 1


def test_builtin_price_prefixes() -> None:
    assert builtin_price("gpt-4o-mini-2024-07-18") == builtin_price("gpt-4o-mini")
    assert builtin_price("gpt-4o-2024-08-06") == builtin_price("gpt-4o")
    assert builtin_price("gpt-4o") != builtin_price("gpt-4o-mini")
    assert builtin_price("gpt-4.1-nano") != builtin_price("gpt-4.1")
    assert builtin_price("my-model") is None


async def test_entry_without_base_url_follows_openai_env(scripted_server, tmp_path, monkeypatch) -> None:
    server = scripted_server([Rule(agent="envy", reply="from the env server")])
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    client = LLMClient([ModelEntry(name="env", model="m")], LLMSettings(cache_seed=False))
    result = await client.complete(_ask("hi"), agent="envy")
    await client.aclose()
    assert result.content == "from the env server"
    # no key anywhere and a local base URL: the dummy key is sent
    assert server.chat_requests[0].headers.get("authorization") == "Bearer not-needed"


async def test_env_key_and_extra_settings_are_sent(scripted_server, tmp_path, monkeypatch) -> None:
    server = scripted_server([Rule(reply="ok")])
    monkeypatch.setenv("MY_KEY", "key-from-env-123")
    entry = ModelEntry(
        name="e", model="m", base_url=server.url, api_key_env="MY_KEY", temperature=0.2, max_tokens=50,
        extra_headers={"X-Team": "blue"}, extra_body={"seed": 7},
    )
    client = LLMClient([entry], LLMSettings(cache_seed=False))
    await client.complete(_ask("hi"), agent="a", response_format={"type": "json_object"})
    await client.aclose()
    request = server.chat_requests[0]
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["authorization"] == "Bearer key-from-env-123" and headers["x-team"] == "blue"
    assert request.body["temperature"] == 0.2 and request.body["max_tokens"] == 50
    assert request.body["seed"] == 7 and request.body["response_format"] == {"type": "json_object"}


async def test_pydantic_response_format(scripted_server, tmp_path) -> None:
    from pydantic import BaseModel

    class Verdict(BaseModel):
        ok: bool

    server = scripted_server([Rule(reply='{"ok": true}')])
    client = _client(server, tmp_path)
    result = await client.complete(_ask("judge"), agent="j", response_format=Verdict)
    await client.aclose()
    assert Verdict.model_validate_json(result.content).ok
    fmt = server.chat_requests[0].body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "Verdict"


async def test_start_entry_and_unknown_entry(scripted_server, tmp_path) -> None:
    from tuiagents.llm import LLMError

    server = scripted_server([Rule(model="second-model", reply="second"), Rule(reply="first")])
    entries = [
        ModelEntry(name="one", model="first-model", base_url=server.url),
        ModelEntry(name="two", model="second-model", base_url=server.url),
    ]
    client = LLMClient(entries, LLMSettings(cache_seed=False))
    assert (await client.complete(_ask("x"), agent="a")).content == "first"
    assert (await client.complete(_ask("x"), agent="a", entry="two")).content == "second"
    with pytest.raises(LLMError, match="unknown model entry 'three'"):
        await client.complete(_ask("x"), entry="three")
    await client.aclose()


def test_bad_entry_lists_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        LLMClient([])
    with pytest.raises(ValueError, match="unknown entries"):
        LLMClient([ModelEntry(name="a", model="m", fallback=["nope"])])
    with pytest.raises(ValueError, match="unique"):
        LLMClient([ModelEntry(name="a", model="m"), ModelEntry(name="a", model="n")])



async def test_azure_entry_uses_deployment_route_and_api_key_header(scripted_server, monkeypatch) -> None:
    from tuiagents.llm import LLMError

    server = scripted_server([Rule(reply="unused")])
    monkeypatch.setenv("AZURE_TEST_KEY", "azure-key-123456")
    entry = ModelEntry(name="az", model="my-deployment", base_url=server.url.rsplit("/v1", 1)[0],
                       api_type="azure", api_version="2024-06-01", api_key_env="AZURE_TEST_KEY")
    client = LLMClient([entry], LLMSettings(cache_seed=False))
    with pytest.raises(LLMError, match="HTTP 404"):  # the scripted server has no Azure routes
        await client.complete(_ask("hi"), agent="a")
    await client.aclose()
    request = server.requests[0]
    assert request.path == "/openai/deployments/my-deployment/chat/completions"
    assert {k.lower(): v for k, v in request.headers.items()}["api-key"] == "azure-key-123456"
