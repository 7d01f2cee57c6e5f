"""Retries, fallback and error reporting of LLMClient, driven by the scripted server's faults."""

from __future__ import annotations

import pytest

from tuiagents.llm import DraftDiscard, LLMClient, LLMError, LLMSettings, ModelEntry, StreamInterrupted
from tuiagents.testing import Fault, Rule
from tuiagents.testing.fixtures import scripted_server  # noqa: F401 - pytest fixture

FAST = dict(cache_seed=False, retry_base_delay=0.01, retry_max_delay=0.02, retry_after_cap=1.0)
ASK = [{"role": "user", "content": "go"}]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_CUSTOM_HEADERS"):
        monkeypatch.delenv(name, raising=False)


class Notes(list):
    """Collects notify(level, text) calls."""

    async def __call__(self, level: str, text: str) -> None:
        self.append((level, text))

    def texts(self) -> str:
        return "\n".join(t for _, t in self)


def _pair(primary_url: str, backup_url: str, **primary) -> list[ModelEntry]:
    return [
        ModelEntry(name="default", model="main-model", base_url=primary_url, **primary),
        ModelEntry(name="backup", model="backup-model", base_url=backup_url),
    ]


async def test_429_retry_after_then_success(scripted_server) -> None:
    server = scripted_server([Rule(agent="a", reply="finally")], )
    server.inject(Fault.rate_limit(retry_after=0.05, times=2))
    notes = Notes()
    client = LLMClient([ModelEntry(name="default", model="m", base_url=server.url)], LLMSettings(**FAST), notes)
    result = await client.complete(ASK, agent="a")
    await client.aclose()
    assert result.content == "finally" and result.entry == "default"
    assert len(server.chat_requests) == 3
    assert client.usage.totals().retries == 2 and client.usage.by_agent()["a"].retries == 2
    assert len(notes) == 2 and all(level == "warning" for level, _ in notes)
    # Retry-After (0.05 s) is honoured rather than the 0.01 s backoff
    assert notes[0][1] == "429 rate limit from default, retrying in 0.1 s (attempt 2/4)"
    assert "attempt 3/4" in notes[1][1]


async def test_retry_after_is_capped(scripted_server) -> None:
    server = scripted_server([Rule(reply="ok")])
    server.inject(Fault.rate_limit(retry_after=3600))
    notes = Notes()
    settings = LLMSettings(**{**FAST, "retry_after_cap": 0.05})
    client = LLMClient([ModelEntry(name="default", model="m", base_url=server.url)], settings, notes)
    assert (await client.complete(ASK)).content == "ok"
    await client.aclose()
    assert "retrying in 0.1 s" in notes[0][1]  # 0.05 s, not an hour


async def test_long_retry_after_falls_back_at_once(scripted_server) -> None:
    primary = scripted_server([Rule(fault=Fault.rate_limit(retry_after=3600))])
    backup = scripted_server([Rule(reply="no waiting")])
    notes = Notes()
    client = LLMClient(_pair(primary.url, backup.url), LLMSettings(**FAST), notes)
    result = await client.complete(ASK)
    await client.aclose()
    assert result.entry == "backup" and len(primary.chat_requests) == 1
    assert notes == [("warning", "falling back from default to backup: 429 rate limit (asked to wait 3600 s)")]


async def test_500_falls_back_to_second_entry(scripted_server) -> None:
    primary = scripted_server([Rule(fault=Fault.server_error())])
    backup = scripted_server([Rule(agent="a", reply="from backup")])
    notes = Notes()
    client = LLMClient(_pair(primary.url, backup.url, max_retries=1), LLMSettings(**FAST), notes)
    result = await client.complete(ASK, agent="a")
    await client.aclose()
    assert result.content == "from backup" and result.entry == "backup" and result.model == "backup-model"
    assert len(primary.chat_requests) == 2 and len(backup.chat_requests) == 1
    assert "HTTP 500 from default, retrying" in notes.texts()
    assert notes[-1] == ("warning", "falling back from default to backup: HTTP 500")
    totals = client.usage.totals()
    assert totals.fallbacks == 1 and totals.retries == 1 and totals.calls == 1
    assert client.usage.by_model()["main-model"].fallbacks == 1


async def test_explicit_fallback_list_order(scripted_server) -> None:
    down = scripted_server([Rule(fault=Fault.server_error())])
    up = scripted_server([Rule(reply="third answers")])
    entries = [
        ModelEntry(name="first", model="m1", base_url=down.url, max_retries=0, fallback=["third"]),
        ModelEntry(name="second", model="m2", base_url=down.url),
        ModelEntry(name="third", model="m3", base_url=up.url),
    ]
    client = LLMClient(entries, LLMSettings(**FAST))
    assert [e.name for e in client.chain()] == ["first", "third"]
    assert [e.name for e in client.chain("second")] == ["second", "first", "third"]
    result = await client.complete(ASK)
    await client.aclose()
    assert result.entry == "third" and len(down.chat_requests) == 1


