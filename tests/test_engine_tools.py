"""Tools: schemas the model receives, sync and async functions behind the supervisor, error
results for every kind of bad call, and a valid message protocol when a human interrupts."""

from __future__ import annotations

import asyncio
import json
from typing import Literal

from tuiagents.engine.decisions import ApprovalRule, DecidedBy, Decision, DecisionKind, RequestKind
from tuiagents.engine.events import DecisionRecorded, SpeakerSelected, ToolCallFinished, ToolCallStarted
from tuiagents.engine.factory import build_run
from tuiagents.engine.tools import INTERRUPTED
from tuiagents.testing import Reply, Rule, ToolCall

# -- the tools -----------------------------------------------------------------------------------


def add(a: int, b: int = 1) -> int:
    """Add two integers.

    Args:
        a: the first number
        b (int): the second number
    """
    return a + b


async def weather(city: str, units: Literal["c", "f"] = "c") -> dict:
    """Look up the weather of a city.

    :param city: the city name
    :param units: c or f
    """
    await asyncio.sleep(0)
    return {"city": city, "temp": 21 if units == "c" else 70}


def explode(reason: str) -> str:
    """Always fails."""
    raise RuntimeError(f"boom: {reason}")


def mistyped(x: int) -> int:
    """Fails inside with a TypeError that has nothing to do with the arguments."""
    return x + "1"  # type: ignore[operator]


# -- helpers -------------------------------------------------------------------------------------


