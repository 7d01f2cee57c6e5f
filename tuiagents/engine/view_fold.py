"""The handlers of the one fold: one function per event type, each updating a `RunViewState`.

`FOLD` maps every event type of the `Event` union to its handler (a test fails for a missing one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tuiagents.engine.decisions import DecidedBy, DecisionKind, RequestKind
from tuiagents.engine.events import (
    ChatEnded, ChatStarted, CodeCancelRequested, CodeProposed, DecisionRecorded, DecisionRequested, DraftDiscarded, ExecutionFinished, ExecutionOutput,
    ExecutionStarted, MessageDelivered, MessageDrafted, MessageQueued, NextSpeakerForced, Notice, RunPaused,
    RunResumed, RunStarted, RunStopped, SpeakerSelected, StopRequested, TokenDelta, ToolCallFinished,
    ToolCallStarted, TurnStarted, UsageRecorded,
)
from tuiagents.engine.events import StopKind
from tuiagents.engine.messages import ToolCall
from tuiagents.engine.usage import Usage
from tuiagents.engine.view_parts import (
    AgentState, AgentView, BlockView, ChatView, Controls, EntryStatus, ExecutionView, Leg, MessageView, ProposalView,
    ToolView,
)
from tuiagents.engine.view_state import RunViewState


def _run_started(v: RunViewState, e: RunStarted) -> None:
    if not v.run_id:
        v.run_id, v.team, v.team_kind, v.task = e.run_id, e.team, e.team_kind, e.task
    v.team_kind = e.team_kind
    v.selection = e.speaker_selection
    v.context = dict(e.context)
    for info in e.agents:
        v.agents.setdefault(info.name, AgentView(info=info)).info = info
    v.team_agents = [info.name for info in e.agents]
    v.stage_plan = list(e.stages)
    v.started_ts = e.ts
    if e.resumed:
        _close_leg(v)  # after a crash nothing closed it; the resumed run asks again what is still open
    v.stopped_event = v.stopped_ts = None  # a resumed run goes on after an earlier stop
    for view in v.agents.values():  # and so do its agents, "done" with the leg that stopped
        if view.state == AgentState.DONE:
            view.state = AgentState.IDLE
    v.controls = Controls()
    v.legs += 1


def _turn_started(v: RunViewState, e: TurnStarted) -> None:
    v.turns += 1
    v.speaker = e.agent
    v.set_state(e.agent, AgentState.THINKING)
    inner = v.chats.get(e.chat)
    if inner is not None:  # a chat inside the run counts its own turns (a resume of it reads them);
        inner.turns += 1   # who speaks next in it is its pattern's business, not the run's
        inner.round = max(inner.round, e.round)
    else:
        v.rounds = max(v.rounds, e.round)
        v.leg.turns += 1
        v.leg.round = max(v.leg.round, e.round)
        v.round = e.round
        _expect_next(v, e.agent)
    if v.controls.forced_next == e.agent:
        v.controls.forced_next = v.controls.forced_by = None
    entry = v.draft_of(e.agent, e.chat)
    if entry is not None and entry.status in (EntryStatus.DISCARDED, EntryStatus.REJECTED):
        v.drafts.pop((e.chat, e.agent), None)


def _expect_next(v: RunViewState, agent: str) -> None:
    """Who the root chat's pattern will give the next turn, where the view can tell."""
    if v.team_kind == "two_agent":
        v.next_speaker, v.next_note = v.other_agent(agent), ""
    elif v.team_kind == "swarm":
        v.next_speaker, v.next_note = v.holder, "holds the conversation"
    elif v.selection == "round_robin" and agent in v.team_agents:
        names = v.team_agents
        v.next_speaker, v.next_note = names[(names.index(agent) + 1) % len(names)], "round robin"
    elif v.next_speaker == agent:
        v.next_speaker, v.next_note = None, ""


def _token_delta(v: RunViewState, e: TokenDelta) -> None:
    # the hot path of a log (most of its events): plain dict lookups, no helper calls
    entry_id = v.drafts.get((e.chat, e.agent))
    entry = v.entries[entry_id] if entry_id is not None else None
    if entry is None or entry.status is not EntryStatus.STREAMING:
        entry = v.new_draft(e.agent, e)
    entry.chunks.append(e.text)
    view = v.agents.get(e.agent)
    if view is not None:
        view.state = AgentState.STREAMING


