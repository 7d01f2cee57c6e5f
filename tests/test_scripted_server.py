"""The scripted OpenAI-compatible server, exercised through the real openai clients."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading

import openai
import pydantic
import pytest

from tuiagents.testing import NO_MATCH_TEXT, Fault, Reply, Rule, Script, ScriptedServer, ToolCall, count_tokens
from tuiagents.testing.fixtures import scripted_server  # noqa: F401 - pytest fixture

SYSTEM = {"role": "system", "content": "You are the coder agent."}


def ask(text: str, *, system: dict | None = SYSTEM) -> list[dict]:
    """A message list: the system message (if any) and one user message."""
    return ([system] if system else []) + [{"role": "user", "content": text}]


def chat(client: openai.OpenAI, text: str = "hello", **kwargs):
    kwargs.setdefault("model", "scripted-model")
    return client.chat.completions.create(messages=ask(text), **kwargs)


def content_of(client: openai.OpenAI, text: str = "hello", **kwargs) -> str | None:
    return chat(client, text, **kwargs).choices[0].message.content


# -- replies, streaming, usage ---------------------------------------------------------------------


def test_non_stream_reply_has_content_finish_reason_and_counted_usage(scripted_server):
    server = scripted_server([Rule(reply="print hello world")])
    response = chat(server.client(max_retries=0), "please write hello world", model="gpt-test")
    assert response.choices[0].message.content == "print hello world"
    assert response.choices[0].message.role == "assistant"
    assert response.choices[0].finish_reason == "stop"
    assert response.model == "gpt-test"
    # prompt: "You are the coder agent." (5 words) + "please write hello world" (4 words)
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (9, 3)
    assert response.usage.total_tokens == 12


async def test_stream_assembles_content_from_several_chunks_and_reports_usage(scripted_server):
    server = scripted_server([Rule(reply="one two  three\nfour")])
    async with server.async_client(max_retries=0) as client:
        stream = await client.chat.completions.create(
            model="m", messages=ask("go"), stream=True, stream_options={"include_usage": True}
        )
        chunks = [chunk async for chunk in stream]
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(pieces) == 4
    assert "".join(pieces) == "one two  three\nfour"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (6, 4)
    assert all(c.usage is None for c in chunks[:-1])


def test_stream_without_include_usage_sends_no_usage_chunk(scripted_server):
    server = scripted_server([Rule(reply="a b c")])
    chunks = list(chat(server.client(max_retries=0), stream=True))
    assert all(c.choices for c in chunks)
    assert all(c.usage is None for c in chunks)


async def test_streamed_tool_calls_assemble_to_names_and_arguments(scripted_server):
    reply = Reply(tool_calls=[
        ToolCall(name="run_python", arguments={"code": "print('a long enough program')", "timeout": 5}),
        ToolCall(name="list_files", arguments={"path": "/workspace"}, id="call_fixed"),
    ])
    server = scripted_server([Rule(reply=reply)])
    calls: dict[int, dict] = {}
    fragments = 0
    finish = None
    async with server.async_client(max_retries=0) as client:
        stream = await client.chat.completions.create(model="m", messages=ask("go"), stream=True)
        async for chunk in stream:
            choice = chunk.choices[0]
            finish = choice.finish_reason or finish
            for delta in choice.delta.tool_calls or []:
                call = calls.setdefault(delta.index, {"id": None, "name": "", "arguments": ""})
                call["id"] = delta.id or call["id"]
                call["name"] += delta.function.name or ""
                if delta.function.arguments:
                    fragments += 1
                    call["arguments"] += delta.function.arguments
    assert finish == "tool_calls"
    assert calls[0]["name"] == "run_python"
    assert json.loads(calls[0]["arguments"]) == {"code": "print('a long enough program')", "timeout": 5}
    assert (calls[1]["name"], calls[1]["id"]) == ("list_files", "call_fixed")
    assert json.loads(calls[1]["arguments"]) == {"path": "/workspace"}
    assert calls[0]["id"] and calls[0]["id"] != calls[1]["id"]
    assert fragments > 2  # arguments arrive in pieces, as from OpenAI


def test_non_stream_tool_call_and_its_usage(scripted_server):
    server = scripted_server([Rule(reply=Reply.tool("run_python", code="print(1 + 1)"))])
    response = chat(server.client(max_retries=0), "compute")
    message = response.choices[0].message
    assert message.content is None
    assert response.choices[0].finish_reason == "tool_calls"
    assert message.tool_calls[0].function.name == "run_python"
    assert json.loads(message.tool_calls[0].function.arguments) == {"code": "print(1 + 1)"}
    expected = count_tokens("run_python") + count_tokens(message.tool_calls[0].function.arguments)
    assert response.usage.completion_tokens == expected


def test_explicit_usage_overrides_the_count(scripted_server):
    server = scripted_server({"rules": [{"reply": {"content": "hi", "usage": {"prompt_tokens": 100,
                                                                          "completion_tokens": 7}}}]})
    usage = chat(server.client(max_retries=0)).usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (100, 7, 107)


def test_models_list_and_retrieve(scripted_server):
    server = scripted_server(Script(models=["alpha", "beta"]))
    client = server.client(max_retries=0)
    assert [m.id for m in client.models.list()] == ["alpha", "beta"]
    assert client.models.retrieve("beta").id == "beta"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gamma")
    assert [r.path for r in server.requests] == ["/v1/models", "/v1/models/beta", "/v1/models/gamma"]


# -- matching --------------------------------------------------------------------------------------


def test_rules_match_by_user_agent_and_turn(scripted_server):
    server = scripted_server([
        Rule(agent="coder", turn=0, reply="coder first"),
        Rule(agent="coder", turn=1, reply="coder second"),
        Rule(agent="coder", reply="coder later"),
        Rule(agent="reviewer", reply="looks good"),
    ])
    client = server.client(max_retries=0)
    got = [content_of(client, user=user) for user in ["coder", "reviewer", "coder", "coder", "coder", "nobody"]]
    assert got == ["coder first", "looks good", "coder second", "coder later", "coder later", NO_MATCH_TEXT]
    assert [r.turn for r in server.requests_for("coder")] == [0, 1, 2, 3]
    assert server.requests_for("reviewer")[0].rule == "rule[3]"
    assert server.chat_requests[-1].rule is None


def test_agent_falls_back_to_the_system_message_when_no_user_is_sent(scripted_server):
    server = scripted_server([Rule(agent="planner", reply="plan"), Rule(agent="coder", reply="code")])
    client = server.client(max_retries=0)
    assert content_of(client) == "code"  # SYSTEM mentions "coder"
    assert content_of(client, user="planner") == "plan"


def test_rules_match_by_contains_regex_system_and_model(scripted_server):
    server = scripted_server([
        Rule(contains="Who speaks next", reply=Reply.speaker("reviewer")),
        Rule(regex=r"^\d+ \+ \d+$", reply="a sum"),
        Rule(system="the coder", model="gpt-4*", reply="coder on gpt-4"),
        Rule(reply="fallback"),
    ])
    client = server.client(max_retries=0)
    assert content_of(client, "Who speaks next? Answer with a name.") == "reviewer"
    assert content_of(client, "2 + 3") == "a sum"
    assert content_of(client, "x 2 + 3") == "fallback"
    assert content_of(client, "hi", model="gpt-4o") == "coder on gpt-4"
    assert content_of(client, "hi", model="gpt-3.5") == "fallback"


def test_times_and_reply_sequences_are_used_up_in_order(scripted_server):
    server = scripted_server([
        Rule(contains="seq", replies=["first", "second"]),
        Rule(contains="once", reply="only once", times=1),
        Rule(contains="last", replies=["x", "y"], times=3),
    ])
    client = server.client(max_retries=0)
    assert [content_of(client, "seq") for _ in range(3)] == ["first", "second", NO_MATCH_TEXT]
    assert [content_of(client, "once") for _ in range(2)] == ["only once", NO_MATCH_TEXT]
    assert [content_of(client, "last") for _ in range(4)] == ["x", "y", "y", NO_MATCH_TEXT]


def test_configurable_default_reply(scripted_server):
    server = scripted_server({"default": "TERMINATE"})
    assert content_of(server.client(max_retries=0)) == "TERMINATE"


async def test_concurrent_requests_each_get_a_distinct_turn(scripted_server):
    rules = [Rule(agent=agent, turn=i, reply=f"{agent}{i}") for agent in ("a", "b") for i in range(10)]
    server = scripted_server(rules)
    async with server.async_client(max_retries=0) as client:
        async def one(agent: str) -> str:
            response = await client.chat.completions.create(model="m", messages=ask("go"), user=agent)
            return response.choices[0].message.content

        replies = await asyncio.gather(*(one(agent) for agent in ["a", "b"] * 10))
    assert sorted(replies) == sorted(f"{agent}{i}" for agent in ("a", "b") for i in range(10))
    assert len(server.chat_requests) == 20


# -- faults ----------------------------------------------------------------------------------------


def test_rate_limit_then_success_is_retried_by_the_client(scripted_server):
    server = scripted_server(Script(
        rules=[Rule(agent="coder", turn=0, reply="made it")],
        faults=[Fault.rate_limit(retry_after=0.01, times=2)],
    ))
    assert content_of(server.client(max_retries=2), user="coder") == "made it"
    requests = server.chat_requests
    assert [r.status for r in requests] == [429, 429, 200]
    assert [r.headers["x-stainless-retry-count"] for r in requests] == ["0", "1", "2"]
    assert [r.turn for r in requests] == [0, 0, 0]  # failed requests are not turns


def test_rate_limit_sends_retry_after_and_gives_up_without_retries(scripted_server):
    server = scripted_server(Script(faults=[Fault.rate_limit(retry_after=0)]))
    client = server.client(max_retries=0)
    with pytest.raises(openai.RateLimitError) as info:
        chat(client)
    assert info.value.response.headers["retry-after"] == "0"
    assert info.value.status_code == 429
    assert content_of(client) == NO_MATCH_TEXT  # the fault applied to one request only


def test_server_error_surfaces_as_internal_server_error(scripted_server):
    server = scripted_server([Rule(agent="coder", fault=Fault.server_error())])
    with pytest.raises(openai.InternalServerError):
        chat(server.client(max_retries=0), user="coder")
    assert [r.status for r in server.chat_requests] == [500]


def test_bad_request_is_not_retried(scripted_server):
    server = scripted_server([Rule(fault=Fault.bad_request("context too long"))])
    with pytest.raises(openai.BadRequestError, match="context too long"):
        chat(server.client(max_retries=2))
    assert len(server.chat_requests) == 1


def test_rule_fault_used_once_then_the_next_rule_answers(scripted_server):
    server = scripted_server([
        Rule(agent="coder", fault=Fault.server_error(), times=1),
        Rule(agent="coder", turn=0, reply="after the error"),
    ])
    client = server.client(max_retries=0)
    with pytest.raises(openai.InternalServerError):
        chat(client, user="coder")
    assert content_of(client, user="coder") == "after the error"


def test_dropped_connection_is_a_connection_error(scripted_server):
    server = scripted_server(Script(faults=[Fault.drop()]))
    with pytest.raises(openai.APIConnectionError) as info:
        chat(server.client(max_retries=0))
    assert not isinstance(info.value, openai.APITimeoutError)
    assert server.chat_requests[0].status is None
    assert server.chat_requests[0].fault == "drop"


async def test_connection_dropped_mid_stream_raises_while_iterating(scripted_server):
    server = scripted_server([Rule(reply="w1 w2 w3 w4 w5 w6", fault=Fault.drop_mid_stream(after_chunks=3))])
    received: list[str] = []
    async with server.async_client(max_retries=0) as client:
        stream = await client.chat.completions.create(model="m", messages=ask("go"), stream=True)
        with pytest.raises(openai.APIConnectionError):
            async for chunk in stream:
                received.append(chunk.choices[0].delta.content or "")
    assert "".join(received) == "w1 w2 "


def test_slow_reply_times_out_the_client(scripted_server):
    server = scripted_server(Script(faults=[Fault.slow(delay=30)]))
    with pytest.raises(openai.APITimeoutError):
        chat(server.client(max_retries=0, timeout=0.3))


def test_slow_stream_with_chunk_delay_still_delivers_everything(scripted_server):
    server = scripted_server([Rule(reply="slow but sure", fault=Fault.slow(delay=0.01, chunk_delay=0.01))])
    chunks = list(chat(server.client(max_retries=0), stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "slow but sure"
    assert server.chat_requests[0].fault == "slow"


def test_malformed_chunk_raises_json_decode_error_while_iterating(scripted_server):
    server = scripted_server([Rule(reply="a b c d", fault=Fault.malformed_chunk(after_chunks=2))])
    stream = chat(server.client(max_retries=0), stream=True)
    received = []
    with pytest.raises(json.JSONDecodeError):
        for chunk in stream:
            received.append(chunk.choices[0].delta.content)
    assert received == ["", "a "]


def test_malformed_non_stream_body_raises_json_decode_error(scripted_server):
    server = scripted_server(Script(faults=[Fault.malformed_chunk()]))
    with pytest.raises(json.JSONDecodeError):
        chat(server.client(max_retries=0))


def test_stream_error_event_raises_api_error(scripted_server):
    server = scripted_server([Rule(reply="a b c", fault=Fault.stream_error(after_chunks=1, message="overloaded"))])
    with pytest.raises(openai.APIError, match="overloaded"):
        list(chat(server.client(max_retries=0), stream=True))


def test_injected_fault_applies_to_the_next_requests_only(scripted_server):
    server = scripted_server([Rule(reply="fine")])
    client = server.client(max_retries=0)
    assert content_of(client) == "fine"
    server.inject(Fault.http_error(503, times=2))
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            chat(client)
    assert content_of(client) == "fine"
    assert [r.status for r in server.chat_requests] == [200, 503, 503, 200]


# -- recording, lifecycle, loading -----------------------------------------------------------------


def test_requests_record_path_headers_and_body(scripted_server):
    server = scripted_server()
    chat(server.client(max_retries=0), "record me", user="coder", temperature=0.5)
    (record,) = server.requests
    assert record.method == "POST" and record.path == "/v1/chat/completions"
    assert record.headers["authorization"] == "Bearer test"
    assert record.body["messages"][-1]["content"] == "record me"
    assert record.body["temperature"] == 0.5
    assert record.agent == "coder"
    server.clear_requests()
    assert server.requests == []


def test_unknown_route_is_404(scripted_server):
    server = scripted_server()
    with pytest.raises(openai.NotFoundError):
        server.client(max_retries=0).embeddings.create(model="m", input="x")


def test_stop_frees_the_port_and_ends_all_threads():
    server = ScriptedServer(Script(faults=[Fault.slow(delay=60)])).start()
    port = server.port
    client = server.client(max_retries=0, timeout=60)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            chat(client)
        except openai.APIError as exc:
            errors.append(exc)

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    while not server.requests:  # the request is in flight, its handler is sleeping
        threading.Event().wait(0.01)
    server.stop()
    worker.join(timeout=10)
    assert not worker.is_alive()  # the in-flight request was cut off by stop()
    assert len(errors) == 1 and isinstance(errors[0], openai.APIConnectionError)
    assert not [t for t in threading.enumerate() if t.name.startswith(f"scripted-server-{port}")]
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()
    assert not server.running
    server.stop()  # stopping twice is harmless


def test_scripts_load_from_json_and_toml_files(tmp_path):
    json_file = tmp_path / "script.json"
    json_file.write_text(json.dumps({
        "rules": [{"agent": "coder", "reply": {"tool_calls": [{"name": "run", "arguments": {"x": 1}}]}}],
        "faults": [{"kind": "rate_limit", "retry_after": 0, "times": 2}],
        "default": "nothing",
    }))
    script = Script.from_file(json_file)
    assert script.rules[0].reply.tool_calls[0].arguments == {"x": 1}
    assert script.faults[0].effective_status == 429 and script.faults[0].times == 2
    assert script.default.content == "nothing"
    toml_file = tmp_path / "script.toml"
    toml_file.write_text('[[rules]]\nagent = "coder"\nreplies = ["one", "two"]\n')
    assert [r.content for r in Script.from_file(toml_file).rules[0].replies] == ["one", "two"]


def test_script_validation_rejects_mistakes():
    with pytest.raises(pydantic.ValidationError):
        Rule(reply="a", replies=["b"])
    with pytest.raises(pydantic.ValidationError):
        Script.model_validate({"rules": [{"agnet": "coder", "reply": "typo"}]})
    with pytest.raises(pydantic.ValidationError):
        Fault(kind="explode")


def test_command_line_server_prints_its_url_and_serves_the_script(tmp_path):
    script = tmp_path / "demo.json"
    script.write_text(json.dumps({"rules": [{"contains": "ping", "reply": "pong"}]}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tuiagents.testing.server", "--script", str(script), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        client = openai.OpenAI(base_url=url, api_key="test", max_retries=0)
        assert content_of(client, "ping") == "pong"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0
    assert "RuntimeWarning" not in proc.stderr.read()


def test_slow_non_stream_body_drips_in_pieces(scripted_server):
    server = scripted_server([Rule(reply="dripped whole", fault=Fault.slow(chunk_delay=0.05))])
    # ten pieces 0.05 s apart: longer than the client's timeout in all, but no single read waits that long
    assert content_of(server.client(max_retries=0, timeout=0.2)) == "dripped whole"
    assert server.chat_requests[0].fault == "slow"