def tool_run(make_config, tmp_path, *, approve: str = "ask", config_tools: list[str] | None = None,
             max_turns: int = 4):
    """user (NEVER, runs the tools) <-> assistant (calls them), AutoGen 0.2 style."""
    assistant = {"name": "assistant", "kind": "assistant", "model": "default"}
    if config_tools is not None:
        assistant["tools"] = config_tools
    cfg = make_config(agents=[{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER"}, assistant],
                      teams=[{"name": "pair", "agents": ["user", "assistant"], "max_turns": max_turns}])
    run = build_run(cfg, "pair", "what is 2 + 3?", approve=approve, work_dir=tmp_path)
    run.supervisor.add_rule(ApprovalRule(kind=RequestKind.MESSAGE))
    if config_tools is None:
        for fn in (add, weather, explode, mistyped):
            run.agents["assistant"].register_tool(fn, executor=run.agents["user"])
    return run


def assert_valid_sequence(messages: list[dict]) -> None:
    """Every assistant tool call is answered by `tool` messages right after it, none dangling."""
    open_ids: list[str] = []
    for m in messages:
        if m["role"] == "tool":
            assert m["tool_call_id"] in open_ids, f"tool result without a call: {m}"
            open_ids.remove(m["tool_call_id"])
            continue
        assert not open_ids, f"calls {open_ids} unanswered before {m}"
        if m["role"] == "assistant" and m.get("tool_calls"):
            open_ids = [c["id"] for c in m["tool_calls"]]
    assert not open_ids, f"calls {open_ids} never answered"


def tool_messages(server, turn: int) -> list[dict]:
    return [m for m in server.requests_for("assistant")[turn].body["messages"] if m["role"] == "tool"]


def finished(run) -> list:
    return [e.result for e in run.bus.history if isinstance(e, ToolCallFinished)]


# -- tests ---------------------------------------------------------------------------------------


async def test_schema_from_type_hints_and_docstring(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", reply="TERMINATE")])
    await run_to_end(tool_run(make_config, tmp_path, approve="all"))
    tools = {t["function"]["name"]: t for t in server.requests_for("assistant")[0].body["tools"]}
    assert set(tools) == {"add", "weather", "explode", "mistyped"}
    assert tools["add"] == {"type": "function", "function": {
        "name": "add", "description": "Add two integers.",
        "parameters": {"type": "object", "additionalProperties": False, "required": ["a"], "properties": {
            "a": {"type": "integer", "description": "the first number"},
            "b": {"type": "integer", "default": 1, "description": "the second number"}}}}}
    params = tools["weather"]["function"]["parameters"]
    assert tools["weather"]["function"]["description"] == "Look up the weather of a city."
    assert params["properties"]["city"] == {"type": "string", "description": "the city name"}
    assert params["properties"]["units"]["enum"] == ["c", "f"] and params["required"] == ["city"]


async def test_config_tools_are_imported_and_run_by_their_agent(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=[Reply.tool("add", a=2, b=3), "5. TERMINATE"])])
    run = tool_run(make_config, tmp_path, approve="all", config_tools=["test_engine_tools:add"])
    result = await run_to_end(run)
    assert [t["function"]["name"] for t in server.requests_for("assistant")[0].body["tools"]] == ["add"]
    assert [r.content for r in finished(run)] == ["5"]
    assert [m.sender for m in result.chat_history] == ["user", "assistant", "assistant", "assistant"]
    assert_valid_sequence(server.requests_for("assistant")[1].body["messages"])
    assert result.stop_reason == "assistant said TERMINATE"


async def test_sync_and_async_tools_run_after_approval(server, make_config, human, run_to_end, tmp_path):
    calls = Reply(tool_calls=[ToolCall(name="add", arguments={"a": 2, "b": 3}),
                              ToolCall(name="weather", arguments={"city": "Oslo"})])
    server.load([Rule(agent="assistant", replies=[calls, "5 and 21 degrees. TERMINATE"])])
    run = human.attach(tool_run(make_config, tmp_path))
    human.queue(RequestKind.TOOL_CALL, Decision.approve(), Decision.approve())
    result = await run_to_end(run)

    # one request per call, each showing the tool it calls
    assert [r.kind for r in human.seen] == [RequestKind.TOOL_CALL] * 2
    assert {r.agent for r in human.seen} == {"assistant"}
    assert [[(c.name, json.loads(c.arguments)) for c in r.tool_calls] for r in human.seen] == [
        [("add", {"a": 2, "b": 3})], [("weather", {"city": "Oslo"})]]
    assert [(r.tool_info.name, r.tool_info.description) for r in human.seen] == [
        ("add", "Add two integers."), ("weather", "Look up the weather of a city.")]
    assert human.seen[1].tool_info.parameters["required"] == ["city"]
    request_calls = [r.tool_calls[0] for r in human.seen]
    started = [e.call.name for e in run.bus.history if isinstance(e, ToolCallStarted)]
    assert started == ["add", "weather"]
    assert [(r.name, r.content, r.is_error) for r in finished(run)] == [
        ("add", "5", False), ("weather", '{"city": "Oslo", "temp": 21}', False)]
    # the results go back to the caller as `tool` messages answering its calls
    ids = [c.id for c in request_calls]
    assert [(m["tool_call_id"], m["content"]) for m in tool_messages(server, 1)] == [
        (ids[0], "5"), (ids[1], '{"city": "Oslo", "temp": 21}')]
    assert_valid_sequence(server.requests_for("assistant")[1].body["messages"])
    delivered = result.chat_history[2]
    assert delivered.sender == "user" and delivered.recipient == "assistant" and delivered.origin == "tool"


async def test_skip_answers_each_call_without_running_it(server, make_config, human, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=[Reply.tool("add", a=1), "ok TERMINATE"])])
    run = human.attach(tool_run(make_config, tmp_path))
    human.queue(RequestKind.TOOL_CALL, Decision.skip())
    await run_to_end(run)
    assert not any(isinstance(e, ToolCallStarted) for e in run.bus.history)
    # the model reads who chose not to run it ("you" would be the model itself)
    assert [(m["content"]) for m in tool_messages(server, 1)] == ["not run: skipped by the human supervisor"]


async def check_error(server, make_config, run_to_end, tmp_path, reply: Reply, *expected: str) -> str:
    server.load([Rule(agent="assistant", replies=[reply, "sorry. TERMINATE"])])
    run = tool_run(make_config, tmp_path, approve="all")
    result = await run_to_end(run)
    assert result.stop_reason == "assistant said TERMINATE"  # the run went on
    [res] = finished(run)
    assert res.is_error
    [msg] = tool_messages(server, 1)
    assert msg["content"] == res.content
    for text in expected:
        assert text in res.content, res.content
    assert_valid_sequence(server.requests_for("assistant")[1].body["messages"])
    return res.content


