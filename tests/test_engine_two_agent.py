"""Two-agent chats through the real engine, LLM client and scripted server: task, turns, stop
reasons, human input modes and auto-reply limits."""

from __future__ import annotations

import pytest

from tuiagents.engine.decisions import ApprovalRule, DecidedBy, Decision, RequestKind
from tuiagents.engine.events import DecisionRecorded, RunStopped, StopKind
from tuiagents.engine.factory import build_run
from tuiagents.testing import Rule

USER = {"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER"}
ASSISTANT = {"name": "assistant", "kind": "assistant", "model": "default"}


def pair(user: dict | None = None, assistant: dict | None = None, **team) -> dict:
    """A config section set for a user/assistant pair."""
    return {"agents": [{**USER, **(user or {})}, {**ASSISTANT, **(assistant or {})}],
            "teams": [{"name": "pair", "agents": ["user", "assistant"], **team}]}


def asking(cfg, task: str, tmp_path, human):
    """A run where the human is asked for input but the assistant's drafts are approved by a rule."""
    run = build_run(cfg, "pair", task, approve="ask", work_dir=tmp_path)
    run.supervisor.add_rule(ApprovalRule(kind=RequestKind.MESSAGE, agent="assistant"))
    return human.attach(run)


def senders(result) -> list[str]:
    return [m.sender for m in result.chat_history]


async def test_task_is_delivered_by_the_first_agent(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", reply="Done. TERMINATE")])
    run = build_run(make_config(**pair()), "pair", "add 2 and 2", approve="all", work_dir=tmp_path)
    result = await run_to_end(run)

    first = result.chat_history[0]
    assert (first.sender, first.content) == ("user", "add 2 and 2")
    request = server.requests_for("assistant")[0].body["messages"]
    assert request[0]["role"] == "system"
    assert request[-1] == {"role": "user", "name": "user", "content": "add 2 and 2"}
    assert run.bus.history[0].type == "run_started" and run.bus.history[0].task == "add 2 and 2"


async def test_max_turns_stop_reason(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", reply="still working")])
    cfg = make_config(**pair(user={"default_auto_reply": "go on"}, max_turns=3))
    result = await run_to_end(build_run(cfg, "pair", "count", approve="all", work_dir=tmp_path))

    assert result.stop_kind == StopKind.MAX_TURNS
    assert result.stop_reason == "max turns 3 reached"
    # three turns each: the task, then alternating replies
    assert senders(result) == ["user", "assistant"] * 3
    assert len(server.requests_for("assistant")) == 3


@pytest.mark.parametrize("last", ["TERMINATE", "The sum is 4.\nTERMINATE", "  TERMINATE \n"])
async def test_termination_message_exact_and_trailing(server, make_config, run_to_end, tmp_path, last):
    server.load([Rule(agent="assistant", replies=["thinking", last])])
    cfg = make_config(**pair(user={"default_auto_reply": "go on"}, max_turns=10))
    result = await run_to_end(build_run(cfg, "pair", "sum", approve="all", work_dir=tmp_path))

    assert result.stop_kind == StopKind.TERMINATION_MESSAGE
    assert result.stop_reason == "assistant said TERMINATE"
    assert result.chat_history[-1].content == last
    assert len(result.chat_history) == 4


async def test_terminate_inside_a_sentence_does_not_stop(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", reply="I will not TERMINATE yet, more to do.")])
    cfg = make_config(**pair(user={"default_auto_reply": "go on"}, max_turns=2))
    result = await run_to_end(build_run(cfg, "pair", "sum", approve="all", work_dir=tmp_path))
    assert result.stop_reason == "max turns 2 reached"


async def test_custom_termination_keyword(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=["TERMINATE", "all good, DONE"])])
    cfg = make_config(**pair(user={"default_auto_reply": "go on", "is_termination_msg": "DONE"},
                             max_turns=5))
    result = await run_to_end(build_run(cfg, "pair", "x", approve="all", work_dir=tmp_path))
    assert result.stop_reason == "assistant said DONE"
    assert len(result.chat_history) == 4  # "TERMINATE" alone did not stop this user


async def test_no_reply_when_the_user_proxy_has_nothing_to_say(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", reply="What next?")])
    result = await run_to_end(build_run(make_config(**pair()), "pair", "x", approve="all", work_dir=tmp_path))

    assert result.stop_kind == StopKind.NO_REPLY
    assert result.stop_reason.startswith("user had nothing to reply")
    assert senders(result) == ["user", "assistant"]


# -- human input modes ------------------------------------------------------------------------


async def test_always_asks_the_human_every_turn(server, make_config, human, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=["first answer", "second answer", "TERMINATE"])])
    cfg = make_config(**pair(user={"human_input_mode": "ALWAYS"}, max_turns=10))
    human.queue(RequestKind.HUMAN_INPUT, Decision.reply("try again"), Decision.reply("once more"),
                Decision.approve())  # the third time: end on the termination message
    result = await run_to_end(asking(cfg, "task", tmp_path, human))

    assert [r.agent for r in human.seen] == ["user"] * 3
    assert [m.content for m in result.chat_history] == [
        "task", "first answer", "try again", "second answer", "once more", "TERMINATE"]
    replies = [m for m in result.chat_history if m.content in ("try again", "once more")]
    assert all(m.sender == "user" and m.origin == "human" for m in replies)
    # the last request was the "assistant said TERMINATE" question, approved: the run ends
    assert "said TERMINATE" in human.seen[-1].prompt
    assert result.stop_reason == "assistant said TERMINATE"
    assert not human.unanswered


