"""RunView, the one fold of the event stream: every event type handled, state keyed by ids."""

from __future__ import annotations

import typing

from tuiagents.engine.decisions import CodeSnippet, DecidedBy, Decision, DecisionRequest, RequestKind
from tuiagents.engine.events import (
    AgentInfo, CodeProposed, DecisionRecorded, DecisionRequested, DraftDiscarded, Event, ExecutionFinished,
    ExecutionOutput, ExecutionStarted, MessageDelivered, MessageDrafted, MessageQueued, NextSpeakerForced,
    RunPaused, RunResumed, RunStarted, RunStopped, StopKind, StopRequested, TokenDelta, TurnStarted,
    UsageRecorded,
)
from tuiagents.engine.messages import Message
from tuiagents.engine.view import AgentState, EntryStatus, RunView, fold, handled_event_types


def numbered(events):
    for i, e in enumerate(events, 1):
        e.seq = i
    return events


def start(kind="two_agent"):
    return RunStarted(run_id="r", team="t", team_kind=kind, task="task",
                      agents=[AgentInfo(name="coder"), AgentInfo(name="user")])


def test_every_event_type_of_the_union_is_folded():
    members = set(typing.get_args(typing.get_args(Event)[0]))
    assert members, "the Event union lost its members"
    missing = {t.__name__ for t in members - handled_event_types()}
    assert not missing, f"RunView has no fold for: {sorted(missing)}"


def test_a_stream_is_kept_in_chunks_and_joined_once_read():
    view = fold(numbered([start(), TurnStarted(agent="coder", round=1)]
                         + [TokenDelta(agent="coder", text=f"{i} ") for i in range(1000)]))
    draft = view.draft_of("coder")
    assert draft is not None and draft.status == EntryStatus.STREAMING
    assert len(draft.chunks) == 1000  # appending never copies the text so far
    assert draft.content.startswith("0 1 2 ") and len(draft.chunks) == 1
    assert view.agents["coder"].state == AgentState.STREAMING


def test_a_discarded_draft_stays_struck_and_the_next_delta_starts_a_new_entry():
    view = fold(numbered([start(), TurnStarted(agent="coder", round=1), TokenDelta(agent="coder", text="broken"),
                          DraftDiscarded(agent="coder", chars=6, reason="stream cut"),
                          TokenDelta(agent="coder", text="whole")]))
    first, second = view.entries.values()
    assert (first.status, first.discard_reason, first.content) == (EntryStatus.DISCARDED, "stream cut", "broken")
    assert second.status == EntryStatus.STREAMING and second.content == "whole"
    assert view.draft_of("coder") is second


def test_draft_decision_and_delivery_are_one_entry_found_by_the_message_id():
    request = DecisionRequest(kind=RequestKind.MESSAGE, agent="coder", content="hi")
    message = Message(sender="coder", content="hello (edited)", human_edited=True, original="hi")
    view = fold(numbered([start(), TurnStarted(agent="coder", round=1), TokenDelta(agent="coder", text="hi"),
                          MessageDrafted(agent="coder", content="hi"), DecisionRequested(request=request)]))
    assert [p.request.id for p in view.pending] == [request.id]
    assert view.draft_of("coder").status == EntryStatus.WAITING
    view.apply(DecisionRecorded(request_id=request.id, request_kind=RequestKind.MESSAGE, agent="coder",
                                decision=Decision.edit("hello (edited)")))
    assert view.pending == []
    view.apply(MessageDelivered(message=message, round=1))
    entry = view.entry_for_message(message.id)
    assert len(view.entries) == 1 and entry.status == EntryStatus.DELIVERED
    assert entry.content == "hello (edited)" and entry.decision.kind.value == "edit"


def test_a_queued_inject_is_delivered_by_id_even_when_another_has_the_same_text():
    a = Message(sender="human", content="same", origin="human")
    b = Message(sender="human", content="same", origin="human")
    now = Message(sender="human", content="same", origin="human")
    view = fold(numbered([start(), MessageQueued(message=a, by=DecidedBy.HUMAN),
                          MessageQueued(message=b, by=DecidedBy.HUMAN), MessageDelivered(message=b),
                          MessageDelivered(message=now)]))  # an inject "now" is not a queued one
    assert view.entries[a.id].status == EntryStatus.QUEUED
    assert view.entries[b.id].status == EntryStatus.DELIVERED
    assert view.entries[now.id].status == EntryStatus.DELIVERED
    assert list(view.queued) == [a.id]


def test_a_log_from_before_message_ids_matches_queued_messages_in_queue_order():
    # such a log's messages get fresh ids each time they are read, and its MessageQueued says not who
    first = {"sender": "human", "content": "one", "origin": "human", "recipient": "coder"}
    events = numbered([start(), MessageQueued(message=Message(**first)),
                       MessageDelivered(message=Message(**first))])
    view = fold(events)
    assert view.queued == {} and len(view.entries) == 1
    assert next(iter(view.entries.values())).status == EntryStatus.DELIVERED


