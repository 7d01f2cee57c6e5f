"""The hand-written server-sent-event reader: whatever way a server frames and splits a stream
(CRLF, CR, comments, keep-alives, multi-line data, reads cut anywhere), the reply is the one the
SDK's own decoder would give; broken streams raise the errors retries and fallback expect.

The response objects are real responses of the HTTP library under the installed ``openai``
client, fed with bytes; the end-to-end path (scripted server, real client) is in
``test_llm_client.py`` and ``test_llm_faults.py``, and here for a byte-order mark and long
keep-alive comments before the first event.
"""

from __future__ import annotations

import json

import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuiagents.llm import LLMClient, LLMSettings, ModelEntry
from tuiagents.llm.retry import StreamBroken
from tuiagents.llm.sse import raw_response_type, read_sse
from tuiagents.llm.streaming import StreamProgress
from tuiagents.testing import Fault, Rule
from tuiagents.testing.fixtures import scripted_server  # noqa: F401 - pytest fixture
from tuiagents.testing.script import Reply
from tuiagents.testing.wire import stream_chunks

BODY = {"model": "m", "messages": [{"role": "user", "content": "hi there"}],
        "stream": True, "stream_options": {"include_usage": True}}


def _response(pieces: list[bytes]):
    response_cls = raw_response_type(openai.AsyncOpenAI(base_url="http://127.0.0.1:9/v1", api_key="x"))
    module = __import__(response_cls.__module__.split(".")[0])

    async def body():
        for piece in pieces:
            yield piece

    return response_cls(200, content=body(), request=module.Request("POST", "http://127.0.0.1:9/v1/chat/completions"))


def _sse(payloads: list[str], end: str = "\n", comments: bool = False) -> bytes:
    out = []
    for i, data in enumerate(payloads):
        if comments:
            out.append(f": keep-alive {i}{end}")
            out.append(f"event: chunk{end}id: {i}{end}")
        out.extend(f"data: {line}{end}" for line in data.split("\n"))  # several data lines: joined by \n
        out.append(end)
    return "".join(out).encode()


async def _read(pieces: list[bytes]):
    shown: list[str] = []
    progress = StreamProgress()
    reply = await read_sse(_response(pieces), "fallback-model", shown.append, progress)
    return reply, shown, progress


def _cut(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)]) if b > a]


replies = st.builds(
    lambda text, calls: Reply(content=text, tool_calls=calls),
    st.one_of(st.none(), st.text(min_size=1, max_size=60)),
    st.lists(st.builds(lambda n, a: {"name": n, "arguments": {"q": a}},
                       st.from_regex(r"[a-z_]{1,12}", fullmatch=True), st.text(max_size=30)), max_size=2),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reply=replies, end=st.sampled_from(["\n", "\r\n", "\r"]), comments=st.booleans(), lines=st.booleans(),
       cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=12))
async def test_any_framing_and_any_split_give_the_same_reply(reply: Reply, end: str, comments: bool, lines: bool,
                                                             cuts: list[int]) -> None:
    chunks = list(stream_chunks(BODY, reply, "chatcmpl-x-7"))
    separators = (",\n", ":\n") if lines else (", ", ": ")  # newlines only between JSON tokens
    data = _sse([json.dumps(c, separators=separators) for c in chunks] + ["[DONE]"], end, comments)
    got, shown, progress = await _read(_cut(data, cuts))
    content = reply.content or ""
    assert got.content == content and "".join(shown) == content == progress.text
    assert [(c.name, json.loads(c.arguments)) for c in got.tool_calls] == [
        (c.name, json.loads(c.arguments_json())) for c in reply.tool_calls]
    assert got.finish_reason == ("tool_calls" if reply.tool_calls else "stop")
    assert got.model == "m" and got.prompt_tokens == 2


async def test_multi_line_data_is_joined_and_done_may_be_missing() -> None:
    finish = {"model": "llama", "choices": [{"index": 0, "delta": {"content": "b"}, "finish_reason": "stop"}]}
    data = (b'data: {"choices": [{"index": 0,\ndata:  "delta": {"content": "a"}}]}\n\n'
            + b"data:" + json.dumps(finish).encode() + b"\n\n")
    got, shown, _ = await _read([data])
    assert (got.content, shown, got.model, got.finish_reason) == ("ab", ["a", "b"], "llama", "stop")
    assert (got.prompt_tokens, got.completion_tokens) == (0, 0)  # none reported: estimated later


async def test_an_error_event_is_the_sdks_api_error() -> None:
    data = _sse([json.dumps({"choices": [{"index": 0, "delta": {"content": "so"}}]}),
                 json.dumps({"error": {"message": "overloaded", "type": "server_error"}})])
    with pytest.raises(openai.APIError, match="overloaded") as info:
        await _read([data])
    assert not isinstance(info.value, openai.APIStatusError)


