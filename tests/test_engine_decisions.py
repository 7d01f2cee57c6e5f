"""Every decision kind on a drafted MESSAGE, invalid decisions, and the run's human controls
(inject), checked against what the scripted server received."""

from __future__ import annotations

import asyncio

import pytest

from tuiagents.engine.decisions import DecidedBy, Decision, DecisionKind, RequestKind, Scope
from tuiagents.engine.events import DecisionRecorded, MessageDrafted, Notice, StopKind
from tuiagents.engine.factory import build_run
from tuiagents.testing import Rule

USER = {"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER", "default_auto_reply": "go on"}
ASSISTANT = {"name": "assistant", "kind": "assistant", "model": "default"}


def pair_run(make_config, tmp_path, max_turns: int = 1):
    cfg = make_config(agents=[USER, ASSISTANT],
                      teams=[{"name": "pair", "agents": ["user", "assistant"], "max_turns": max_turns}])
    return build_run(cfg, "pair", "the task", approve="ask", work_dir=tmp_path)


def recorded(run) -> list[DecisionRecorded]:
    return [e for e in run.bus.history if isinstance(e, DecisionRecorded)]


def warnings(run) -> list[str]:
    return [e.text for e in run.bus.history if isinstance(e, Notice) and e.level == "warning"]


def contents(result) -> list[tuple[str, str]]:
    return [(m.sender, m.content) for m in result.chat_history]


async def test_approve_delivers_the_draft_as_is(server, make_config, human, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", reply="the draft")])
    run = human.attach(pair_run(make_config, tmp_path))
    human.queue(RequestKind.MESSAGE, Decision.approve())
    result = await run_to_end(run)

    request = human.seen[0]
    assert (request.kind, request.agent, request.content) == (RequestKind.MESSAGE, "assistant", "the draft")
    assert DecisionKind.EDIT in request.allowed and DecisionKind.CHOOSE_SPEAKER not in request.allowed
    assert contents(result)[-1] == ("assistant", "the draft")
    assert not result.chat_history[-1].human_edited
    [rec] = recorded(run)
    assert rec.request_id == request.id and rec.decision.by == DecidedBy.HUMAN
    assert rec.decision.kind == DecisionKind.APPROVE
    # the draft was announced before the question
    drafted = [e for e in run.bus.history if isinstance(e, MessageDrafted)]
    assert drafted[0].content == "the draft" and drafted[0].seq < rec.seq


async def test_approve_for_the_session_covers_later_drafts(server, make_config, human, run_to_end, tmp_path):
    server.load([Rule(agent=n, reply=f"{n} speaks") for n in ("alice", "bob")])
    cfg = make_config(agents=[{"name": n, "kind": "assistant", "model": "default"} for n in ("alice", "bob")],
                      teams=[{"name": "duo", "agents": ["alice", "bob"], "max_turns": 3}])
    run = human.attach(build_run(cfg, "duo", "talk", approve="ask", work_dir=tmp_path))
    human.queue(RequestKind.MESSAGE, Decision.approve(scope=Scope.SESSION))  # bob's first draft
    human.default = Decision.approve()  # alice's drafts: the session rule is bob's only
    result = await run_to_end(run)

    assert len(result.chat_history) == 6
    by = [(e.agent, e.decision.by) for e in recorded(run)]
    assert by == [("bob", DecidedBy.HUMAN), ("alice", DecidedBy.HUMAN), ("bob", DecidedBy.SESSION_RULE),
                  ("alice", DecidedBy.HUMAN), ("bob", DecidedBy.SESSION_RULE)]
    assert [r.agent for r in human.seen] == ["bob", "alice", "alice"]
    infos = [e.text for e in run.bus.history if isinstance(e, Notice)]
    assert "approved for this session: messages from bob" in infos


async def test_edit_is_delivered_marked_with_the_original(server, make_config, human, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=["rough draft", "second"])])
    run = human.attach(pair_run(make_config, tmp_path, max_turns=2))
    human.queue(RequestKind.MESSAGE, Decision.edit("polished text"), Decision.approve())
    result = await run_to_end(run)

    edited = result.chat_history[1]
    assert (edited.sender, edited.content) == ("assistant", "polished text")
    assert edited.human_edited and edited.original == "rough draft"
    # the agent's own history now holds the edited text, not its draft
    history = server.requests_for("assistant")[1].body["messages"]
    assert {"role": "assistant", "content": "polished text"} in history
    assert all(m.get("content") != "rough draft" for m in history)
    assert recorded(run)[0].decision.kind == DecisionKind.EDIT


async def test_reject_sends_feedback_and_a_new_draft_arrives(server, make_config, human, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=["bad draft", "better draft"])])
    run = human.attach(pair_run(make_config, tmp_path))
    human.queue(RequestKind.MESSAGE, Decision.reject("use fewer words"), Decision.approve())
    result = await run_to_end(run)

    assert [r.content for r in human.seen] == ["bad draft", "better draft"]
    retry = server.requests_for("assistant")[1].body["messages"]
    assert retry[-2] == {"role": "assistant", "content": "bad draft"}
    assert retry[-1]["role"] == "user" and "use fewer words" in retry[-1]["content"]
    assert contents(result) == [("user", "the task"), ("assistant", "better draft")]
    assert [e.decision.kind for e in recorded(run)] == [DecisionKind.REJECT, DecisionKind.APPROVE]