def test_an_execution_finds_its_block_by_index_not_by_language():
    blocks = [CodeSnippet(language="python", code="print(1)"), CodeSnippet(language="python", code="print(2)")]
    request = DecisionRequest(kind=RequestKind.CODE, agent="coder", code_blocks=blocks)
    view = fold(numbered([start(), CodeProposed(agent="coder", blocks=blocks), DecisionRequested(request=request),
                          DecisionRecorded(request_id=request.id, request_kind=RequestKind.CODE, agent="coder",
                                           decision=Decision.approve()),
                          ExecutionStarted(exec_id="x2", agent="user", language="python", code="print(2)",
                                           executor="docker", source_agent="coder", block_index=1),
                          ExecutionOutput(exec_id="x2", agent="user", text="2\n"),
                          ExecutionFinished(exec_id="x2", agent="user", exit_code=0, duration=0.1)]))
    (proposal,) = view.proposals.values()
    assert view.executions["x2"].block_id == proposal.blocks[1].id
    assert proposal.blocks[1].status == "finished" and proposal.blocks[0].exec_id is None
    assert view.executions["x2"].output == "2\n"


def test_usage_has_one_meaning_calls_count_cache_hits_tokens_do_not():
    view = fold(numbered([start(),
                          UsageRecorded(agent="coder", model="m", prompt_tokens=10, completion_tokens=5, cost=0.5),
                          UsageRecorded(agent="coder", model="m", prompt_tokens=10, completion_tokens=5, cached=True),
                          UsageRecorded(agent="selector", model="m", prompt_tokens=1, completion_tokens=1)]))
    assert (view.usage.calls, view.usage.cached_calls, view.usage.total_tokens) == (3, 1, 17)
    assert view.agents["coder"].tokens == 15 and view.usage_by_agent["selector"].total_tokens == 2
    assert view.total_tokens == 17 and view.usage_by_model["m"].calls == 3


def test_controls_are_state_with_who_did_them():
    view = fold(numbered([start("group_chat"), RunPaused(by=DecidedBy.HUMAN)]))
    assert view.paused and view.controls.paused_by == DecidedBy.HUMAN
    view.apply(RunResumed())
    view.apply(NextSpeakerForced(agent="user"))
    assert not view.paused and view.next_speaker == "user" and view.controls.forced_next == "user"
    view.apply(StopRequested(reason="enough", kind=StopKind.STOPPED_BY_USER))
    assert view.stop_requested and not view.stopped
    view.apply(RunStopped(reason="enough", kind=StopKind.STOPPED_BY_USER))
    assert view.stopped and all(a.state == AgentState.DONE for a in view.agents.values())


def test_a_stop_leaves_waiting_drafts_and_blocks_not_delivered_or_not_run():
    blocks = [CodeSnippet(language="sh", code="ls")]
    view = fold(numbered([start(), TokenDelta(agent="user", text="par"), CodeProposed(agent="coder", blocks=blocks),
                          RunStopped(reason="stop", kind=StopKind.STOPPED_BY_USER)]))
    (entry,) = view.entries.values()
    assert entry.status == EntryStatus.INTERRUPTED
    assert next(iter(view.blocks.values())).status == "not run"
    assert view.drafts == {} and isinstance(view, RunView)


def test_a_resumed_run_no_longer_waits_for_what_the_crashed_run_asked():
    """A log cut off by a crash while a draft waited, then resumed: the draft was never delivered,
    its request no longer pends, and the resumed turn's draft is a new entry."""
    ask = DecisionRequest(id="r1", kind=RequestKind.MESSAGE, agent="coder", prompt="Deliver?", content="Old.")
    view = fold(numbered([start(), TurnStarted(agent="coder", round=1), MessageDrafted(agent="coder", content="Old."),
                          DecisionRequested(request=ask), start().model_copy(update={"resumed": True}),
                          TurnStarted(agent="coder", round=1), MessageDrafted(agent="coder", content="New.")]))
    assert view.pending == []
    old, new = view.entries.values()
    assert old.content == "Old." and old.status == EntryStatus.NOT_DELIVERED
    assert new.content == "New." and new.status == EntryStatus.DRAFTED


def test_a_run_resumed_after_its_stop_has_its_agents_idle_not_done():
    """A stop makes every agent "done"; the resumed leg's RunStarted makes them idle again (an
    attached view and a replay of the resumed run showed them done beside their new drafts)."""
    stopped = fold(numbered([start(), RunStopped(reason="stopped by you", kind=StopKind.STOPPED_BY_USER)]))
    assert {v.state for v in stopped.agents.values()} == {AgentState.DONE}
    resumed = fold(numbered([start(), RunStopped(reason="stopped by you", kind=StopKind.STOPPED_BY_USER),
                             start().model_copy(update={"resumed": True})]))
    assert {v.state for v in resumed.agents.values()} == {AgentState.IDLE} and not resumed.stopped
