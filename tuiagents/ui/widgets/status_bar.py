"""The status bar: round or turn, who speaks and who is next, totals, elapsed time, stop reason."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tuiagents.ui.safe_text import one_line
from tuiagents.ui.state import CockpitState
from tuiagents.ui.widgets.agent_pane import format_cost, format_tokens


def format_elapsed(seconds: float) -> str:
    """H:MM:SS or M:SS."""
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def status_text(state: CockpitState, now: float, pending_note: str = "") -> Text:
    """The status line for `state` at time `now` (pure, so tests can read it)."""
    t = Text(no_wrap=True, overflow="ellipsis")
    sep = ("  │  ", "dim")
    label = "round" if state.is_group else "turn"
    t.append(f"{label} {state.round}", "bold")
    if state.speaker and not state.stopped:
        t.append(*sep)
        t.append("speaking: ")
        t.append(one_line(state.speaker, 24), "bold")
    if not state.stopped:
        t.append(*sep)
        t.append("next: ")
        if state.next_speaker:
            t.append(one_line(state.next_speaker, 24), "bold")
            if state.next_note:
                t.append(f" ({one_line(state.next_note, 24)})", "dim")
        else:
            t.append("chosen after this turn" if state.is_group else "—", "dim")
    t.append(*sep)
    t.append(f"{format_tokens(state.total_tokens)} tok  {format_cost(state.total_cost)}")
    t.append(*sep)
    t.append(f"⏱ {format_elapsed(state.elapsed(now))}")
    if pending_note and not state.stopped:
        t.append(*sep)
        t.append(pending_note, "bold reverse")
    if state.paused and not state.stopped:
        t.append(*sep)
        t.append("⏸ paused (before the next turn)", "bold")
    elif state.stop_requested and not state.stopped:
        t.append(*sep)
        t.append("stopping…", "bold")
    if state.stopped:
        t.append(*sep)
        t.append(f"■ stopped: {one_line(state.stop_reason or '', 120)}", "bold")
    return t


class StatusBar(Static):
    """One line at the bottom of the cockpit; `show()` redraws it."""

    DEFAULT_CSS = """
    StatusBar { height: 1; padding: 0 1; background: $primary 30%; color: $foreground; }
    StatusBar.-stopped { background: $error 35%; }
    StatusBar.-waiting { background: $warning 35%; }
    """

    def show(self, state: CockpitState, now: float) -> None:
        """Redraw from `state` at time `now`."""
        n = len(state.pending)
        note = f"⏳ {n} waiting for you" if n else ""
        self.set_class(state.stopped, "-stopped")
        self.set_class(bool(n) and not state.stopped, "-waiting")
        self.update(status_text(state, now, note))
