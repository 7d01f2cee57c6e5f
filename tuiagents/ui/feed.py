"""Turns engine events into transcript entries: agent panes and the merged timeline.

`ConversationFeed.apply(event)` is the visual half of the cockpit's single event entry point
(`CockpitState` is the bookkeeping half). Streamed tokens only append to a buffer; `flush()`, called
on a timer (every 50 ms by default), pushes the grown entries to their transcripts, so a fast
stream costs one re-render per interval, not one per token. A drafted or delivered message replaces
the stream and is rendered once, in full, as Markdown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tuiagents.engine.decisions import DecidedBy, DecisionKind, RequestKind
from tuiagents.engine.events import (
    CodeProposed,
    MessageQueued,
    DecisionRecorded,
    DecisionRequested,
    DraftDiscarded,
    ExecutionFinished,
    ExecutionOutput,
    ExecutionStarted,
    MessageDelivered,
    MessageDrafted,
    Notice,
    RunStarted,
    RunStopped,
    SpeakerSelected,
    TokenDelta,
    ToolCallFinished,
    ToolCallStarted,
    TurnStarted,
)
from tuiagents.execution.base import EXIT_NOT_RUN
from tuiagents.ui.entries import CodeEntry, Entry, MessageEntry, NoticeEntry
from tuiagents.ui.safe_text import one_line
from tuiagents.ui.widgets.transcript import Transcript

HUMAN = "you"


def _who(by: DecidedBy) -> str:
    return by.words()


def result_line(event: ExecutionFinished) -> tuple[str, str]:
    """The line under a finished block, and its tone."""
    took = f"{event.duration:.2f} s"
    if event.exit_code == EXIT_NOT_RUN:  # the sandbox never started it: no exit code to speak of
        return f"✗ not run: {one_line(event.error or 'the executor could not start it', 200)}", "error"
    if event.cancelled:  # by you, by a stop, or by a crash (resume then says why in `error`)
        why = f" · {one_line(event.error, 200)}" if event.error else ""
        return f"■ cancelled after {took} (exit code {event.exit_code}){why}", "warning"
    if event.timed_out:
        return f"■ timed out after {took} (exit code {event.exit_code})", "error"
    text = f"{'✓' if event.exit_code == 0 else '✗'} exit code {event.exit_code} · {took}"
    if event.truncated:
        text += " · output truncated"
    if event.error:
        text += f" · {one_line(event.error, 200)}"
    return text, "success" if event.exit_code == 0 and not event.error else "error"


class ConversationFeed:
    """Maps events to entries; `panes` maps agent names to their transcripts."""

    def __init__(self, panes: Callable[[], dict[str, Transcript]], timeline: Transcript) -> None:
        self._panes = panes
        self.timeline = timeline
        self.live: dict[str, MessageEntry] = {}  # agent -> its streaming or drafted message
        self.dirty: set[MessageEntry | CodeEntry] = set()
        self.waiting_code: list[CodeEntry] = []
        self.running: dict[str, CodeEntry] = {}
        self.injected: list[tuple[MessageEntry, str, str]] = []  # (entry, text, target) not yet delivered
        self.tools: dict[str, NoticeEntry] = {}
        self.owners: dict[str, list[Transcript]] = {}
        self.messages = 0  # delivered messages shown

    # -- helpers ------------------------------------------------------------------------------
    def pane(self, agent: str | None) -> Transcript | None:
        """The transcript of `agent`'s pane, or None."""
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

    def flush(self) -> int:
        """Push streamed text and code output gathered since the last flush; returns entries updated."""
        dirty, self.dirty = self.dirty, set()
        for entry in dirty:
            self.changed(entry)
        return len(dirty)

    def local_inject(self, text: str, target: str, now: bool) -> MessageEntry:
        """Show a message you injected before the engine delivers it (queued or being delivered)."""
        entry = MessageEntry(sender=HUMAN, content=text, human=True, tone="warning",
                             tags=[f"→ {target}", "delivering now" if now else "queued for the next turn"])
        panes = list(self._panes().values()) if target == "all" else [self.pane(target)]
        self._add(entry, *panes, self.timeline)
        self.injected.append((entry, text, target))
        return entry

    def _queued(self, event: MessageQueued) -> None:
        # Live, the pane already shows what you typed (local_inject); a replay learns it here.
        text, target = event.message.content, event.message.recipient or "all"
        if not any(t == text and tg == target for _, t, tg in self.injected):
            self.local_inject(text, target, now=False)

    # -- the entry point ------------------------------------------------------------------------
    def apply(self, event: Any) -> None:
        """Show one event."""
        if isinstance(event, TokenDelta):
            entry = self.live.get(event.agent)
            if entry is None or not entry.streaming:
                entry = MessageEntry(sender=event.agent, streaming=True, tags=["streaming…"])
                self.live[event.agent] = entry
                self._add(entry, self.pane(event.agent))
            entry.content += event.text
            self.dirty.add(entry)
        elif isinstance(event, DraftDiscarded):
            self._discarded(event)
        elif isinstance(event, MessageDrafted):
            self._drafted(event)
        elif isinstance(event, MessageDelivered):
            self._delivered(event)
        elif isinstance(event, MessageQueued):
            self._queued(event)
        elif isinstance(event, DecisionRequested):
            self._requested(event)
        elif isinstance(event, DecisionRecorded):
            self._recorded(event)
        elif isinstance(event, CodeProposed):
            for block in event.blocks:
                entry = CodeEntry(agent=event.agent, language=block.language, code=block.code,
                                  executor=event.executor, status="proposed" if block.runnable else "not runnable",
                                  tone="muted")
                # A runnable block joins the timeline once decided, after the decision, so its
                # outcome never reads before its approval there.
                self._add(entry, self.pane(event.agent), None if block.runnable else self.timeline)
                if block.runnable:
                    self.waiting_code.append(entry)
        elif isinstance(event, ExecutionStarted):
            self._exec_started(event)
        elif isinstance(event, ExecutionOutput):
            entry = self.running.get(event.exec_id)
            if entry is not None:
                entry.output += event.text
                self.dirty.add(entry)
        elif isinstance(event, ExecutionFinished):
            entry = self.running.pop(event.exec_id, None)
            if entry is not None:
                entry.result, entry.result_tone = result_line(event)
                entry.status, entry.tone = ("not run", "error") if event.exit_code == EXIT_NOT_RUN else ("finished", "muted")
                self.dirty.discard(entry)
                self.changed(entry)
        elif isinstance(event, ToolCallStarted):
            note = NoticeEntry(text=f"⚙ running {event.call.name}({one_line(event.call.arguments, 120)})…",
                               tone="warning")
            self.tools[event.call.id] = note
            self._add(note, self.pane(event.agent), self.timeline)
        elif isinstance(event, ToolCallFinished):
            note = self.tools.pop(event.result.call_id, None)
            text = f"{'✗' if event.result.is_error else '↳'} {event.result.name}: {one_line(event.result.content, 160)}"
            if note is None:
                self._note(event.agent, text, "error" if event.result.is_error else "success")
            else:
                note.text, note.tone = text, "error" if event.result.is_error else "success"
                self.changed(note)
        elif isinstance(event, Notice):
            tone = {"info": "muted", "warning": "warning", "error": "error"}[event.level]
            self._note(event.agent, f"{event.level}: {event.text}" if event.level != "info" else event.text, tone)
        elif isinstance(event, SpeakerSelected):
            note = f" ({event.note})" if event.note else ""
            self._add(NoticeEntry(text=f"round {event.round}: {event.agent} speaks next [{event.method}]{note}"),
                      self.timeline)
        elif isinstance(event, TurnStarted):
            entry = self.live.get(event.agent)
            if entry is not None and not entry.streaming and entry.struck:
                self.live.pop(event.agent, None)
        elif isinstance(event, RunStarted):
            names = ", ".join(a.name for a in event.agents)
            kind = "group chat" if event.team_kind == "group_chat" else "two-agent chat"
            self._add(NoticeEntry(text=f"team {event.team} ({kind}: {names})"
                                       + (" · resumed" if event.resumed else "")), self.timeline)
        elif isinstance(event, RunStopped):
            for entry in self.live.values():
                if entry.streaming:
                    entry.streaming, entry.tags = False, ["interrupted"]
                    self.changed(entry)
            self.live.clear()
            for entry in self.waiting_code + list(self.running.values()):
                self._add(entry, self.timeline)
                if entry.status not in ("finished", "skipped"):
                    entry.status, entry.tone = "not run: the run stopped", "muted"
                    self.changed(entry)
            self.waiting_code.clear()
            self._add(NoticeEntry(text=f"■ run stopped: {event.reason}", tone="error"), self.timeline)

    # -- per event type -------------------------------------------------------------------------
    def _discarded(self, event: DraftDiscarded) -> None:
        # The stream broke: its text stays visible but struck, and the next delta starts afresh.
        entry = self.live.pop(event.agent, None)
        if entry is None or not entry.streaming:
            return
        entry.streaming, entry.struck, entry.tone = False, True, "warning"
        entry.tags = [f"discarded: {one_line(event.reason, 100)}"]
        self.dirty.discard(entry)
        self.changed(entry)

    def _drafted(self, event: MessageDrafted) -> None:
        entry = self.live.get(event.agent)
        if entry is None or entry.struck:
            entry = MessageEntry(sender=event.agent)
            self.live[event.agent] = entry
            self._add(entry, self.pane(event.agent))
        entry.content, entry.streaming, entry.tags, entry.tone = event.content, False, ["draft"], "muted"
        entry.notes = [f"⚙ calls {c.name}({one_line(c.arguments, 160)})" for c in event.tool_calls]
        self.dirty.discard(entry)
        self.changed(entry)

    def _delivered(self, event: MessageDelivered) -> None:
        m = event.message
        self.messages += 1
        notes = [f"⚙ calls {c.name}({one_line(c.arguments, 160)})" for c in m.tool_calls]
        notes += [f"{'✗' if r.is_error else '↳'} {r.name}: {one_line(r.content, 200)}" for r in m.tool_results]
        if m.sender == "human" or (m.origin == "human" and m.sender not in self._panes()):
            target = m.recipient or "all"
            for i, (entry, text, tgt) in enumerate(self.injected):
                if text == m.content and tgt == target:
                    del self.injected[i]
                    entry.tags, entry.tone = [f"→ {target}", "delivered"], "success"
                    self.changed(entry)
                    return
            entry = MessageEntry(sender=HUMAN, content=m.content, human=True, tags=[f"→ {target}", "delivered"],
                                 notes=notes, tone="success")
            panes = list(self._panes().values()) if target == "all" else [self.pane(target)]
            self._add(entry, *panes, self.timeline)
            return
        entry = self.live.pop(m.sender, None) if m.origin == "agent" else None
        if entry is None or entry.struck:
            entry = MessageEntry(sender=m.sender)
            self._add(entry, self.pane(m.sender))
        approval = [t for t in entry.tags if t.startswith("approved")]
        entry.content, entry.streaming, entry.notes, entry.struck = m.content, False, notes, False
        entry.markdown = m.origin in ("agent", "human")
        entry.human = False
        entry.tone = "muted"
        if m.human_edited:
            entry.tags, entry.tone = ["edited by you"], "warning"
        elif m.origin == "human":
            entry.tags = ["task"] if self.messages == 1 else ["written by you"]
        elif m.origin == "execution":
            entry.tags = ["code result → team"]
        elif m.origin == "tool":
            entry.tags = [f"tool result → {m.recipient}" if m.recipient else "tool result"]
        else:
            entry.tags = ([f"→ {m.recipient}"] if m.recipient else []) + approval
            entry.tone = "success" if approval else "muted"
        self.dirty.discard(entry)
        self._add(entry, self.timeline)
        self.changed(entry)

    def _requested(self, event: DecisionRequested) -> None:
        request = event.request
        if request.kind == RequestKind.MESSAGE:
            entry = self.live.get(request.agent)
            if entry is not None:
                entry.tags, entry.tone = ["draft · waiting for you"], "warning"
                self.changed(entry)
        elif request.kind == RequestKind.CODE:
            for entry in self.waiting_code:
                if entry.agent == request.agent:
                    entry.status, entry.tone = "waiting for you", "warning"
                    self.changed(entry)
        elif request.kind in (RequestKind.HUMAN_INPUT, RequestKind.TOOL_CALL, RequestKind.SPEAKER):
            self._note(request.agent, f"waiting for you: {request.prompt}", "warning", timeline=False)

    def _recorded(self, event: DecisionRecorded) -> None:
        d = event.decision
        self._add(NoticeEntry(text=f"{event.request_kind.value} of {event.agent}: {d.describe()}",
                              tone="muted" if d.by != DecidedBy.HUMAN else "warning"), self.timeline)
        if event.request_kind == RequestKind.MESSAGE:
            entry = self.live.get(event.agent)
            if entry is None:
                return
            if d.kind == DecisionKind.REJECT:
                entry.struck, entry.tags, entry.tone = True, [f"rejected by you: {one_line(d.content or '', 100)}"], "error"
            elif d.kind == DecisionKind.EDIT:
                entry.tags, entry.tone = ["edited by you · delivering"], "warning"
            elif d.kind == DecisionKind.APPROVE:
                scope = " for this session" if d.scope.value != "once" else ""
                entry.tags, entry.tone = [f"approved{scope} by {_who(d.by)}"], "success"
            elif d.kind == DecisionKind.INJECT:
                entry.tags, entry.tone = ["you injected a message"], "warning"
            elif d.kind == DecisionKind.STOP:
                entry.tags, entry.tone = ["not delivered: stopped"], "error"
            self.changed(entry)
        elif event.request_kind == RequestKind.CODE:
            status, tone = {
                DecisionKind.APPROVE: (f"approved by {_who(d.by)}", "success"),
                DecisionKind.EDIT: ("edited by you, then approved", "warning"),
                DecisionKind.SKIP: (f"skipped by {_who(d.by)}", "muted"),
                DecisionKind.REPLY: ("not run: you replied instead", "muted"),
                DecisionKind.STOP: ("not run: stopped", "error"),
            }.get(d.kind, (d.kind.value, "muted"))
            for entry in [e for e in self.waiting_code if e.agent == event.agent]:
                self._add(entry, self.timeline)
                entry.status, entry.tone = status, tone
                if d.kind not in (DecisionKind.APPROVE, DecisionKind.EDIT):
                    self.waiting_code.remove(entry)
                self.changed(entry)

    def _exec_started(self, event: ExecutionStarted) -> None:
        entry = next((e for e in self.waiting_code if e.language == event.language), None)
        entry = entry or (self.waiting_code[0] if self.waiting_code else None)
        if entry is None:
            entry = CodeEntry(agent=event.agent, language=event.language, code=event.code)
            self._add(entry, self.pane(event.agent), self.timeline)
        else:
            self.waiting_code.remove(entry)
        edited = entry.code.strip() != event.code.strip()
        entry.code = event.code
        entry.executor, entry.exec_id = event.executor, event.exec_id
        entry.status, entry.tone = f"▶ running {'your edited code ' if edited else ''}as {event.agent}", "warning"
        self.running[event.exec_id] = entry
        self._add(entry, self.pane(event.agent), self.timeline)
        self.changed(entry)