def _draft_discarded(v: RunViewState, e: DraftDiscarded) -> None:
    entry = v.draft_of(e.agent, e.chat)
    if entry is not None and entry.status == EntryStatus.STREAMING:
        entry.status, entry.discard_reason = EntryStatus.DISCARDED, e.reason  # stays the agent's draft
    v.set_state(e.agent, AgentState.THINKING)  # asking again


def _message_drafted(v: RunViewState, e: MessageDrafted) -> None:
    entry = v.open_draft(e.agent, e.chat)
    if entry is None:
        entry = v.new_draft(e.agent, e)
    entry.set_content(e.content)
    entry.status, entry.tool_calls = EntryStatus.DRAFTED, list(e.tool_calls)
    v.set_state(e.agent, AgentState.IDLE)


def _decision_requested(v: RunViewState, e: DecisionRequested) -> None:
    request = e.request
    v.requests[request.id] = e
    v.waiting[request.id] = e
    if request.kind == RequestKind.MESSAGE:
        entry = v.open_draft(request.agent, request.chat)
        if entry is not None:
            entry.status, entry.request_id = EntryStatus.WAITING, request.id
    elif request.kind == RequestKind.CODE:
        blocks = v.open_blocks(request.agent, request.chat)
        for block in blocks:
            block.status, block.request_id = "waiting", request.id
        v.request_blocks[request.id] = [b.id for b in blocks]
    v.set_state(request.agent, AgentState.WAITING)
    if v.speaker and not v.stopped:
        v.set_state(v.speaker, AgentState.WAITING)  # e.g. the proxy that will run the coder's code


def _decision_recorded(v: RunViewState, e: DecisionRecorded) -> None:
    v.decisions.append(e)
    v.waiting.pop(e.request_id, None)
    d = e.decision
    if not any(p.request.agent == e.agent for p in v.waiting.values()):
        v.set_state(e.agent, AgentState.IDLE)
    speaker = v.agent(v.speaker)
    if speaker is not None and speaker.state == AgentState.WAITING and not v.waiting:
        speaker.state = AgentState.THINKING
    if d.kind == DecisionKind.CHOOSE_SPEAKER and d.target:
        v.next_speaker, v.next_note = d.target, "chosen by you"
    if e.request_kind == RequestKind.MESSAGE:
        entry = v.open_draft(e.agent, e.chat)
        if entry is not None:
            entry.decision, entry.decided_by, entry.request_id = d, d.by, e.request_id
            entry.status = {DecisionKind.REJECT: EntryStatus.REJECTED,
                            DecisionKind.STOP: EntryStatus.NOT_DELIVERED}.get(d.kind, EntryStatus.DECIDED)
    elif e.request_kind == RequestKind.CODE:
        blocks = v.open_blocks(e.agent, e.chat)
        for block in blocks:
            block.decision, block.request_id = d, e.request_id
            block.status = "decided" if d.kind in (DecisionKind.APPROVE, DecisionKind.EDIT) else "skipped"
        v.request_blocks[e.request_id] = [b.id for b in blocks]  # a policy's answer has no request event
        if d.kind not in (DecisionKind.APPROVE, DecisionKind.EDIT):
            v.close_proposal(e.agent, e.chat)


def _message_delivered(v: RunViewState, e: MessageDelivered) -> None:
    m = e.message
    v.messages.append(m)
    v.chat_messages.setdefault(e.chat, []).append(m)
    if e.chat in v.chats:
        chat = v.chats[e.chat]
        chat.settled = (chat.turns, chat.round)
    else:
        v.leg.settled = (v.leg.turns, v.leg.round)
    if m.handoff and e.chat not in v.chats:
        v.next_speaker, v.next_note = m.handoff, f"handoff from {m.sender}"
    entry = v.entries.get(v.queued.pop(m.id, "")) if m.id in v.queued else None
    if entry is None and m.origin == "human" and v.queued:
        # a log written before messages had ids (its MessageQueued says not who): queued messages
        # are delivered in queue order
        oldest = next(iter(v.queued))
        queued = v.entries.get(v.queued[oldest])
        if queued is not None and queued.queued_by is None and queued.recipient == m.recipient:
            entry = v.entries.get(v.queued.pop(oldest))
    if entry is None and m.origin == "agent":
        entry = v.open_draft(m.sender, e.chat)
        v.drafts.pop((e.chat, m.sender), None)
    if entry is None:
        entry = MessageView(id=m.id, sender=m.sender, seq=e.seq, ts=e.ts, chat=e.chat)
        v.entries[entry.id] = entry
    entry.message, entry.message_id, entry.round = m, m.id, e.round
    entry.written_by = e.sender or entry.written_by
    entry.set_content(m.content)
    entry.tool_calls = list(m.tool_calls)
    entry.status = EntryStatus.DELIVERED
    v.by_message_id[m.id] = entry.id
    view = v.agent(m.sender)
    if view is not None and view.state in (AgentState.THINKING, AgentState.STREAMING):
        view.state = AgentState.IDLE
    if m.origin == "execution":
        v.settle(m.sender, e.chat)
        for chat, agent in list(v.open_proposals):
            if chat == e.chat:
                v.close_proposal(agent, chat)