async def test_400_is_final_without_fallback(scripted_server) -> None:
    primary = scripted_server([Rule(fault=Fault.bad_request("messages[0].role is invalid"))])
    backup = scripted_server([Rule(reply="never")])
    notes = Notes()
    client = LLMClient(_pair(primary.url, backup.url), LLMSettings(**FAST), notes)
    with pytest.raises(LLMError) as info:
        await client.complete(ASK, agent="a")
    await client.aclose()
    err = info.value
    assert "messages[0].role is invalid" in str(err) and "HTTP 400" in str(err)
    assert "default (main-model @ 127.0.0.1" in str(err)
    assert err.status == 400 and not err.retryable
    assert len(primary.chat_requests) == 1 and backup.chat_requests == [] and notes == []


async def test_timeout_falls_back(scripted_server) -> None:
    slow = scripted_server([Rule(fault=Fault.slow(delay=2.0))])
    backup = scripted_server([Rule(reply="quick")])
    notes = Notes()
    client = LLMClient(_pair(slow.url, backup.url, timeout=0.2, max_retries=0), LLMSettings(**FAST), notes)
    result = await client.complete(ASK, agent="a")
    await client.aclose()
    assert result.content == "quick" and result.entry == "backup"
    assert notes.texts() == "falling back from default to backup: timeout"


async def test_stream_that_stalls_times_out(scripted_server) -> None:
    server = scripted_server([Rule(reply="one two three four")])
    server.inject(Fault.slow(chunk_delay=1.0))
    notes = Notes()
    client = LLMClient([ModelEntry(name="default", model="m", base_url=server.url, timeout=0.2)],
                       LLMSettings(**FAST), notes)
    result = await client.complete(ASK)  # no on_delta: nothing shown yet, so a retry is invisible
    await client.aclose()
    assert result.content == "one two three four"
    assert "timeout from default, retrying" in notes.texts()


@pytest.mark.parametrize("stream", [True, False])
async def test_dropped_connection_is_retried(scripted_server, stream: bool) -> None:
    server = scripted_server([Rule(reply="after the drop")])
    server.inject(Fault.drop())
    notes = Notes()
    client = LLMClient([ModelEntry(name="default", model="m", base_url=server.url)], LLMSettings(**FAST), notes)
    result = await client.complete(ASK, stream=stream)
    await client.aclose()
    assert result.content == "after the drop" and len(server.chat_requests) == 2
    assert "connection error from default, retrying" in notes.texts()


async def test_connection_refused_falls_back(scripted_server) -> None:
    backup = scripted_server([Rule(reply="still here")])
    gone = scripted_server()
    dead_url = gone.url
    gone.stop()
    client = LLMClient(_pair(dead_url, backup.url, max_retries=1), LLMSettings(**FAST))
    assert (await client.complete(ASK)).entry == "backup"
    await client.aclose()


@pytest.mark.parametrize(
    ("fault", "stream", "short"),
    [
        (Fault.malformed_chunk(after_chunks=0), True, "stream broke"),
        (Fault.malformed_chunk(), False, "malformed response"),
        (Fault.stream_error(after_chunks=1), True, "stream broke"),
        (Fault.drop_mid_stream(after_chunks=1), True, "connection error"),
        (Fault.drop_mid_stream(), False, "connection error"),
    ],
)
async def test_broken_replies_are_retried(scripted_server, fault: Fault, stream: bool, short: str) -> None:
    server = scripted_server([Rule(reply="clean reply")])
    server.inject(fault)
    notes = Notes()
    client = LLMClient([ModelEntry(name="default", model="m", base_url=server.url)], LLMSettings(**FAST), notes)
    result = await client.complete(ASK, stream=stream)
    await client.aclose()
    assert result.content == "clean reply" and len(server.chat_requests) == 2
    assert notes[0][1].startswith(f"{short} from default, retrying")


async def test_stream_broken_midway_without_on_delta_is_retried(scripted_server) -> None:
    server = scripted_server([Rule(reply="alpha beta gamma delta epsilon")])
    server.inject(Fault.drop_mid_stream(after_chunks=3))
    client = LLMClient([ModelEntry(name="default", model="m", base_url=server.url)], LLMSettings(**FAST))
    result = await client.complete(ASK, stream=True)  # nothing shown, so nothing to take back
    await client.aclose()
    assert result.content == "alpha beta gamma delta epsilon" and len(server.chat_requests) == 2