async def test_inject_now_is_delivered_before_a_new_draft(server, make_config, human, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=["first draft", "redrafted"])])
    run = human.attach(pair_run(make_config, tmp_path))
    human.queue(RequestKind.MESSAGE, Decision.inject("also handle negatives", now=True), Decision.approve())
    result = await run_to_end(run)

    assert contents(result) == [("user", "the task"), ("human", "also handle negatives"),
                                ("assistant", "redrafted")]
    assert result.chat_history[1].origin == "human"
    redraft = server.requests_for("assistant")[1].body["messages"]
    assert redraft[-1] == {"role": "user", "name": "human", "content": "also handle negatives"}
    assert all(m.get("content") != "first draft" for m in redraft)


async def test_inject_next_turn_comes_after_the_draft(server, make_config, human, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=["first draft", "second"])])
    run = human.attach(pair_run(make_config, tmp_path, max_turns=2))
    human.queue(RequestKind.MESSAGE, Decision.inject("check the edge cases", target="assistant"),
                Decision.approve())
    result = await run_to_end(run)

    assert contents(result)[:4] == [("user", "the task"), ("assistant", "first draft"),
                                    ("human", "check the edge cases"), ("user", "go on")]
    assert result.chat_history[2].recipient == "assistant"
    later = server.requests_for("assistant")[1].body["messages"]
    assert {"role": "user", "name": "human", "content": "check the edge cases"} in later


async def test_stop_decision_ends_the_run(server, make_config, human, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", reply="draft")])
    run = human.attach(pair_run(make_config, tmp_path, max_turns=5))
    human.queue(RequestKind.MESSAGE, Decision.stop())
    result = await run_to_end(run)
    assert (result.stop_kind, result.stop_reason) == (StopKind.STOPPED_BY_USER, "stopped by you")
    assert contents(result) == [("user", "the task")]
    assert recorded(run)[-1].decision.kind == DecisionKind.STOP


@pytest.mark.parametrize("bad, complaint", [
    (Decision.edit("   "), "an empty edit has nothing to send"),
    (Decision.reject(""), "an empty reject has nothing to send"),
    (Decision.choose("user"), "choose_speaker does not answer a message request"),
    (Decision.skip(), "skip does not answer a message request"),
    (Decision.inject("psst", target="ghost"), "no agent named 'ghost' to send the message to"),
])
async def test_invalid_decision_is_asked_again(server, make_config, human, run_to_end, tmp_path, bad, complaint):
    server.load([Rule(agent="assistant", reply="draft")])
    run = human.attach(pair_run(make_config, tmp_path))
    human.queue(RequestKind.MESSAGE, bad, Decision.approve())
    result = await run_to_end(run)

    assert len(human.seen) == 2 and human.seen[0].id == human.seen[1].id
    assert any(complaint in w for w in warnings(run)), warnings(run)
    assert contents(result)[-1] == ("assistant", "draft")
    assert [e.decision.kind for e in recorded(run)] == [DecisionKind.APPROVE]  # only the valid one
    assert len(server.requests_for("assistant")) == 1  # no new model call for a bad answer


async def test_run_inject_queued_and_now(server, make_config, human, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=["one", "two"])])
    run = human.attach(pair_run(make_config, tmp_path, max_turns=2))

    async def approve_and_inject(request):
        if request.content == "one":  # the person types two notes, then approves the draft
            run.inject("queued note")
            run.inject("urgent note", now=True)
            await asyncio.sleep(0.01)
        return Decision.approve()

    human.default = approve_and_inject
    result = await run_to_end(run)
    assert contents(result) == [("user", "the task"), ("human", "urgent note"), ("assistant", "one"),
                                ("human", "queued note"), ("user", "go on"), ("assistant", "two")]


async def test_run_inject_rejects_bad_input(server, make_config, tmp_path):
    run = pair_run(make_config, tmp_path)
    with pytest.raises(ValueError, match="empty"):
        run.inject("  ")
    with pytest.raises(ValueError, match="no agent named 'ghost'"):
        run.inject("hello", target="ghost")
    with pytest.raises(ValueError, match="no agent named 'ghost'"):
        run.set_next_speaker("ghost")
    await run.aclose()


def test_who_decided_reads_the_same_on_screen_in_exports_and_to_agents():
    assert [b.words() for b in DecidedBy] == ["you", "session rule", "policy"]
    assert DecidedBy.HUMAN.words(human="human") == "human"  # an export is read by others
    assert DecidedBy.SESSION_RULE.words(article=True) == "a session rule"  # a sentence an agent reads
    assert Decision.skip(by=DecidedBy.POLICY).describe() == "skipped (by policy)"
