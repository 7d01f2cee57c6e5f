"""One decision per tool call, against the scripted server: skip one call and run the other, edit a
call's arguments (checked against the tool's schema; the log keeps both), and approve a tool for
the session without approving another tool of the same agent (also after a resume)."""

from __future__ import annotations

import json

from test_engine_tools import add, assert_valid_sequence, finished, tool_messages, tool_run

from tuiagents.engine.decisions import DecidedBy, Decision, DecisionKind, RequestKind, Scope
from tuiagents.engine.events import DecisionRecorded, Notice, ToolCallStarted, parse_event
from tuiagents.engine.restore import restore_state
from tuiagents.engine.tools import INTERRUPTED
from tuiagents.engine.tool_args import arguments_diff, arguments_problem, parameters_summary
from tuiagents.testing import Reply, Rule, ToolCall

DELETED: list[str] = []


def delete_file(path: str) -> str:
    """Delete a file of the workspace."""
    DELETED.append(path)
    return f"deleted {path}"


def recorded(run) -> list[DecisionRecorded]:
    return [e for e in run.bus.history if isinstance(e, DecisionRecorded) and e.request_kind == RequestKind.TOOL_CALL]


def with_delete(run):
    run.agents["assistant"].register_tool(delete_file, executor=run.agents["user"])
    return run


async def test_skipping_one_call_runs_the_other_and_tells_the_model(server, make_config, human, run_to_end,
                                                                   tmp_path):
    DELETED.clear()
    both = Reply(tool_calls=[ToolCall(name="delete_file", arguments={"path": "notes.txt"}),
                             ToolCall(name="add", arguments={"a": 2, "b": 3})])
    server.load([Rule(agent="assistant", replies=[both, "5, and nothing deleted. TERMINATE"])])
    run = with_delete(human.attach(tool_run(make_config, tmp_path)))
    human.queue(RequestKind.TOOL_CALL, Decision.skip(), Decision.approve())
    await run_to_end(run)

    assert [[c.name for c in r.tool_calls] for r in human.seen] == [["delete_file"], ["add"]]
    assert "(call 1 of 2)" in human.seen[0].prompt and "(call 2 of 2)" in human.seen[1].prompt
    assert DELETED == []
    assert [e.call.name for e in run.bus.history if isinstance(e, ToolCallStarted)] == ["add"]
    assert [(m["content"]) for m in tool_messages(server, 1)] == [
        "not run: skipped by the human supervisor", "5"]
    assert [e.decision.kind for e in recorded(run)] == [DecisionKind.SKIP, DecisionKind.APPROVE]
    assert_valid_sequence(server.requests_for("assistant")[1].body["messages"])


async def test_approve_for_session_covers_only_that_tool(server, make_config, human, run_to_end, tmp_path):
    DELETED.clear()
    again = Reply(tool_calls=[ToolCall(name="add", arguments={"a": 1, "b": 1}),
                              ToolCall(name="delete_file", arguments={"path": "main.py"})])
    server.load([Rule(agent="assistant", replies=[Reply.tool("add", a=2, b=2), again, "TERMINATE"])])
    run = with_delete(human.attach(tool_run(make_config, tmp_path)))
    human.queue(RequestKind.TOOL_CALL, Decision.approve(scope=Scope.SESSION), Decision.skip())
    await run_to_end(run)

    # add was asked once; its second call ran under the rule; delete_file was still asked
    assert [[c.name for c in r.tool_calls] for r in human.seen] == [["add"], ["delete_file"]]
    assert DELETED == []
    decisions = recorded(run)
    assert [(e.decision.kind, e.decision.by) for e in decisions] == [
        (DecisionKind.APPROVE, DecidedBy.HUMAN), (DecisionKind.APPROVE, DecidedBy.SESSION_RULE),
        (DecisionKind.SKIP, DecidedBy.HUMAN)]
    rule = decisions[0].decision.rule
    assert (rule.kind, rule.agent, rule.tool) == (RequestKind.TOOL_CALL, "assistant", "add")
    assert any(isinstance(e, Notice) and e.text == "approved for this session: tool add from assistant"
               for e in run.bus.history)
    assert [r.content for r in finished(run)] == ["4", "2", "not run: skipped by the human supervisor"]

    # a run resumed from these events holds the same per-tool rule, not one for every tool
    server.load([Rule(agent="assistant", reply="TERMINATE")])
    resumed = tool_run(make_config, tmp_path)
    restore_state(resumed, list(run.bus.history))
    assert [(r.kind, r.agent, r.tool) for r in resumed.supervisor.rules if r.kind == RequestKind.TOOL_CALL] == [
        (RequestKind.TOOL_CALL, "assistant", "add")]
    await resumed.aclose()


async def test_edited_arguments_run_and_the_log_keeps_both(server, make_config, human, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=[Reply.tool("add", a=2, b=3), "11. TERMINATE"])])
    run = human.attach(tool_run(make_config, tmp_path))
    human.queue(RequestKind.TOOL_CALL, Decision.edit('{"a": 5, "b": 6}'))
    await run_to_end(run)

    [started] = [e for e in run.bus.history if isinstance(e, ToolCallStarted)]
    assert json.loads(started.call.arguments) == {"a": 5, "b": 6}
    assert json.loads(started.original_arguments) == {"a": 2, "b": 3}
    [result] = finished(run)
    assert result.content.endswith("\n11") and not result.is_error
    # the model is told its arguments were changed, and to what
    [told] = tool_messages(server, 1)
    assert told["content"] == ('[run with arguments edited by the human supervisor: {"a": 5, "b": 6}]\n11')
    [decision] = recorded(run)
    assert decision.decision.kind == DecisionKind.EDIT
    assert json.loads(decision.decision.original) == {"a": 2, "b": 3}
    assert json.loads(decision.decision.content) == {"a": 5, "b": 6}
    assert decision.decision.describe() == 'edited the arguments {"a": 2, "b": 3} → {"a": 5, "b": 6} (by you)'
    # both survive a round trip through the log's JSON form
    back = parse_event(decision.model_dump_json())
    assert (back.decision.original, back.decision.content) == (decision.decision.original, decision.decision.content)
    assert parse_event(started.model_dump_json()).original_arguments == started.original_arguments


