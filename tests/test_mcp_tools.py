"""Tools from MCP servers, against real servers on the `mcp` SDK (stdio and streamable HTTP) and the
scripted model: what the model is offered, results flowing back, the server's own errors, call
timeouts, servers that cannot start, bad tool names, and no server process left behind."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from tuiagents.config import ConfigError
from tuiagents.engine.events import Notice, StopKind, ToolCallFinished
from tuiagents.engine.factory import build_run
from tuiagents.testing import Reply, Rule

from mcp_support import alive, calc_http, calc_stdio, server_pid

ADD_DESCRIPTION = "Add two whole numbers and return their sum (from the calc MCP server)."


def mcp_run(make_config, tmp_path, servers: list[dict], tools: list[str], *, max_turns: int = 3):
    """user (NEVER) <-> assistant, which calls and runs the MCP tools it names; everything approved."""
    cfg = make_config(
        agents=[{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER",
                 "default_auto_reply": "go on"},
                {"name": "assistant", "kind": "assistant", "model": "default", "tools": tools}],
        teams=[{"name": "pair", "agents": ["user", "assistant"], "max_turns": max_turns}],
        mcp_servers=servers)
    return build_run(cfg, "pair", "what is 2 + 3?", approve="all", work_dir=tmp_path)


def results(run) -> list:
    return [e.result for e in run.bus.history if isinstance(e, ToolCallFinished)]


def tool_message(server, turn: int) -> str:
    [m] = [m for m in server.requests_for("assistant")[turn].body["messages"] if m["role"] == "tool"]
    return m["content"]


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_the_model_calls_an_mcp_tool_and_reads_its_result(transport, server, make_config, run_to_end,
                                                                 tmp_path):
    server.load([Rule(agent="assistant", replies=[Reply.tool("add", a=2, b=3), "It is 5. TERMINATE"])])
    if transport == "stdio":
        run = mcp_run(make_config, tmp_path, [calc_stdio()], ["mcp:calc"])
        result = await run_to_end(run)
    else:
        with calc_http() as url:
            run = mcp_run(make_config, tmp_path, [{"name": "calc", "url": url}], ["mcp:calc"])
            result = await run_to_end(run)

    assert result.stop_reason == "assistant said TERMINATE", result.stop_reason
    offered = {t["function"]["name"]: t["function"] for t in server.requests_for("assistant")[0].body["tools"]}
    assert set(offered) == {"add", "fail", "slow", "die", "calc_square", "whoami"}
    # the server's own description and input schema are what the model sees
    assert offered["add"]["description"] == ADD_DESCRIPTION
    assert offered["add"]["parameters"]["required"] == ["a", "b"]
    assert offered["add"]["parameters"]["properties"]["a"]["type"] == "integer"
    assert [(r.name, r.content, r.is_error) for r in results(run)] == [("add", "5", False)]
    assert tool_message(server, 1) == "5"


async def test_a_tool_name_a_chat_api_refuses_is_offered_in_its_words_and_called_by_its_own(
        server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=[Reply.tool("calc_square", x=7), "49. TERMINATE"])])
    run = mcp_run(make_config, tmp_path, [calc_stdio()], ["mcp:calc/calc.square"])
    await run_to_end(run)
    assert [t["function"]["name"] for t in server.requests_for("assistant")[0].body["tools"]] == ["calc_square"]
    assert [(r.name, r.content, r.is_error) for r in results(run)] == [("calc_square", "49", False)]


async def test_one_tool_of_a_server(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", reply="TERMINATE")])
    await run_to_end(mcp_run(make_config, tmp_path, [calc_stdio()], ["mcp:calc/add"]))
    assert [t["function"]["name"] for t in server.requests_for("assistant")[0].body["tools"]] == ["add"]


async def test_the_servers_own_error_is_the_tools_result(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=[Reply.tool("fail", reason="no tables"), "I see. TERMINATE"])])
    run = mcp_run(make_config, tmp_path, [calc_stdio()], ["mcp:calc"])
    result = await run_to_end(run)
    [res] = results(run)
    assert res.is_error and "calc refuses: no tables" in res.content, res.content
    assert "calc refuses: no tables" in tool_message(server, 1)
    assert result.stop_kind == StopKind.TERMINATION_MESSAGE


async def test_a_server_that_dies_in_a_call_is_that_calls_result_and_the_next_ones(server, make_config,
                                                                                     run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=[Reply.tool("die"), Reply.tool("add", a=1, b=1), "TERMINATE"])])
    run = mcp_run(make_config, tmp_path, [calc_stdio()], ["mcp:calc"], max_turns=6)
    result = await run_to_end(run)
    died, after = results(run)
    assert died.is_error and "MCP server 'calc' failed calling die" in died.content, died.content
    assert "calc: out of memory" in died.content  # its stderr says why
    assert after.is_error and "failed calling add" in after.content and "did the server exit?" in after.content
    assert result.stop_reason == "assistant said TERMINATE"  # the run goes on; the model reads why


async def test_a_wrong_argument_is_the_servers_error_too(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=[Reply.tool("add", a=2, b="three"), "TERMINATE"])])
    run = mcp_run(make_config, tmp_path, [calc_stdio()], ["mcp:calc"])
    await run_to_end(run)
    [res] = results(run)
    assert res.is_error and "b" in res.content and "integer" in res.content, res.content


async def test_a_call_past_its_timeout_is_its_result(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=[Reply.tool("slow", seconds=30), Reply.tool("add", a=1, b=1),
                                                  "TERMINATE"])])
    run = mcp_run(make_config, tmp_path, [calc_stdio(timeout=1)], ["mcp:calc"], max_turns=6)
    result = await run_to_end(run)
    slow, add = results(run)
    assert slow.is_error and "did not answer within 1 s" in slow.content and "'calc'" in slow.content
    assert (add.content, add.is_error) == ("2", False)  # the server is still usable after a timeout
    assert result.stop_reason == "assistant said TERMINATE"


async def test_a_server_that_cannot_start_stops_the_run_naming_it_and_its_stderr(server, make_config,
                                                                                  run_to_end, tmp_path):
    server.load([Rule(agent="assistant", reply="never asked")])
    run = mcp_run(make_config, tmp_path, [calc_stdio("calc", "--crash")], ["mcp:calc"])
    result = await run_to_end(run)
    assert result.stop_kind == StopKind.ERROR
    assert "MCP server 'calc'" in result.stop_reason and "could not start" in result.stop_reason
    # the stop says which server; the error notice adds the last lines of its stderr
    assert any(isinstance(e, Notice) and e.level == "error" and "MCP server 'calc'" in e.text
               and "cannot open tables.db: no such file" in e.text for e in run.bus.history)
    assert server.requests_for("assistant") == []  # no model was asked with half its tools
    assert not run.start_error.bad_config


async def test_a_server_that_never_answers_is_stopped_at_its_startup_timeout(server, make_config, run_to_end,
                                                                             tmp_path):
    pid_file = tmp_path / "mute.pid"
    mute = ("import os, sys, time; open(os.environ['MCP_PID_FILE'], 'w').write(str(os.getpid())); "
            "print('mute: warming up', file=sys.stderr, flush=True); time.sleep(600)")
    run = mcp_run(make_config, tmp_path, [{"name": "mute", "command": [sys.executable, "-c", mute],
                                           "env": {"MCP_PID_FILE": str(pid_file)}, "startup_timeout": 8}],
                  ["mcp:mute"])
    result = await run_to_end(run)
    assert result.stop_reason == "MCP server 'mute' could not start: it did not start and list its tools " \
                                 "within 8 s (startup_timeout)"
    [notice] = [e.text for e in run.bus.history if isinstance(e, Notice) and e.level == "error"]
    assert "its stderr ended with:\n    mute: warming up" in notice  # what it said before it went quiet
    assert not alive(server_pid(pid_file))


async def test_a_missing_program_and_an_unreachable_url_say_so(server, make_config, run_to_end, tmp_path):
    run = mcp_run(make_config, tmp_path, [{"name": "calc", "command": ["no-such-mcp-server-xyz"]},
                                          {"name": "web", "url": "http://127.0.0.1:9/mcp", "startup_timeout": 5}],
                  ["mcp:calc", "mcp:web"])
    result = await run_to_end(run)
    [notice] = [e.text for e in run.bus.history if isinstance(e, Notice) and e.level == "error"]
    assert "MCP server 'calc'" in notice and "program was not found" in notice
    assert "MCP server 'web' could not start" in notice and "its url: http://127.0.0.1:9/mcp" in notice
    assert result.stop_reason == notice.splitlines()[0]


async def test_an_unknown_tool_of_a_server_is_a_config_error_when_it_starts(server, make_config, run_to_end,
                                                                           tmp_path):
    run = mcp_run(make_config, tmp_path, [calc_stdio()], ["mcp:calc/multiply"])
    result = await run_to_end(run)
    assert run.start_error.bad_config
    assert "asks for mcp:calc/multiply" in result.stop_reason and "no tool 'multiply'" in result.stop_reason
    assert "its tools: add, calc.square, die, fail, slow, whoami" in result.stop_reason


async def test_one_tool_name_from_two_servers_is_a_config_error(server, make_config, run_to_end, tmp_path):
    run = mcp_run(make_config, tmp_path, [calc_stdio("calc"), calc_stdio("calc2")], ["mcp:calc", "mcp:calc2/add"])
    result = await run_to_end(run)
    assert run.start_error.bad_config
    assert "tool named 'add' from both mcp:calc/add and mcp:calc2/add" in result.stop_reason


def test_an_unknown_server_is_a_config_error_at_load(make_config):
    with pytest.raises(ConfigError) as err:
        make_config(agents=[{"name": "a", "kind": "assistant", "model": "default", "tools": ["mcp:calculator"]}],
                    teams=[], mcp_servers=[calc_stdio("calc")])
    assert "agents[0].tools[0]" in str(err.value) and "MCP server 'calculator', which is not defined" in str(err.value)
    assert "one of: calc" in str(err.value)


@pytest.mark.parametrize("spec", ["mcp:", "mcp:calc/", "mcp:a b"])
def test_a_malformed_mcp_tool_entry_is_a_config_error_at_load(make_config, spec):
    with pytest.raises(ConfigError) as err:
        make_config(agents=[{"name": "a", "kind": "assistant", "model": "default", "tools": [spec]}],
                    teams=[], mcp_servers=[calc_stdio("calc")])
    assert "agents[0].tools[0]" in str(err.value) and '"mcp:SERVER/TOOL"' in str(err.value)


@pytest.mark.parametrize("entry, words", [
    ({"name": "x"}, "set either command"),
    ({"name": "x", "command": ["a"], "url": "http://127.0.0.1/mcp"}, "not both or neither"),
    ({"name": "x", "url": "ftp://host/mcp"}, "must start with http"),
    ({"name": "x", "command": ["a"], "headers": {"A": "b"}}, "headers are for a url server"),
    ({"name": "a/b", "command": ["a"]}, "mcp_servers[0].name"),
    ({"name": "x", "command": ["a"], "timeout": 0}, "mcp_servers[0].timeout"),
])
def test_a_bad_server_entry_is_a_config_error(make_config, entry, words):
    with pytest.raises(ConfigError) as err:
        make_config(agents=[], teams=[], mcp_servers=[entry])
    assert words in str(err.value)


async def test_the_server_process_is_gone_after_a_normal_end(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=[Reply.tool("add", a=1, b=2), "TERMINATE"])])
    pid_file = tmp_path / "calc.pid"
    run = mcp_run(make_config, tmp_path, [calc_stdio(pid_file=pid_file)], ["mcp:calc"])
    await run_to_end(run)
    assert not alive(server_pid(pid_file))


async def test_the_server_process_is_gone_after_a_stop_mid_call(server, make_config, tmp_path):
    server.load([Rule(agent="assistant", replies=[Reply.tool("slow", seconds=60), "TERMINATE"])])
    pid_file = tmp_path / "calc.pid"
    run = mcp_run(make_config, tmp_path, [calc_stdio(pid_file=pid_file)], ["mcp:calc"])
    task = asyncio.ensure_future(run.run())
    for _ in range(300):
        if any(type(e).__name__ == "ToolCallStarted" for e in run.bus.history):
            break
        await asyncio.sleep(0.05)
    pid = server_pid(pid_file)
    assert alive(pid)
    run.request_stop("stopped by you")
    result = await asyncio.wait_for(task, 30)
    await run.aclose()
    assert result.stop_kind == StopKind.STOPPED_BY_USER
    assert not alive(pid)


async def test_the_server_process_is_gone_after_a_model_error(server, make_config, run_to_end, tmp_path):
    from tuiagents.testing import Fault

    server.load([Rule(agent="assistant", fault=Fault.bad_request("no such model"))])
    pid_file = tmp_path / "calc.pid"
    run = mcp_run(make_config, tmp_path, [calc_stdio(pid_file=pid_file)], ["mcp:calc"])
    result = await run_to_end(run)
    assert result.stop_kind == StopKind.ERROR
    assert not alive(server_pid(pid_file))


async def test_every_server_is_stopped_when_another_cannot_start(server, make_config, run_to_end, tmp_path):
    pid_file = tmp_path / "calc.pid"
    run = mcp_run(make_config, tmp_path, [calc_stdio(pid_file=pid_file), calc_stdio("broken", "--crash")],
                  ["mcp:calc", "mcp:broken"])
    result = await run_to_end(run)
    assert "'broken'" in result.stop_reason and result.stop_kind == StopKind.ERROR
    assert not alive(server_pid(pid_file))


def test_secrets_of_headers_and_env_stay_out_of_the_snapshot(make_config):
    token = "mcp-secret-token-1234567890"
    cfg = make_config(agents=[], teams=[], mcp_servers=[
        {"name": "web", "url": "http://127.0.0.1:1/mcp", "headers": {"Authorization": f"Bearer {token}"}},
        {"name": "local", "command": ["srv"], "env": {"CALC_API_KEY": token + "x", "MODE": "fast"}}])
    snap = json.dumps(cfg.snapshot())
    assert token not in snap and "[redacted]" in snap and '"MODE": "fast"' in snap
    from tuiagents.secrets import scrub

    assert token not in scrub(f"header was Bearer {token}") and token + "x" not in scrub(f"key {token}x")
    # a log's snapshot does not start the server with "[redacted]": it says to pass the config
    from tuiagents.config import parse_config

    with pytest.raises(ConfigError) as err:
        parse_config(cfg.snapshot())
    assert "held a secret" in str(err.value) and "--config FILE" in str(err.value)


async def test_a_resumed_run_starts_its_servers_again_from_the_log(server, make_config, run_to_end, tmp_path):
    from tuiagents.app.launch import prepare_run
    from tuiagents.session.resume import prepare_resume

    server.load([Rule(agent="assistant", replies=[Reply.tool("add", a=2, b=3), Reply.tool("add", a=5, b=10),
                                                  "15. TERMINATE"])])
    pid_file = tmp_path / "calc.pid"
    cfg = make_config(
        agents=[{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER", "default_auto_reply": "go on"},
                {"name": "assistant", "kind": "assistant", "model": "default", "tools": ["mcp:calc/add"]}],
        teams=[{"name": "pair", "agents": ["user", "assistant"], "max_turns": 6}],
        mcp_servers=[calc_stdio(pid_file=pid_file)])
    log = tmp_path / "run.jsonl"
    first = prepare_run(cfg, "pair", "add things", approve="all", session_path=log)

    def stop_after_the_first_result(event) -> None:
        if isinstance(event, ToolCallFinished):
            first.request_stop("stopped by you")

    first.bus.subscribe(stop_after_the_first_result)
    await run_to_end(first)
    first_pid = server_pid(pid_file)
    assert [r.content for r in results(first)] == ["5"] and not alive(first_pid)

    again = prepare_resume(log, approve="all")  # the config the log keeps: no --config
    result = await run_to_end(again)
    assert server_pid(pid_file) != first_pid and not alive(server_pid(pid_file))
    assert [r.content for r in results(again) if r.content not in ("5",)] == ["15"]
    assert result.stop_reason == "assistant said TERMINATE"
    assert [t["function"]["name"] for t in server.requests_for("assistant")[-1].body["tools"]] == ["add"]


async def test_http_headers_are_sent_and_never_logged(server, make_config, run_to_end, tmp_path):
    from tuiagents.app.launch import prepare_run

    token = "mcp-http-token-0123456789abcdef"
    server.load([Rule(agent="assistant", replies=[Reply.tool("whoami"), f"I am {token}. TERMINATE"])])
    with calc_http() as url:
        cfg = make_config(
            agents=[{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER"},
                    {"name": "assistant", "kind": "assistant", "model": "default", "tools": ["mcp:calc/whoami"]}],
            teams=[{"name": "pair", "agents": ["user", "assistant"], "max_turns": 3}],
            mcp_servers=[{"name": "calc", "url": url, "headers": {"Authorization": f"Bearer {token}"}}])
        run = prepare_run(cfg, "pair", "who am I?", approve="all", session_path=tmp_path / "run.jsonl")
        await run_to_end(run)
    [res] = results(run)
    assert res.content == f"Bearer {token}"  # the server got the header (the run holds it in memory only)
    text = (tmp_path / "run.jsonl").read_text()
    assert token not in text and "[redacted]" in text


def test_a_logs_redacted_placeholder_never_becomes_a_secret(make_config):
    """Loading a log's config (headers "[redacted]") must not teach the scrubber that "[redacted]"
    is a secret: every later redaction would then be masked again, to "…"."""
    from tuiagents.config import parse_config
    from tuiagents.secrets import REDACTED, known_secrets, mask, scrub

    cfg = make_config(agents=[], teams=[], mcp_servers=[
        {"name": "web", "url": "http://127.0.0.1:1/mcp", "headers": {"Authorization": "Bearer tok-0123456789abc"}}],
        models=[{"name": "default", "model": "m", "extra_headers": {"X-Api-Key": "hdr-0123456789abc"}}])
    with pytest.raises(ConfigError):
        parse_config(cfg.snapshot())
    snap = cfg.snapshot()
    snap["mcp_servers"] = []
    parse_config(snap)  # the models' headers are "[redacted]" in it too
    assert not [s for s in known_secrets() if REDACTED in s]
    assert scrub("key sk-live-0123456789abcdefghijklmnop here") == f"key {REDACTED} here"
    assert mask(f"the log says {REDACTED}") == f"the log says {REDACTED}"  # shown as the log has it


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_an_mcp_calls_arguments_edited_by_the_person_reach_the_server_and_the_log_keeps_both(
        transport, server, make_config, human, run_to_end, tmp_path):
    """One decision per call holds for a server's tools too: the person edits the arguments (checked
    against the schema the server sent), the server computes with the edit, and the log, read
    back and replayed, keeps the model's arguments beside the person's."""
    import json

    from tuiagents.app.launch import prepare_run
    from tuiagents.engine.decisions import Decision, DecisionKind, RequestKind
    from tuiagents.engine.events import DecisionRecorded, ToolCallStarted
    from tuiagents.session.export import export_session
    from tuiagents.session.reader import read_session

    server.load([Rule(agent="assistant", replies=[Reply.tool("add", a=2, b=3), "It is 11. TERMINATE"])])

    async def go(servers: list[dict]) -> None:
        cfg = make_config(
            agents=[{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER", "default_auto_reply": "go on"},
                    {"name": "assistant", "kind": "assistant", "model": "default", "tools": ["mcp:calc"]}],
            teams=[{"name": "pair", "agents": ["user", "assistant"], "max_turns": 3}], mcp_servers=servers)
        run = human.attach(prepare_run(cfg, "pair", "what is 2 + 3?", approve="ask",
                                       session_path=tmp_path / "run.jsonl"))
        human.queue(RequestKind.MESSAGE, *[Decision.approve()] * 4)
        human.queue(RequestKind.TOOL_CALL, Decision.edit('{"a": "five", "b": 6}'), Decision.edit('{"a": 5, "b": 6}'))
        await run_to_end(run)

    if transport == "stdio":
        await go([calc_stdio()])
    else:
        with calc_http() as url:
            await go([{"name": "calc", "url": url}])

    [asked, *_] = [r for r in human.seen if r.kind == RequestKind.TOOL_CALL]
    assert ADD_DESCRIPTION in asked.prompt or (asked.tool_info and asked.tool_info.description == ADD_DESCRIPTION)
    log = read_session(tmp_path / "run.jsonl")
    [started] = [e for e in log.events if isinstance(e, ToolCallStarted)]
    assert json.loads(started.call.arguments) == {"a": 5, "b": 6}  # "five" was refused by the schema
    assert json.loads(started.original_arguments) == {"a": 2, "b": 3}
    assert tool_message(server, 1).endswith("\n11")  # the server added the person's numbers
    [decision] = [e for e in log.events if isinstance(e, DecisionRecorded) and e.request_kind == RequestKind.TOOL_CALL]
    assert decision.decision.kind == DecisionKind.EDIT
    md = export_session(tmp_path / "run.jsonl", "md")
    assert 'arguments {"a": 2, "b": 3} → {"a": 5, "b": 6}' in md
    assert 'Original:\n\n```json\n{"a": 2, "b": 3}\n```' in md  # what the model sent, not an empty quote