async def test_stream_broken_after_deltas_reports_partial(scripted_server) -> None:
    server = scripted_server([Rule(reply="alpha beta gamma delta epsilon")])
    server.inject(Fault.drop_mid_stream(after_chunks=3))
    shown: list[str] = []
    client = LLMClient([ModelEntry(name="default", model="m", base_url=server.url)], LLMSettings(**FAST))
    with pytest.raises(StreamInterrupted) as info:
        await client.complete(ASK, agent="a", on_delta=shown.append)
    await client.aclose()
    assert info.value.partial == "".join(shown) == "alpha beta "
    assert "broke off after 11 characters" in str(info.value)
    assert len(server.chat_requests) == 1  # not retried: the start would be shown twice


async def test_all_entries_failing_explains_what_was_tried(scripted_server) -> None:
    primary = scripted_server([Rule(fault=Fault.rate_limit(retry_after=0))])
    backup = scripted_server([Rule(fault=Fault.server_error())])
    client = LLMClient(_pair(primary.url, backup.url, max_retries=2), LLMSettings(**FAST))
    with pytest.raises(LLMError) as info:
        await client.complete(ASK, agent="planner")
    await client.aclose()
    text = str(info.value)
    assert "No model endpoint answered for agent 'planner'" in text
    assert "default (main-model @ 127.0.0.1" in text and "429 rate limit x3" in text
    assert "backup (backup-model @ 127.0.0.1" in text and "HTTP 500 x4" in text
    assert "What to do:" in text and info.value.retryable
    assert len(info.value.attempts) == 7


async def test_api_key_never_in_errors_or_notices(scripted_server, monkeypatch) -> None:
    secret = "sk-test-SECRET-0123456789abcdef"
    monkeypatch.setenv("TEAM_KEY", secret)
    server = scripted_server([Rule(fault=Fault.http_error(401, message=f"Incorrect API key provided: {secret}."))])
    flaky = scripted_server([Rule(fault=Fault.server_error(message=f"upstream rejected {secret}"))])
    notes = Notes()
    entries = [
        ModelEntry(name="flaky", model="m", base_url=flaky.url, api_key_env="TEAM_KEY", max_retries=1),
        ModelEntry(name="auth", model="m", base_url=server.url, api_key_env="TEAM_KEY"),
    ]
    client = LLMClient(entries, LLMSettings(**FAST), notes)
    with pytest.raises(LLMError) as info:
        await client.complete(ASK, agent="a")
    await client.aclose()
    assert server.chat_requests[0].headers.get("authorization") == f"Bearer {secret}"  # it was used
    everything = [str(info.value), repr(info.value), notes.texts(), repr(client), repr(entries[0])]
    everything += [a.failure.message for a in info.value.attempts]
    assert all(secret not in text for text in everything)
    assert "Incorrect API key provided" in str(info.value) and "check the API key" in str(info.value)


async def test_missing_key_env_is_a_clear_config_error(scripted_server) -> None:
    server = scripted_server([Rule(reply="unused")])
    entry = ModelEntry(name="cloud", model="m", base_url=server.url, api_key_env="TUIAGENTS_TEST_UNSET_KEY")
    client = LLMClient([entry], LLMSettings(**FAST))
    with pytest.raises(LLMError, match="TUIAGENTS_TEST_UNSET_KEY is not set"):
        await client.complete(ASK)
    assert server.chat_requests == []


async def test_no_key_for_openai_itself_is_a_clear_config_error() -> None:
    client = LLMClient([ModelEntry(name="cloud", model="gpt-4o")], LLMSettings(**FAST))
    with pytest.raises(LLMError, match="no API key: export OPENAI_API_KEY"):
        await client.complete(ASK)


async def test_notify_may_be_sync_and_may_fail(scripted_server) -> None:
    server = scripted_server([Rule(reply="fine")])
    server.inject(Fault.server_error())
    seen: list[str] = []

    def notify(level: str, text: str) -> None:
        seen.append(text)
        raise RuntimeError("listener bug")

    client = LLMClient([ModelEntry(name="d", model="m", base_url=server.url)], LLMSettings(**FAST), notify)
    assert (await client.complete(ASK)).content == "fine"
    await client.aclose()
    assert len(seen) == 1


async def test_server_refusing_stream_options_is_asked_again_without(scripted_server) -> None:
    server = scripted_server([
        Rule(times=1, fault=Fault.bad_request("Unrecognized request argument supplied: stream_options")),
        Rule(reply="streamed anyway"),
    ])
    entry = ModelEntry(name="old", model="m", base_url=server.url, max_retries=0)
    client = LLMClient([entry], LLMSettings(**FAST))
    first = await client.complete(ASK, stream=True)
    second = await client.complete(ASK + [{"role": "user", "content": "again"}], stream=True)
    await client.aclose()
    assert first.content == second.content == "streamed anyway"
    bodies = [r.body for r in server.chat_requests]
    assert "stream_options" in bodies[0]
    assert all("stream_options" not in b and b["stream"] is True for b in bodies[1:])
    assert client.usage.totals().retries == 0