async def test_an_edit_against_the_schema_is_refused_and_asked_again(server, make_config, human, run_to_end,
                                                                      tmp_path):
    server.load([Rule(agent="assistant", replies=[Reply.tool("add", a=2, b=3), "9. TERMINATE"])])
    run = human.attach(tool_run(make_config, tmp_path))
    human.queue(RequestKind.TOOL_CALL, Decision.edit('{"a": "four"}'), Decision.edit('{"a": 4, '),
                Decision.edit('{"a": 2, "b": 3}'), Decision.edit('{"a": 4, "b": 5}'))
    await run_to_end(run)

    notices = [e.text for e in run.bus.history if isinstance(e, Notice) and e.level == "warning"]
    assert notices[0] == ("edit of add's arguments not sent: the arguments do not fit add's schema: "
                          "a: 'four' is not of type 'integer'")
    assert notices[1].startswith("edit of add's arguments not sent: not valid JSON:")
    assert notices[2] == ("edit of add's arguments not sent: the arguments are unchanged; "
                          "approve the call as it is instead")
    assert len(human.seen) == 4  # the same request, asked again after each refused edit
    assert len({r.id for r in human.seen}) == 1
    assert [r.content for r in finished(run)][0].endswith("\n9")


async def test_a_reply_after_one_call_ran_keeps_its_result_and_interrupts_the_rest(server, make_config, human,
                                                                                run_to_end, tmp_path):
    DELETED.clear()
    three = Reply(tool_calls=[ToolCall(name="add", arguments={"a": 1, "b": 1}),
                              ToolCall(name="delete_file", arguments={"path": "a.txt"}),
                              ToolCall(name="add", arguments={"a": 2, "b": 2})])
    server.load([Rule(agent="assistant", replies=[three, "Understood. TERMINATE"])])
    run = with_delete(human.attach(tool_run(make_config, tmp_path)))
    human.queue(RequestKind.TOOL_CALL, Decision.approve(), Decision.reply("do not delete anything"))
    await run_to_end(run)

    assert len(human.seen) == 2 and DELETED == []  # the third call was never asked about
    messages = server.requests_for("assistant")[1].body["messages"]
    assert_valid_sequence(messages)
    assert [m["content"] for m in messages if m["role"] == "tool"] == ["2", INTERRUPTED, INTERRUPTED]
    assert messages[-1] == {"role": "user", "name": "user", "content": "do not delete anything"}


async def test_approve_none_skips_each_call_saying_a_policy_did(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=[Reply.tool("add", a=1), "ok TERMINATE"])])
    run = tool_run(make_config, tmp_path, approve="none")
    await run_to_end(run)
    assert [m["content"] for m in tool_messages(server, 1)] == ["not run: skipped by policy"]


def test_argument_problems_say_what_to_fix():
    schema = {"type": "object", "additionalProperties": False, "required": ["a"],
              "properties": {"a": {"type": "integer", "description": "the first number"},
                             "b": {"type": "integer", "default": 1}}}
    assert arguments_problem('{"a": 1}', schema, "add") is None
    assert arguments_problem('[1]', schema, "add") == (
        'the arguments must be a JSON object, {"name": value, ...}, not a list')
    assert arguments_problem('{"b": 2, "c": 3}', schema, "add") == (
        "the arguments do not fit add's schema: 'a' is a required property; "
        "Additional properties are not allowed ('c' was unexpected)")
    assert arguments_problem("{'a': 1}", schema, "add").startswith("not valid JSON: Expecting property name")
    # what JSON itself does not allow is refused too, not quietly sent as null or cut to one key
    assert arguments_problem('{"a": NaN}', None, "add") == "NaN is not JSON (no tool can be sent it); write a number or null"
    assert arguments_problem('{"a": [1, {"c": -Infinity}]}', None, "add").startswith("-Infinity is not JSON")
    assert arguments_problem('{"a": 1e999}', None, "add").startswith("a number too large for JSON")
    assert arguments_problem('{"a": 1, "b": 2, "b": 3}', schema, "add") == "'b' given twice; keep one"
    assert arguments_problem('{"a": 1, "b": 15e2}', None, "add") is None
    # a schema that is itself broken does not block an edit: the call's own check still applies
    assert arguments_problem('{"a": 1}', {"type": "no such type"}, "odd") is None
    assert parameters_summary(schema) == ["a: integer, required — the first number", "b: integer, default 1"]
    assert arguments_diff('{"a": 1, "b": 2}', '{"a": 1, "b": 3}') == [
        "@@ -1,4 +1,4 @@", " {", '   "a": 1,', '-  "b": 2', '+  "b": 3', " }"]


def test_add_is_importable_for_config_tools():
    assert add(1, 2) == 3