async def test_bad_json_arguments_return_an_error(server, make_config, run_to_end, tmp_path):
    await check_error(server, make_config, run_to_end, tmp_path, Reply.tool("add", '{"a": 2,'),
                      "not a valid JSON object")


async def test_non_object_arguments_return_an_error(server, make_config, run_to_end, tmp_path):
    await check_error(server, make_config, run_to_end, tmp_path, Reply.tool("add", "[1, 2]"),
                      "arguments must be a JSON object")


async def test_unknown_tool_returns_an_error(server, make_config, run_to_end, tmp_path):
    await check_error(server, make_config, run_to_end, tmp_path, Reply.tool("subtract", a=1),
                      "unknown tool 'subtract'", "add, explode, mistyped, weather")


async def test_wrong_argument_types_return_an_error(server, make_config, run_to_end, tmp_path):
    await check_error(server, make_config, run_to_end, tmp_path, Reply.tool("add", a="two", b=3),
                      "wrong arguments for add", "a")


async def test_missing_and_extra_arguments_return_an_error(server, make_config, run_to_end, tmp_path):
    await check_error(server, make_config, run_to_end, tmp_path, Reply.tool("add", b=3, c=4),
                      "wrong arguments for add")


async def test_exception_inside_a_tool_returns_an_error(server, make_config, run_to_end, tmp_path):
    await check_error(server, make_config, run_to_end, tmp_path, Reply.tool("explode", reason="x"),
                      "explode raised RuntimeError: boom: x")


async def test_type_error_inside_a_tool_is_not_blamed_on_the_arguments(server, make_config, run_to_end,
                                                                       tmp_path):
    text = await check_error(server, make_config, run_to_end, tmp_path, Reply.tool("mistyped", x=1),
                             "mistyped raised TypeError")
    assert "wrong arguments" not in text


async def test_human_reply_interrupts_pending_calls(server, make_config, human, run_to_end, tmp_path):
    calls = Reply(tool_calls=[ToolCall(name="add", arguments={"a": 1}),
                              ToolCall(name="explode", arguments={"reason": "no"})])
    server.load([Rule(agent="assistant", replies=[calls, "Understood. TERMINATE"])])
    run = human.attach(tool_run(make_config, tmp_path))
    human.queue(RequestKind.TOOL_CALL, Decision.reply("do not call tools, just answer"))
    result = await run_to_end(run)

    assert not any(isinstance(e, ToolCallStarted) for e in run.bus.history)
    assert len(human.seen) == 1  # the reply answered the first call's request: no second is asked
    ids = [c.id for c in result.chat_history[1].tool_calls]
    messages = server.requests_for("assistant")[1].body["messages"]
    assert_valid_sequence(messages)
    assert [(m["tool_call_id"], m["content"]) for m in messages if m["role"] == "tool"] == [
        (ids[0], INTERRUPTED), (ids[1], INTERRUPTED)]
    assert "interrupted by the user" in INTERRUPTED
    assert messages[-1] == {"role": "user", "name": "user", "content": "do not call tools, just answer"}
    assert [m.sender for m in result.chat_history] == ["user", "assistant", "user", "user", "assistant"]
    recorded = [e.decision.kind for e in run.bus.history if isinstance(e, DecisionRecorded)
                and e.request_kind == RequestKind.TOOL_CALL]
    assert recorded == [DecisionKind.REPLY]


