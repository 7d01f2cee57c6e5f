"""RunView: the one fold of the event stream, which every reader of a run renders from.

`RunView.apply(event)` is the only place that turns events into state: the run's team and task,
turns and rounds, message entries by id (drafts being streamed, edits, rejections, discarded
drafts, queued and delivered human messages), pending requests by request id, agent states, code
proposals and their blocks by id, executions by id, tool calls by id, usage, the human controls
(paused, forced next speaker, stop requested, each with who did it) and the stop. The cockpit,
the console, transcripts and exports, resume and replay read it; they render, they never re-derive.

Ids, never content: a draft gets an id when its first token arrives (`d<seq>`), and the delivered
message it became is found by the message's own id; a code block is `<proposal id>.<index>`; an
execution is its `exec_id`; a request its request id.

Usage has one meaning everywhere (`engine.usage.Usage`): `calls` counts every LLM call, cache hits
included; tokens and cost count only billed calls.

Adding an event type means one handler in `view_fold.FOLD` (a test fails for a type without one)
and the renderers that show it. The parts live in `view_parts`, the state in `view_state`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tuiagents.engine.events import TokenDelta
from tuiagents.engine.view_fold import FOLD
from tuiagents.engine.view_parts import (
    CONTROL_EVENTS, AgentState, AgentView, BlockView, Controls, EntryStatus, ExecutionView, Leg, MessageView,
    ProposalView, ToolView, control_words, log_reader,
)
from tuiagents.engine.view_state import RunViewState

__all__ = ["CONTROL_EVENTS", "AgentState", "AgentView", "BlockView", "Controls", "EntryStatus", "ExecutionView",
           "Leg", "MessageView", "ProposalView", "RunView", "ToolView", "control_words", "log_reader", "fold",
           "handled_event_types"]


class RunView(RunViewState):
    """A run as every reader sees it, built by `apply(event)` from events alone (live or logged)."""

    # -- the fold ------------------------------------------------------------------------------
    def apply(self, event: Any) -> None:
        """Fold one event into the view (an event type without a handler is an error)."""
        ts = event.ts
        if self.first_ts is None:
            self.first_ts = ts
        if ts > self.last_ts:
            self.last_ts = ts
        kind = type(event)
        FOLD[kind](self, event)
        if self.keep_events and kind is not TokenDelta:
            self.events.append(event)

    def apply_all(self, events: Iterable[Any]) -> "RunView":
        """Fold many events; returns the view."""
        for event in events:
            self.apply(event)
        return self


def handled_event_types() -> set[type]:
    """The event types the fold handles (the exhaustiveness test compares it with `Event`)."""
    return set(FOLD)


def fold(events: Iterable[Any], keep_events: bool = True) -> RunView:
    """A view of `events` (a log's events, or any iterable), keeping them in order by default."""
    return RunView(keep_events=keep_events).apply_all(events)
