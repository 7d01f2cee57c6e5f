"""Requests in the feed: the one place the panes say "waiting for you".

A request shows where it was asked (the draft, the code blocks, a note in the pane): waiting while
the view's `Waiting` has it, else what was decided (the run's record, or an answer given here a
moment ago), else never answered. `settle_requests` shows again what `Waiting` holds otherwise now.
"""

from __future__ import annotations

from collections.abc import Callable

from tuiagents.engine.decisions import ROOT_CHAT, DecidedBy, DecisionKind, RequestKind
from tuiagents.engine.events import DecisionRecorded, DecisionRequested
from tuiagents.engine.view import RunView
from tuiagents.ui.chat_block import BlockSink
from tuiagents.ui.entries import CodeEntry, Entry, MessageEntry, NoticeEntry
from tuiagents.ui.entry_words import code_status, message_tags
from tuiagents.ui.safe_text import one_line
from tuiagents.ui.state import Waiting
from tuiagents.ui.widgets.transcript import Transcript


class FeedRequests:
    """Mixin of `ConversationFeed` for requests; the feed provides what is declared here."""

    # Declared, not defined: `ConversationFeed` sets them (its module imports this one).
    view: RunView
    waiting: Waiting
    timeline: Transcript
    shown: dict[str, Entry]
    #: request id -> the view ids shown as waiting for it
    asking: dict[str, list[str]]
    pane: Callable[[str | None], Transcript | BlockSink | None]
    _add: Callable[..., Entry]
    changed: Callable[[Entry], None]

    def _requested(self, event: DecisionRequested) -> None:
        request = event.request
        if request.kind not in (RequestKind.MESSAGE, RequestKind.CODE):
            note = self.shown[request.id] = NoticeEntry(tone="warning")
            self._add(note, self.pane(request.agent))
        self.show_request(request.id, request.kind, request.agent, request.chat)

    def _recorded(self, event: DecisionRecorded) -> None:
        d = event.decision
        self._add(NoticeEntry(text=f"{event.request_kind.value} of {event.agent}: {d.describe(self.view.viewer)}",
                              tone="muted" if d.by != DecidedBy.HUMAN else "warning"), self.timeline)
        self.show_request(event.request_id, event.request_kind, event.agent, event.chat)

    def show_request(self, request_id: str, kind: RequestKind, agent: str, chat: str = ROOT_CHAT) -> None:
        """Show a request where it was asked (the draft, the code blocks, a note in the pane) as the
        view holds it: waiting while `waiting` has it, else what was decided (recorded, or given
        here a moment ago), else never answered (the run stopped, or tuiagents did before an answer)."""
        waiting = self.waiting.waits(request_id)
        recorded = None if waiting else self.waiting.recorded(request_id)
        d = recorded if waiting or recorded is not None else self.waiting.decision(request_id)
        why = "the run stopped" if self.view.stopped else "tuiagents stopped before an answer"
        if kind == RequestKind.MESSAGE:
            entry = self.view.draft_of(agent, chat)
            ids = [entry.id] if entry is not None and entry.request_id == request_id else []
        elif kind == RequestKind.CODE:
            ids = list(self.view.request_blocks.get(request_id, []))
        else:
            ids = [request_id]
        ids = ids or self.asking.get(request_id, [])
        if waiting:
            self.asking[request_id] = ids
        else:
            self.asking.pop(request_id, None)
        prompt = one_line(self.view.requests[request_id].request.prompt, 200) \
            if request_id in self.view.requests else kind.value
        for vid in ids:
            shown = self.shown.get(vid)
            if isinstance(shown, MessageEntry):
                if waiting:  # again, too: a reject given here that the run refused is not struck
                    shown.tags, shown.tone, shown.struck = ["draft · waiting for you"], "warning", False
                elif d is not None:
                    shown.tags, shown.tone = message_tags(d, self.view.viewer)
                    shown.struck = d.kind == DecisionKind.REJECT
                else:
                    shown.tags, shown.tone = [f"not delivered: {why}"], "error"
            elif isinstance(shown, CodeEntry):
                if waiting:
                    shown.status, shown.tone = "waiting for you", "warning"
                elif d is not None:
                    # a runnable block joins the timeline once the run recorded its decision, so
                    # its outcome never reads before its approval there
                    if recorded is not None:
                        self._add(shown, self.timeline)
                    shown.status, shown.tone = code_status(d, self.view.viewer)
                else:
                    self._add(shown, self.timeline)
                    shown.status, shown.tone = f"not run: {why}", "muted"
            elif isinstance(shown, NoticeEntry):
                if waiting:
                    shown.text, shown.tone = f"waiting for you: {prompt}", "warning"
                elif d is not None:
                    shown.text = f"{prompt} → {d.describe(self.view.viewer)}"
                    shown.tone = "error" if d.kind in (DecisionKind.STOP, DecisionKind.REJECT) else "success"
                else:
                    shown.text, shown.tone = f"not answered: {prompt} ({why})", "muted"
            else:
                continue
            self.changed(shown)

    def settle_requests(self) -> None:
        """Show again every request the panes show otherwise than `waiting` holds it now: shown as
        waiting but answered (by the run, or here ahead of it), or shown answered but waiting again
        (the run refused an answer given here)."""
        for request_id in list(self.asking):
            if not self.waiting.waits(request_id):
                event = self.view.requests.get(request_id)
                if event is not None:
                    self.show_request(request_id, event.request.kind, event.request.agent, event.request.chat)
                else:
                    self.asking.pop(request_id, None)
        for request_id, event in list(self.view.waiting.items()):
            if request_id not in self.asking and self.waiting.waits(request_id):
                self.show_request(request_id, event.request.kind, event.request.agent, event.request.chat)