async def test_always_approve_then_auto_reply(server, make_config, human, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", reply="hello")])
    cfg = make_config(**pair(user={"human_input_mode": "ALWAYS", "default_auto_reply": "auto"},
                             max_turns=2))
    human.queue(RequestKind.HUMAN_INPUT, Decision.approve())
    result = await run_to_end(asking(cfg, "t", tmp_path, human))
    assert [(m.sender, m.content) for m in result.chat_history] == [
        ("user", "t"), ("assistant", "hello"), ("user", "auto"), ("assistant", "hello")]
    assert len(human.of_kind(RequestKind.HUMAN_INPUT)) == 1
    assert result.stop_reason == "max turns 2 reached"


async def test_terminate_mode_asks_only_at_the_end(server, make_config, human, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=["step one", "step two", "TERMINATE", "really done TERMINATE"])])
    cfg = make_config(**pair(user={"human_input_mode": "TERMINATE", "default_auto_reply": "continue"},
                             max_turns=10))
    human.queue(RequestKind.HUMAN_INPUT, Decision.reply("one more thing"), Decision.approve())
    result = await run_to_end(asking(cfg, "t", tmp_path, human))

    # no question while the assistant works; one at each TERMINATE
    assert len(human.seen) == 2
    assert all("said TERMINATE" in r.prompt for r in human.seen)
    assert [m.content for m in result.chat_history] == [
        "t", "step one", "continue", "step two", "continue", "TERMINATE", "one more thing",
        "really done TERMINATE"]
    assert result.stop_reason == "assistant said TERMINATE"


async def test_terminate_mode_asks_when_auto_replies_run_out(server, make_config, human, run_to_end,
                                                            tmp_path):
    server.load([Rule(agent="assistant", reply="working")])
    cfg = make_config(**pair(user={"human_input_mode": "TERMINATE", "default_auto_reply": "continue",
                                   "max_consecutive_auto_reply": 2}, max_turns=9))
    human.queue(RequestKind.HUMAN_INPUT, Decision.reply("human speaks"), Decision.stop())
    result = await run_to_end(asking(cfg, "t", tmp_path, human))

    user_msgs = [m.content for m in result.chat_history if m.sender == "user"]
    # two auto replies, then the human; the counter restarts after a human reply
    assert user_msgs == ["t", "continue", "continue", "human speaks", "continue", "continue"]
    assert len(human.seen) == 2
    assert result.stop_kind == StopKind.STOPPED_BY_USER and result.stop_reason == "stopped by you"


async def test_never_mode_stops_at_the_auto_reply_limit(server, make_config, human, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", reply="working")])
    cfg = make_config(**pair(user={"default_auto_reply": "continue", "max_consecutive_auto_reply": 2},
                             max_turns=10))
    result = await run_to_end(asking(cfg, "t", tmp_path, human))

    assert human.seen == []  # NEVER: nobody is asked
    assert result.stop_kind == StopKind.NO_REPLY
    assert result.stop_reason == "user reached its limit of 2 consecutive auto replies"
    assert [m.content for m in result.chat_history if m.sender == "user"] == ["t", "continue", "continue"]


async def test_never_mode_ends_on_termination_without_asking(server, make_config, human, run_to_end,
                                                             tmp_path):
    server.load([Rule(agent="assistant", reply="TERMINATE")])
    run = human.attach(build_run(make_config(**pair()), "pair", "t", approve="ask", work_dir=tmp_path))
    human.queue(RequestKind.MESSAGE, Decision.approve())
    result = await run_to_end(run)
    assert [r.kind for r in human.seen] == [RequestKind.MESSAGE]
    assert result.stop_reason == "assistant said TERMINATE"
    stopped = run.bus.history[-1]
    assert isinstance(stopped, RunStopped) and stopped.kind == StopKind.TERMINATION_MESSAGE


async def test_approve_all_records_policy_decisions(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", reply="TERMINATE")])
    run = build_run(make_config(**pair()), "pair", "t", approve="all", work_dir=tmp_path)
    await run_to_end(run)
    recorded = [e for e in run.bus.history if isinstance(e, DecisionRecorded)]
    assert len(recorded) == 1
    assert recorded[0].decision.by == DecidedBy.POLICY and recorded[0].decision.note == "--approve all"


async def test_auto_reply_limit_of_an_llm_agent(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", reply="working")])
    cfg = make_config(**pair(user={"default_auto_reply": "go on"},
                             assistant={"max_consecutive_auto_reply": 2}, max_turns=10))
    result = await run_to_end(build_run(cfg, "pair", "t", approve="all", work_dir=tmp_path))
    assert result.stop_reason == "assistant reached its limit of 2 consecutive auto replies"
    assert len(server.requests_for("assistant")) == 2


async def test_set_next_speaker_in_a_two_agent_chat(server, make_config, human, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=["part one", "part two", "TERMINATE"])])
    run = asking(make_config(**pair(user={"default_auto_reply": "go on"}, max_turns=5)), "t", tmp_path, human)

    def on_event(event):
        if getattr(event, "message", None) is not None and event.message.content == "part one":
            run.set_next_speaker("assistant")  # let it continue without the user's turn

    run.bus.subscribe(on_event)
    result = await run_to_end(run)
    assert [m.content for m in result.chat_history] == ["t", "part one", "part two", "go on", "TERMINATE"]