BROKEN_MIDWAY = [
    pytest.param(Fault.drop_mid_stream(after_chunks=3), "connection error", id="dropped"),
    pytest.param(Fault.malformed_chunk(after_chunks=3), "stream broke", id="malformed-chunk"),
    pytest.param(Fault.stream_error(after_chunks=3), "stream broke", id="error-event"),
]


@pytest.mark.parametrize(("fault", "short"), BROKEN_MIDWAY)
async def test_stream_broken_after_deltas_is_discarded_and_retried(scripted_server, fault: Fault, short: str) -> None:
    server = scripted_server([Rule(reply="alpha beta gamma delta epsilon")])
    server.inject(fault)
    shown: list[str] = []
    discards: list[DraftDiscard] = []
    notes = Notes()
    client = LLMClient([ModelEntry(name="default", model="m", base_url=server.url)], LLMSettings(**FAST), notes)
    result = await client.complete(ASK, agent="a", on_delta=shown.append, on_discard=discards.append)
    await client.aclose()
    assert result.content == "alpha beta gamma delta epsilon" and len(server.chat_requests) == 2
    # what was shown before the break is taken back once, then the reply is shown from its start
    assert [(d.entry, d.text) for d in discards] == [("default", "alpha beta ")]
    assert discards[0].reason.startswith(short)
    assert "".join(shown) == "alpha beta " + result.content
    assert notes[0][1].startswith(f"{short} from default, retrying")
    assert client.usage.totals().retries == 1


async def test_stream_that_keeps_breaking_moves_to_the_fallback(scripted_server) -> None:
    primary = scripted_server([Rule(reply="alpha beta gamma delta", fault=Fault.drop_mid_stream(after_chunks=2))])
    backup = scripted_server([Rule(reply="the backup answers")])
    shown: list[str] = []
    discards: list[DraftDiscard] = []
    notes = Notes()
    client = LLMClient(_pair(primary.url, backup.url, max_retries=1), LLMSettings(**FAST), notes)
    result = await client.complete(ASK, agent="a", on_delta=shown.append, on_discard=discards.append)
    await client.aclose()
    assert result.content == "the backup answers" and result.entry == "backup"
    assert len(primary.chat_requests) == 2 and len(backup.chat_requests) == 1
    assert [(d.entry, d.text) for d in discards] == [("default", "alpha "), ("default", "alpha ")]
    assert "".join(shown) == "alpha alpha the backup answers"
    assert notes[-1] == ("warning", "falling back from default to backup: connection error")


async def test_last_broken_stream_is_discarded_before_the_error(scripted_server) -> None:
    server = scripted_server([Rule(reply="alpha beta gamma", fault=Fault.stream_error(after_chunks=2))])
    discards: list[DraftDiscard] = []
    entry = ModelEntry(name="only", model="m", base_url=server.url, max_retries=1)
    client = LLMClient([entry], LLMSettings(**FAST))
    with pytest.raises(LLMError) as info:
        await client.complete(ASK, on_delta=lambda text: None, on_discard=discards.append)
    await client.aclose()
    assert not isinstance(info.value, StreamInterrupted) and info.value.retryable
    assert len(discards) == 2 and "stream broke x2" in str(info.value)


async def test_timeout_limits_the_whole_request_not_each_read(scripted_server) -> None:
    words = " ".join(f"w{i}" for i in range(30))
    drip = scripted_server([Rule(reply=words, fault=Fault.slow(chunk_delay=0.05))])  # ~1.5 s in all
    backup = scripted_server([Rule(reply="quick")])
    notes = Notes()
    discards: list[DraftDiscard] = []
    client = LLMClient(_pair(drip.url, backup.url, timeout=0.5, max_retries=0), LLMSettings(**FAST), notes)
    result = await client.complete(ASK, agent="a", on_delta=lambda text: None, on_discard=discards.append)
    await client.aclose()
    assert result.content == "quick" and result.entry == "backup"
    assert notes.texts() == "falling back from default to backup: timeout"
    assert len(discards) == 1 and discards[0].reason.startswith("timeout")
    assert "0.5 s" in discards[0].reason


async def test_timeout_limits_a_non_streamed_request(scripted_server) -> None:
    drip = scripted_server([Rule(reply="late", fault=Fault.slow(chunk_delay=0.1))])  # ten pieces, ~0.9 s
    client = LLMClient([ModelEntry(name="d", model="m", base_url=drip.url, timeout=0.3, max_retries=0)],
                       LLMSettings(**FAST))
    with pytest.raises(LLMError, match="no complete reply within the 0.3 s timeout"):
        await client.complete(ASK, stream=False)
    await client.aclose()