async def test_tool_rule_covers_only_its_tool(server, make_config, human, run_to_end, tmp_path):
    both = Reply(tool_calls=[ToolCall(name="add", arguments={"a": 1}),
                             ToolCall(name="weather", arguments={"city": "Rome"})])
    server.load([Rule(agent="assistant", replies=[Reply.tool("add", a=1), both, "TERMINATE"])])
    run = human.attach(tool_run(make_config, tmp_path))
    run.supervisor.add_rule(ApprovalRule(kind=RequestKind.TOOL_CALL, tool="add"))
    human.queue(RequestKind.TOOL_CALL, Decision.approve())
    await run_to_end(run)
    # each call is its own request: the rule answers both calls of add, a person the one of weather
    assert [[c.name for c in r.tool_calls] for r in human.seen] == [["weather"]]
    by = [e.decision.by for e in run.bus.history if isinstance(e, DecisionRecorded)
          and e.request_kind == RequestKind.TOOL_CALL]
    assert by == [DecidedBy.SESSION_RULE, DecidedBy.SESSION_RULE, DecidedBy.HUMAN]


async def test_group_chat_routes_calls_to_the_executor_and_back(server, make_config, run_to_end, tmp_path):
    names = ["user", "coder", "critic"]
    cfg = make_config(
        agents=[{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER"},
                {"name": "coder", "kind": "assistant", "model": "default"},
                {"name": "critic", "kind": "assistant", "model": "default"}],
        teams=[{"name": "crew", "kind": "group_chat", "agents": names, "speaker_selection": "round_robin",
                "max_rounds": 4}])
    server.load([Rule(agent="coder", replies=[Reply.tool("add", a=20, b=22), "it is 42"]),
                 Rule(agent="critic", reply="agreed")])
    run = build_run(cfg, "crew", "2 numbers", approve="all", work_dir=tmp_path)
    run.agents["coder"].register_tool(add, executor=run.agents["user"])
    result = await run_to_end(run)

    assert [m.sender for m in result.chat_history] == ["user", "coder", "user", "coder", "critic"]
    selected = [(e.agent, e.method) for e in run.bus.history if isinstance(e, SpeakerSelected)]
    assert selected == [("coder", "round_robin"), ("user", "forced"), ("coder", "forced"),
                        ("critic", "round_robin")]
    assert_valid_sequence(server.requests_for("coder")[1].body["messages"])
    critic_view = server.requests_for("critic")[0].body["messages"]
    assert all(m["role"] != "tool" and "tool_calls" not in m for m in critic_view)
    assert any("[tool add returned] 42" in (m.get("content") or "") for m in critic_view)


async def test_unknown_call_beside_a_known_one_is_answered_too(server, make_config, run_to_end, tmp_path):
    mixed = Reply(tool_calls=[ToolCall(name="add", arguments={"a": 1}),
                              ToolCall(name="subtract", arguments={"a": 1})])
    server.load([Rule(agent="assistant", replies=[mixed, "TERMINATE"])])
    run = tool_run(make_config, tmp_path, approve="all")
    await run_to_end(run)
    assert [(r.name, r.is_error) for r in finished(run)] == [("add", False), ("subtract", True)]
    messages = server.requests_for("assistant")[1].body["messages"]
    assert_valid_sequence(messages)
    assert len([m for m in messages if m["role"] == "tool"]) == 2
    assert len(messages[-3]["tool_calls"]) == 2  # neither call was dropped from the history


async def test_reply_to_an_agent_running_its_own_tools_reaches_it_as_the_human(server, make_config, human,
                                                                              run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=[Reply.tool("add", a=1), "Fine, no tools. TERMINATE"])])
    run = human.attach(tool_run(make_config, tmp_path, config_tools=["test_engine_tools:add"]))
    human.queue(RequestKind.TOOL_CALL, Decision.reply("no tools please"))
    result = await run_to_end(run)

    said = result.chat_history[3]
    assert (said.sender, said.origin, said.content, said.recipient) == ("human", "human", "no tools please",
                                                                        "assistant")
    messages = server.requests_for("assistant")[1].body["messages"]
    assert_valid_sequence(messages)
    assert messages[-1] == {"role": "user", "name": "human", "content": "no tools please"}
    assert {"role": "assistant", "content": "no tools please"} not in messages
    assert [m.sender for m in result.chat_history] == ["user", "assistant", "assistant", "human", "assistant"]