@pytest.mark.parametrize(("payloads", "match"), [
    (["{not json"], "not JSON"),
    (["[1, 2]"], "not an object"),
    (['{"choices": [{"index": 0, "delta": {"content": 5}}]}'], "TypeError"),
    (['{"choices": "nope"}'], "AttributeError"),
    (['{"choices": [{"index": 0, "delta": {"content": "cut"}}]}'], "without finishing"),
    (['{"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": 3}}]}}]}'],
     "TypeError"),
])
async def test_malformed_streams_are_broken_streams(payloads: list[str], match: str) -> None:
    with pytest.raises(StreamBroken, match=match):
        await _read([_sse(payloads)])


async def test_only_the_first_choice_and_text_after_done_is_ignored() -> None:
    other = {"choices": [{"index": 1, "delta": {"content": "other"}, "finish_reason": "stop"}]}
    mine = {"choices": [{"index": 0, "delta": {"content": "mine"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1}}
    late = {"choices": [{"index": 0, "delta": {"content": "late"}}]}
    got, shown, _ = await _read([_sse([json.dumps(other), json.dumps(mine), "[DONE]", json.dumps(late)])])
    assert (got.content, shown, got.prompt_tokens, got.completion_tokens) == ("mine", ["mine"], 3, 1)


async def test_an_endless_event_is_refused_not_buffered() -> None:
    start = b'data: {"choices": [{"index": 0, "delta": {"content": "'
    with pytest.raises(StreamBroken, match="MiB"):
        await _read([start] + [b"x" * 65536] * 200)  # 12.5 MiB without a line end


# -- what the SSE standard says and the SDK's decoder does not: a byte-order mark, comments ------

BOM = "\ufeff".encode()


def _role_and_first_word(content: str, completion_id: str) -> list[dict]:
    """The chunks of `content` as servers that send the role with the first word frame them."""
    chunks = list(stream_chunks(BODY, Reply(content=content), completion_id))
    chunks[0]["choices"][0]["delta"]["content"] = chunks[1]["choices"][0]["delta"]["content"]
    return [chunks[0], *chunks[2:]]


@pytest.mark.parametrize("split", [0, 1, 2, 3, 5])
async def test_a_byte_order_mark_at_the_start_is_dropped_wherever_the_reads_cut(split: int) -> None:
    chunks = _role_and_first_word("first words matter", "chatcmpl-x-1")
    data = BOM + _sse([json.dumps(c) for c in chunks] + ["[DONE]"])
    got, shown, _ = await _read([data[:split], data[split:]] if split else [data])
    assert got.content == "first words matter" and "".join(shown) == got.content


async def test_a_byte_order_mark_is_only_dropped_at_the_very_start() -> None:
    # a BOM in the text itself, first in the stream after the stream's own BOM, is text
    chunks = _role_and_first_word("\ufeffkept as sent", "chatcmpl-x-2")
    data = BOM + _sse([json.dumps(c, ensure_ascii=False) for c in chunks] + ["[DONE]"])
    got, _, _ = await _read([data])
    assert got.content == "\ufeffkept as sent"


async def test_comment_lines_do_not_count_toward_the_event_cap() -> None:
    chunks = list(stream_chunks(BODY, Reply(content="after a long wait"), "chatcmpl-x-3"))
    keep_alive = b": " + b"p" * 65536 + b"\n"  # a padded keep-alive, as some proxies send
    events = _sse([json.dumps(c) for c in chunks] + ["[DONE]"])
    first, rest = events.split(b"\n\n", 1)
    pieces = [keep_alive] * 80 + [first + b"\n", keep_alive * 80, b"\n" + rest]  # ~5 MiB before, ~5 MiB inside an event
    got, _, _ = await _read(pieces)
    assert got.content == "after a long wait"


async def test_an_endless_comment_line_is_still_refused() -> None:
    with pytest.raises(StreamBroken, match="MiB"):
        await _read([b": "] + [b"x" * 65536] * 200)


async def test_a_byte_order_mark_through_the_real_client(scripted_server) -> None:
    # the first event carries the first word (as many servers send it), behind the mark
    first = _role_and_first_word("Hello ", "chatcmpl-x-4")[0]
    server = scripted_server([Rule(reply="there, every word arrives")])
    server.inject(Fault.stream_prefix("\ufeff" + _sse([json.dumps(first)]).decode()))
    shown: list[str] = []
    client = LLMClient([ModelEntry(name="default", model="m", base_url=server.url)],
                       LLMSettings(cache_seed=False, stream=True))
    try:
        result = await client.complete([{"role": "user", "content": "go"}], on_delta=shown.append)
    finally:
        await client.aclose()
    assert result.content == "Hello there, every word arrives" == "".join(shown)
    assert server.chat_requests[0].fault == "stream_prefix" and len(server.chat_requests) == 1


async def test_keep_alive_comments_through_the_real_client(scripted_server) -> None:
    server = scripted_server([Rule(reply="still here")])
    server.inject(Fault.stream_prefix((": keep-alive " + "." * 4000 + "\r\n") * 2600))  # ~10 MiB of comments
    client = LLMClient([ModelEntry(name="default", model="m", base_url=server.url, max_retries=0)],
                       LLMSettings(cache_seed=False, stream=True))
    try:
        result = await client.complete([{"role": "user", "content": "go"}])
    finally:
        await client.aclose()
    assert result.content == "still here" and len(server.chat_requests) == 1