def _message_queued(v: RunViewState, e: MessageQueued) -> None:
    m = e.message
    entry = MessageView(id=m.id, sender=m.sender, seq=e.seq, ts=e.ts, status=EntryStatus.QUEUED,
                        message=m, message_id=m.id, queued_by=e.by, written_by=e.sender, chat=e.chat)
    entry.set_content(m.content)
    v.entries.setdefault(entry.id, entry)
    v.queued[m.id] = entry.id
    v.by_message_id[m.id] = entry.id


def _tool_started(v: RunViewState, e: ToolCallStarted) -> None:
    v.tools[e.call.id] = ToolView(agent=e.agent, call=e.call, seq=e.seq, ts=e.ts)
    v.set_state(e.agent, AgentState.RUNNING_TOOL)


def _tool_finished(v: RunViewState, e: ToolCallFinished) -> None:
    tool = v.tools.get(e.result.call_id)
    if tool is None:  # a result without a start (a skipped call)
        tool = v.tools[e.result.call_id] = ToolView(agent=e.agent, seq=e.seq, ts=e.ts,
                                                    call=ToolCall(id=e.result.call_id, name=e.result.name))
    tool.result = e.result
    v.set_state(e.agent, AgentState.IDLE)


def _code_proposed(v: RunViewState, e: CodeProposed) -> None:
    v.close_proposal(e.agent, e.chat)
    pid = f"c{e.seq or len(v.proposals) + 1}"
    while pid in v.proposals:
        pid += "'"
    blocks = [BlockView(id=f"{pid}.{i}", proposal_id=pid, index=i, agent=e.agent, snippet=b, executor=e.executor,
                        status="proposed" if b.runnable else "not runnable") for i, b in enumerate(e.blocks)]
    v.proposals[pid] = ProposalView(id=pid, agent=e.agent, seq=e.seq, ts=e.ts, blocks=blocks, executor=e.executor,
                                    chat=e.chat)
    v.open_proposals[(e.chat, e.agent)] = pid
    for b in blocks:
        v.blocks[b.id] = b


def _execution_started(v: RunViewState, e: ExecutionStarted) -> None:
    run = ExecutionView(started=e)
    if e.source_agent is not None:
        waiting = v.open_blocks(e.source_agent, e.chat)
    else:  # an older log that did not say whose code it was: the open proposal
        waiting = next((bs for chat, agent in reversed(v.open_proposals)
                        if chat == e.chat and (bs := v.open_blocks(agent, chat))), [])
    block = next((b for b in waiting if b.index == e.block_index), None) or (waiting[0] if waiting else None)
    if block is not None:
        block.exec_id, block.status, run.block_id = e.exec_id, "running", block.id
    v.executions[e.exec_id] = v.unsettled.setdefault((e.chat, e.agent), {})[e.exec_id] = run
    v.set_state(e.agent, AgentState.RUNNING_CODE)


def _execution_output(v: RunViewState, e: ExecutionOutput) -> None:
    run = v.executions.get(e.exec_id)
    if run is not None:
        run.chunks.append(e.text)


def _execution_finished(v: RunViewState, e: ExecutionFinished) -> None:
    run = v.executions.get(e.exec_id)
    if run is not None:
        run.finished = e
        block = v.blocks.get(run.block_id or "")
        if block is not None:
            block.status = "finished"
    v.set_state(e.agent, AgentState.IDLE)


def _speaker_selected(v: RunViewState, e: SpeakerSelected) -> None:
    v.next_speaker, v.next_note = e.agent, e.method