async def test_a_speaker_picked_while_calls_are_pending_speaks_after_them(server, make_config, run_to_end,
                                                                          tmp_path):
    names = ["user", "coder", "critic"]
    cfg = make_config(
        agents=[{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER"},
                {"name": "coder", "kind": "assistant", "model": "default"},
                {"name": "critic", "kind": "assistant", "model": "default"}],
        teams=[{"name": "crew", "kind": "group_chat", "agents": names, "speaker_selection": "round_robin",
                "max_rounds": 4}])
    server.load([Rule(agent="coder", replies=[Reply.tool("add", a=20, b=22), "it is 42"]),
                 Rule(agent="critic", reply="agreed")])
    run = build_run(cfg, "crew", "2 numbers", approve="all", work_dir=tmp_path)
    run.agents["coder"].register_tool(add, executor=run.agents["user"])

    def pick_critic(event):
        if event.type == "message_delivered" and event.message.tool_calls:
            run.set_next_speaker("critic")  # while the call is still pending

    run.bus.subscribe(pick_critic)
    result = await run_to_end(run)

    selected = [(e.agent, e.method, e.note) for e in run.bus.history if isinstance(e, SpeakerSelected)]
    assert selected[1] == ("user", "forced", "runs the pending tool calls")
    assert selected[2][:2] == ("coder", "forced")  # the caller reads its results first
    assert selected[3] == ("critic", "forced", "picked by you")
    assert [m.sender for m in result.chat_history] == ["user", "coder", "user", "coder", "critic"]
    assert_valid_sequence(server.requests_for("coder")[1].body["messages"])


async def test_a_message_injected_now_during_a_tool_approval_keeps_the_sequence_valid(
        server, make_config, human, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=[Reply.tool("add", a=1), "2. TERMINATE"])])
    run = human.attach(tool_run(make_config, tmp_path))

    def inject_then_approve(request):
        run.inject("use small numbers", target="assistant", now=True)
        return Decision.approve()

    human.queue(RequestKind.TOOL_CALL, inject_then_approve)
    result = await run_to_end(run)

    kinds = [("tool" if m.tool_results else m.sender) for m in result.chat_history]
    assert kinds.index("human") < kinds.index("tool")  # the note landed between call and result
    messages = server.requests_for("assistant")[1].body["messages"]
    assert_valid_sequence(messages)
    assert messages[-1]["role"] == "user" and messages[-1]["content"] == "use small numbers"


async def test_calls_for_two_executors_are_each_answered(server, make_config, run_to_end, tmp_path):
    names = ["user", "coder", "critic"]
    cfg = make_config(
        agents=[{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER"},
                {"name": "coder", "kind": "assistant", "model": "default"},
                {"name": "critic", "kind": "assistant", "model": "default"}],
        teams=[{"name": "crew", "kind": "group_chat", "agents": names, "speaker_selection": "round_robin",
                "max_rounds": 4}])
    both = Reply(tool_calls=[ToolCall(name="add", arguments={"a": 1, "b": 2}),
                             ToolCall(name="weather", arguments={"city": "Oslo"})])
    server.load([Rule(agent="coder", replies=[both, "3, and Oslo is mild. TERMINATE"])])
    run = build_run(cfg, "crew", "two tools", approve="all", work_dir=tmp_path)
    run.agents["coder"].register_tool(add, executor=run.agents["user"])
    run.agents["coder"].register_tool(weather, executor=run.agents["critic"])
    result = await run_to_end(run)

    assert [m.sender for m in result.chat_history] == ["user", "coder", "user", "critic", "coder"]
    answered = [(r.name, r.is_error) for m in result.chat_history for r in m.tool_results]
    assert answered == [("add", False), ("weather", False)]
    messages = server.requests_for("coder")[1].body["messages"]
    assert_valid_sequence(messages)
    assert [m["content"] for m in messages if m["role"] == "tool"] == ["3", '{"city": "Oslo", "temp": 21}']
