"""Renders the run view into transcript entries: agent panes and the merged timeline.

`ConversationFeed.apply(event)` is the visual half of the cockpit's single event entry point; the
state is the engine's one fold (`RunView`, the cockpit's `state`), applied first. The feed keeps
no state of its own about the run: it maps the view's ids (entry ids, code block ids, tool call
ids) to the entries it shows, and renders what the view says. Streamed tokens only mark an entry
dirty; `flush()`, called on a timer (every 50 ms by default), copies the joined text into the
grown entries, so a fast stream costs one re-render per interval and no quadratic copying.
How a request shows, waiting for you or decided, is `FeedRequests`' (`feed_requests.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tuiagents.engine.decisions import ROOT_CHAT, DecidedBy, DecisionKind, person_words
from tuiagents.engine.events import (
    ChatEnded, ChatStarted, CodeCancelRequested, CodeProposed, DecisionRecorded, DecisionRequested, DraftDiscarded, ExecutionFinished,
    ExecutionOutput, ExecutionStarted, MessageDelivered, MessageDrafted, MessageQueued, NextSpeakerForced, Notice,
    RunPaused, RunResumed, RunStarted, RunStopped, SpeakerSelected, StopRequested, TokenDelta, ToolCallFinished,
    ToolCallStarted,
)
from tuiagents.engine.patterns import pattern_label
from tuiagents.engine.view import EntryStatus, MessageView, RunView
from tuiagents.ui.chat_block import BlockSink, ChatBlockEntry
from tuiagents.ui.entries import CodeEntry, Entry, MessageEntry, NoticeEntry
from tuiagents.ui.entry_words import control_line, finished_status, message_tags, result_line
from tuiagents.ui.feed_requests import FeedRequests
from tuiagents.ui.safe_text import one_line
from tuiagents.ui.state import Waiting
from tuiagents.ui.widgets.transcript import Transcript


class ConversationFeed(FeedRequests):
    """Shows the view: `panes` maps agent names to their transcripts, `view` is the run's fold,
    `waiting` says which of its requests wait for you (by default, the fold's own)."""

    def __init__(self, panes: Callable[[], dict[str, Transcript]], timeline: Transcript,
                 view: RunView | None = None, waiting: Waiting | None = None) -> None:
        self._panes = panes
        self.timeline = timeline
        self.view = view if view is not None else RunView()
        self.waiting = waiting if waiting is not None else Waiting(self.view)
        self.shown: dict[str, Entry] = {}  # view id (entry, code block, tool call) -> the entry shown
        self.dirty: set[str] = set()  # view ids of streams and outputs grown since the last flush
        self.owners: dict[str, list[Transcript]] = {}
        self.asking: dict[str, list[str]] = {}  # request id -> the view ids shown as waiting for it
        self.blocks: dict[str, BlockSink] = {}  # nested chat id -> its block in its owner's pane
        self._chat = ROOT_CHAT  # the chat of the event being shown

    @property
    def live(self) -> dict[str, MessageEntry]:
        """The entry shown for each agent's open draft (streaming, drafted or waiting)."""
        out: dict[str, MessageEntry] = {}
        for chat, agent in self.view.drafts:
            entry = self.view.draft_of(agent, chat)
            shown = self.shown.get(entry.id) if entry is not None else None
            if isinstance(shown, MessageEntry):
                out[agent] = shown
        return out

    # -- helpers ------------------------------------------------------------------------------
    def pane(self, agent: str | None) -> Transcript | BlockSink | None:
        """Where `agent`'s entries go: the block of the nested chat the event was in, else the
        transcript of `agent`'s pane, or None."""
        block = self.blocks.get(self._chat)
        if block is not None:
            return block
        return self._panes().get(agent) if agent else None

    def _add(self, entry: Entry, *where: Transcript | None) -> Entry:
        owners = self.owners.setdefault(entry.key, [])
        for transcript in where:
            if transcript is not None and transcript not in owners:
                transcript.add(entry)
                owners.append(transcript)
        return entry

    def changed(self, entry: Entry) -> None:
        """Re-render `entry` wherever it is shown."""
        entry.touch()
        for transcript in self.owners.get(entry.key, []):
            transcript.changed(entry)

    def _note(self, agent: str | None, text: str, tone: str = "muted", timeline: bool = True) -> None:
        self._add(NoticeEntry(text=text, tone=tone), self.pane(agent), self.timeline if timeline else None)

    def _panes_for(self, target: str) -> list[Transcript | BlockSink | None]:
        if self._chat in self.blocks:  # a person's message inside a nested chat shows in its block
            return [self.blocks[self._chat]]
        return list(self._panes().values()) if target == "all" else [self.pane(target)]

    def flush(self) -> int:
        """Copy streamed text and code output gathered since the last flush; returns entries updated."""
        dirty, self.dirty = self.dirty, set()
        for vid in dirty:
            shown = self.shown.get(vid)
            if isinstance(shown, MessageEntry):
                entry = self.view.entries.get(vid)
                if entry is not None:
                    shown.content = entry.content
            elif isinstance(shown, CodeEntry) and shown.exec_id in self.view.executions:
                shown.output = self.view.executions[shown.exec_id].output
            if shown is not None:
                self.changed(shown)
        return len(dirty)

    def _message(self, entry: MessageView, *where: Transcript | None, **fields: Any) -> MessageEntry:
        shown = self.shown.get(entry.id)
        if not isinstance(shown, MessageEntry):
            shown = self.shown[entry.id] = MessageEntry(sender=entry.sender, **fields)
        self._add(shown, *where)
        return shown

    # -- the entry point ------------------------------------------------------------------------
    def apply(self, event: Any) -> None:
        """Show one event (already folded into the view)."""
        render = _RENDER.get(type(event))
        if render is not None:
            self._chat = getattr(event, "chat", ROOT_CHAT)
            render(self, event)

    # -- per event type -------------------------------------------------------------------------
    def _token(self, event: TokenDelta) -> None:
        entry = self.view.draft_of(event.agent, event.chat)
        if entry is None:
            return
        if entry.id not in self.shown:
            self._message(entry, self.pane(event.agent), streaming=True, tags=["streaming…"])
        self.dirty.add(entry.id)

    def _discarded(self, event: DraftDiscarded) -> None:
        # The stream broke: its text stays visible but struck, and the next delta starts afresh.
        entry = self.view.draft_of(event.agent, event.chat)
        shown = self.shown.get(entry.id) if entry is not None else None
        if entry is None or entry.status != EntryStatus.DISCARDED or not isinstance(shown, MessageEntry):
            return
        shown.content = entry.content
        shown.streaming, shown.struck, shown.tone = False, True, "warning"
        shown.tags = [f"discarded: {one_line(entry.discard_reason, 100)}"]
        self.dirty.discard(entry.id)
        self.changed(shown)

    def _drafted(self, event: MessageDrafted) -> None:
        entry = self.view.draft_of(event.agent, event.chat)
        if entry is None:
            return
        shown = self._message(entry, self.pane(event.agent))
        shown.content, shown.streaming, shown.tags, shown.tone = entry.content, False, ["draft"], "muted"
        shown.notes = [f"⚙ calls {c.name}({one_line(c.arguments, 160)})" for c in entry.tool_calls]
        self.dirty.discard(entry.id)
        self.changed(shown)

    def _queued(self, event: MessageQueued) -> None:
        entry = self.view.entry_for_message(event.message.id)
        if entry is None:
            return
        target = event.message.recipient or "all"
        shown = self._message(entry, *self._panes_for(target), self.timeline, human=True, tone="warning")
        shown.sender, shown.human, shown.content = person_words(entry.written_by, self.view.viewer), True, entry.content
        shown.tags = [f"→ {target}", "queued for the next turn"]
        self.changed(shown)

    def _delivered(self, event: MessageDelivered) -> None:
        m = event.message
        entry = self.view.entry_for_message(m.id)
        if entry is None:
            return
        notes = [f"⚙ calls {c.name}({one_line(c.arguments, 160)})" for c in m.tool_calls]
        notes += [f"{'✗' if r.is_error else '↳'} {r.name}: {one_line(r.content, 200)}" for r in m.tool_results]
        if m.handoff:
            notes.append(f"⇢ hands the conversation to {m.handoff}")
        if m.sender == "human" or (m.origin == "human" and m.sender not in self._panes()):
            target = m.recipient or "all"
            shown = self._message(entry, *self._panes_for(target), self.timeline)
            shown.sender, shown.human = person_words(entry.written_by, self.view.viewer), True
            shown.content, shown.notes = m.content, notes
            shown.tags, shown.tone = [f"→ {target}", "delivered"], "success"
            self.changed(shown)
            return
        shown = self._message(entry, self.pane(m.sender))
        shown.content, shown.streaming, shown.notes, shown.struck = m.content, False, notes, False
        shown.markdown, shown.human, shown.tone = m.origin in ("agent", "human"), False, "muted"
        d = entry.decision
        if m.human_edited:
            shown.tags, shown.tone = [f"edited by {d.who(self.view.viewer) if d is not None else 'you'}"], "warning"
        elif m.origin == "human":
            # a chat's first message is its task (a nested chat's is its owner's, filled from the trigger)
            shown.tags = ["task"] if len(self.view.messages_in(event.chat)) == 1 else \
                [f"written by {person_words(entry.written_by, self.view.viewer)}"]
        elif m.origin == "execution":
            shown.tags = ["code result → team"]
        elif m.origin == "tool":
            shown.tags = [f"tool result → {m.recipient}" if m.recipient else "tool result"]
        else:
            approval = message_tags(d, self.view.viewer)[0] if d is not None and d.kind == DecisionKind.APPROVE else []
            shown.tags = ([f"→ {m.recipient}"] if m.recipient else []) + approval
            shown.tone = "success" if approval else "muted"
        self.dirty.discard(entry.id)
        self._add(shown, self.timeline)
        self.changed(shown)

    def _proposed(self, event: CodeProposed) -> None:
        proposal = next(reversed(self.view.proposals.values()), None)
        if proposal is None or proposal.agent != event.agent:
            return
        for block in proposal.blocks:
            runnable = block.snippet.runnable
            shown = CodeEntry(agent=event.agent, language=block.snippet.language, code=block.snippet.code,
                              executor=event.executor, status="proposed" if runnable else "not runnable",
                              tone="muted")
            self.shown[block.id] = shown
            self._add(shown, self.pane(event.agent), None if runnable else self.timeline)

    def _exec_started(self, event: ExecutionStarted) -> None:
        run = self.view.executions.get(event.exec_id)
        block = self.view.blocks.get(run.block_id or "") if run is not None else None
        shown = self.shown.get(block.id) if block is not None else None
        if not isinstance(shown, CodeEntry):
            shown = CodeEntry(agent=event.agent, language=event.language, code=event.code)
        edited = block is not None and block.decision is not None and block.decision.kind == DecisionKind.EDIT
        self.shown[block.id if block is not None else event.exec_id] = shown
        shown.code, shown.language = event.code, event.language
        shown.executor, shown.exec_id = event.executor, event.exec_id
        shown.status, shown.tone = f"▶ running {'your edited code ' if edited else ''}as {event.agent}", "warning"
        self._add(shown, self.pane(event.agent), self.timeline)
        self.changed(shown)

    def _exec_shown(self, exec_id: str) -> tuple[str, CodeEntry] | None:
        run = self.view.executions.get(exec_id)
        vid = (run.block_id if run is not None else None) or exec_id
        shown = self.shown.get(vid)
        return (vid, shown) if isinstance(shown, CodeEntry) else None

    def _exec_output(self, event: ExecutionOutput) -> None:
        found = self._exec_shown(event.exec_id)
        if found is not None:
            self.dirty.add(found[0])

    def _exec_finished(self, event: ExecutionFinished) -> None:
        found = self._exec_shown(event.exec_id)
        if found is None:
            return
        vid, shown = found
        shown.output = self.view.executions[event.exec_id].output
        shown.result, shown.result_tone = result_line(event)
        shown.status, shown.tone = finished_status(event)
        self.dirty.discard(vid)
        self.changed(shown)

    def _tool_started(self, event: ToolCallStarted) -> None:
        edited = " with your edited arguments" if event.original_arguments is not None else ""
        note = NoticeEntry(text=f"⚙ running {event.call.name}({one_line(event.call.arguments, 120)}){edited}…",
                           tone="warning")
        self.shown[event.call.id] = note
        self._add(note, self.pane(event.agent), self.timeline)

    def _tool_finished(self, event: ToolCallFinished) -> None:
        note = self.shown.get(event.result.call_id)
        text = f"{'✗' if event.result.is_error else '↳'} {event.result.name}: {one_line(event.result.content, 160)}"
        tone = "error" if event.result.is_error else "success"
        if isinstance(note, NoticeEntry):
            note.text, note.tone = text, tone
            self.changed(note)
        else:
            self._note(event.agent, text, tone)

    def _notice(self, event: Notice) -> None:
        tone = {"info": "muted", "warning": "warning", "error": "error"}[event.level]
        self._note(event.agent, f"{event.level}: {event.text}" if event.level != "info" else event.text, tone)

    def _speaker(self, event: SpeakerSelected) -> None:
        note = f" ({event.note})" if event.note else ""
        self._add(NoticeEntry(text=f"round {event.round}: {event.agent} speaks next [{event.method}]{note}"),
                  self.timeline)

    def _started(self, event: RunStarted) -> None:
        names = ", ".join(a.name for a in event.agents)
        kind = pattern_label(event.team_kind)
        self._add(NoticeEntry(text=f"team {event.team} ({kind}: {names})" + (" · resumed" if event.resumed else "")),
                  self.timeline)
        if event.resumed:  # what the crashed leg left open is asked again, or not at all
            self._interrupted()
            self.settle_requests()

    def _chat_started(self, event: ChatStarted) -> None:
        names = ", ".join(a.name for a in event.agents)
        again = " · resumed" if event.resumed else ""
        text = f"▸ {event.title} ({pattern_label(event.team_kind)}: {names}){again}: {one_line(event.task, 120)}"
        if event.scope != "nested" or event.owner is None:
            self._note(event.owner, text)
            return
        # a nested chat is a block in its owner's pane (in the block of the chat it runs in, if nested)
        self._add(NoticeEntry(text=text), self.timeline)
        sink = self.blocks.get(event.chat)
        if sink is None:
            block = ChatBlockEntry(title=event.title)
            where = self.blocks.get(event.parent) or self._panes().get(event.owner)
            self.blocks[event.chat] = BlockSink(block, self.changed)
            self._add(block, where)
        else:  # a resumed run goes on in it
            sink.block.ended, sink.block.folded = False, False
            self.changed(sink.block)

    def _chat_ended(self, event: ChatEnded) -> None:
        chat = self.view.chats.get(event.chat)
        title = chat.title if chat is not None else event.chat
        summary = f" · summary: {one_line(event.summary, 160)}" if event.summary else ""
        text = f"◂ {title} ended: {event.reason}{summary}"
        sink = self.blocks.get(event.chat)
        if sink is None:
            self._note(chat.started.owner if chat is not None else None, text)
            return
        self._add(NoticeEntry(text=text), self.timeline)
        block = sink.block
        block.ended, block.folded, block.reason, block.summary = True, True, event.reason, event.summary
        self.changed(block)

    def _control(self, event: Any) -> None:
        tone = "muted" if event.by != DecidedBy.HUMAN else "warning"
        self._add(NoticeEntry(text=control_line(event, self.view.viewer), tone=tone), self.timeline)

    def _interrupted(self) -> None:
        """Streams the view ended without a message (a stop, a crash) stop streaming on screen."""
        for entry in self.view.entries.values():
            shown = self.shown.get(entry.id)
            if entry.status == EntryStatus.INTERRUPTED and isinstance(shown, MessageEntry) and shown.streaming:
                shown.content = entry.content
                shown.streaming, shown.tags = False, ["interrupted"]
                self.dirty.discard(entry.id)
                self.changed(shown)

    def _stopped(self, event: RunStopped) -> None:
        self._interrupted()
        self.settle_requests()
        for block in self.view.blocks.values():
            shown = self.shown.get(block.id)
            if not isinstance(shown, CodeEntry) or not block.snippet.runnable:
                continue
            if block.status == "not run" or (block.status == "running" and block.exec_id is not None
                                             and self.view.executions[block.exec_id].finished is None):
                self._add(shown, self.timeline)
                shown.status, shown.tone = "not run: the run stopped", "muted"
                self.changed(shown)
        self._add(NoticeEntry(text=f"■ run stopped: {self.view.stop_words() or event.reason}", tone="error"),
                  self.timeline)


_RENDER: dict[type, Callable[[ConversationFeed, Any], None]] = {
    TokenDelta: ConversationFeed._token, DraftDiscarded: ConversationFeed._discarded,
    MessageDrafted: ConversationFeed._drafted, MessageQueued: ConversationFeed._queued,
    MessageDelivered: ConversationFeed._delivered, DecisionRequested: ConversationFeed._requested,
    DecisionRecorded: ConversationFeed._recorded, CodeProposed: ConversationFeed._proposed,
    ExecutionStarted: ConversationFeed._exec_started, ExecutionOutput: ConversationFeed._exec_output,
    ExecutionFinished: ConversationFeed._exec_finished, ToolCallStarted: ConversationFeed._tool_started,
    ToolCallFinished: ConversationFeed._tool_finished, Notice: ConversationFeed._notice,
    SpeakerSelected: ConversationFeed._speaker, RunStarted: ConversationFeed._started,
    RunPaused: ConversationFeed._control, RunResumed: ConversationFeed._control,
    NextSpeakerForced: ConversationFeed._control, StopRequested: ConversationFeed._control,
    CodeCancelRequested: ConversationFeed._control,
    ChatStarted: ConversationFeed._chat_started, ChatEnded: ConversationFeed._chat_ended,
    RunStopped: ConversationFeed._stopped,
}
