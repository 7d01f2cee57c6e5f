"""The two cockpit widgets that look different in a replay: the status bar and the request panel.

`ReplayStatusBar` puts REPLAY, play state, speed and position (event k of n, turn t of T) in front
of the usual status line. `HistoryRequestPanel` shows a request from the log as history: what was
asked and what was decided next, with no buttons — nothing in a replay can be decided again.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from tuiagents.engine.decisions import Sender
from tuiagents.engine.events import DecisionRecorded, DecisionRequested
from tuiagents.ui.safe_text import inert, one_line
from tuiagents.ui.state import CockpitState
from tuiagents.ui.widgets.request_panel import _KIND_LABEL, RequestPanel
from tuiagents.ui.widgets.status_bar import StatusBar, status_text


class ReplayStatusBar(StatusBar):
    """The status bar of a replay; `label()` gives the replay part (play state, speed, position)."""

    DEFAULT_CSS = """
    ReplayStatusBar { background: $accent 30%; }
    """

    def __init__(self, label: Callable[[], str], id: str | None = None) -> None:
        super().__init__(id=id)
        self.label = label

    def show(self, state: CockpitState, now: float, waiting: int | None = None) -> None:
        """Redraw: REPLAY and the position, then the run's status at that point (`waiting` as
        `StatusBar.show` takes it: a replay has no answers of its own, so the fold's count)."""
        n = len(state.pending) if waiting is None else waiting
        note = f"◷ {n} decision{'s' if n > 1 else ''} pending at this point" if n else ""
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(" REPLAY ", "bold reverse")
        text.append(f" {self.label()}", "bold")
        text.append("  │  ", "dim")
        text.append_text(status_text(state, now, note))
        self.set_class(state.stopped, "-stopped")
        self.update(text)


class HistoryRequestPanel(RequestPanel):
    """The request panel of a replay: the pending request as history, and what the log decided."""

    DEFAULT_CSS = """
    HistoryRequestPanel { border-top: thick $accent; }
    HistoryRequestPanel #request-title { color: $accent; }
    HistoryRequestPanel #request-outcome { height: auto; color: $text-muted; }
    """

    def __init__(self, outcome: Callable[[str], DecisionRecorded | None], id: str | None = None,
                 reader: Sender | None = None) -> None:
        super().__init__(lambda _bid: "", lambda _rid: None, id=id)  # a replay answers nothing
        self.outcome = outcome
        #: who reads the log (`engine.view.log_reader`): who decided is told as they read it
        self.reader = reader

    def compose(self) -> ComposeResult:
        """The request panel's parts (its buttons row stays empty), and the decision the log records."""
        yield from super().compose()
        yield Static(id="request-outcome")

    def show(self, pending: list[DecisionRequested], current: DecisionRequested | None, code_style: str,
             hold: bool = True) -> None:
        """Show `current` as history, or hide when nothing was pending at this point."""
        self.set_class(current is not None, "-shown")
        if current is None:
            self.shown_id = None
            return
        request = current.request
        title = Text()
        title.append(f"◷ Replay · at this point {one_line(request.agent, 24)}'s "
                     f"{_KIND_LABEL.get(request.kind, request.kind.value)} waited for a decision: ")
        title.append(inert(request.prompt) or "decide")
        if len(pending) > 1:
            title.append(f"  (+{len(pending) - 1} more pending)", "dim")
        self.query_one("#request-title", Static).update(title)
        if self.shown_id == request.id:
            return
        self.shown_id = request.id
        self.show_body(request, code_style)
        recorded = self.outcome(request.id)
        if recorded is None:
            line = "The log records no decision for it (the run ended first)."
        else:
            line = f"Next in the log: {one_line(recorded.decision.describe(self.reader), 200)}."
        self.query_one("#request-outcome", Static).update(
            Text(f"{line}  This is a replay: nothing can be decided here.", style="italic"))