def _usage(v: RunViewState, e: UsageRecorded) -> None:
    view = v.agent(e.agent)
    targets = [v.usage, v.usage_by_agent.setdefault(e.agent, Usage()), v.usage_by_model.setdefault(e.model, Usage())]
    if view is not None:
        targets.append(view.usage)
    for u in targets:
        u.add_event(e)


def _notice(v: RunViewState, e: Notice) -> None:
    pass  # nothing to keep but the event itself (in `events`)


def _close_leg(v: RunViewState) -> None:
    """No request of the leg that ended waits any more, and no draft of it will be delivered."""
    v.waiting.clear()
    for entry_id in v.drafts.values():
        entry = v.entries[entry_id]
        if entry.status == EntryStatus.STREAMING:
            entry.status = EntryStatus.INTERRUPTED
        elif entry.status in (EntryStatus.DRAFTED, EntryStatus.WAITING):
            entry.status = EntryStatus.NOT_DELIVERED
    v.drafts.clear()


def _run_stopped(v: RunViewState, e: RunStopped) -> None:
    v.stopped_event, v.stopped_ts = e, e.ts
    v.controls.paused = False
    _close_leg(v)
    for (chat, agent), pid in list(v.open_proposals.items()):
        for block in v.proposals[pid].blocks:
            if block.status in ("proposed", "waiting", "decided"):
                block.status = "not run"
        v.close_proposal(agent, chat)
    for view in v.agents.values():
        view.state = AgentState.DONE
    v.settle()  # a stopped run already told its blocks' ends
    v.leg = Leg()


def _paused(v: RunViewState, e: RunPaused) -> None:
    v.controls.paused, v.controls.paused_by, v.controls.paused_sender = True, e.by, e.sender


def _resumed(v: RunViewState, e: RunResumed) -> None:
    v.controls.paused, v.controls.paused_by, v.controls.paused_sender = False, None, None


def _forced(v: RunViewState, e: NextSpeakerForced) -> None:
    v.controls.forced_next, v.controls.forced_by = e.agent, e.by
    v.next_speaker, v.next_note = e.agent, "your pick" if e.by == DecidedBy.HUMAN else e.by.words()


def _cancel_requested(v: RunViewState, e: CodeCancelRequested) -> None:
    pass  # nothing to keep but the event itself: the block's ExecutionFinished says it was cancelled


def _stop_requested(v: RunViewState, e: StopRequested) -> None:
    if e.kind == StopKind.CHAT_STOPPED:  # one chat (a stage) ends; the run goes on
        chat = v.chats.get(e.chat)
        if chat is not None:
            chat.stop_requested = e
        return
    v.controls.stop_requested = e


def _chat_started(v: RunViewState, e: ChatStarted) -> None:
    known = v.chats.get(e.chat)
    if known is not None:  # a resumed run starts it again: it goes on, with its counters
        known.started, known.ended = e, None
    else:
        v.chats[e.chat] = ChatView(started=e)
    for info in e.agents:
        v.agents.setdefault(info.name, AgentView(info=info))


def _chat_ended(v: RunViewState, e: ChatEnded) -> None:
    chat = v.chats.get(e.chat)
    if chat is not None:
        chat.ended = e
    for key in [k for k in v.drafts if k[0] == e.chat]:  # nothing of it waits any more
        v.drafts.pop(key)


FOLD: dict[type, Callable[[RunViewState, Any], None]] = {
    RunStarted: _run_started, TurnStarted: _turn_started, TokenDelta: _token_delta,
    DraftDiscarded: _draft_discarded, MessageDrafted: _message_drafted, DecisionRequested: _decision_requested,
    DecisionRecorded: _decision_recorded, MessageDelivered: _message_delivered, MessageQueued: _message_queued,
    ToolCallStarted: _tool_started, ToolCallFinished: _tool_finished, CodeProposed: _code_proposed,
    ExecutionStarted: _execution_started, ExecutionOutput: _execution_output,
    ExecutionFinished: _execution_finished, SpeakerSelected: _speaker_selected, UsageRecorded: _usage,
    Notice: _notice, RunStopped: _run_stopped, RunPaused: _paused, RunResumed: _resumed,
    NextSpeakerForced: _forced, StopRequested: _stop_requested, CodeCancelRequested: _cancel_requested,
    ChatStarted: _chat_started, ChatEnded: _chat_ended,
}
