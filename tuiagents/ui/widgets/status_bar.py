"""The status bar: round or turn, who speaks and who is next, totals, elapsed time, stop reason."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tuiagents.engine.decisions import person_words
from tuiagents.engine.usage import format_cost
from tuiagents.ui.safe_text import one_line
from tuiagents.ui.state import CockpitState
from tuiagents.ui.widgets.agent_pane import format_tokens


def format_elapsed(seconds: float) -> str:
    """H:MM:SS or M:SS."""
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def context_line(context: dict[str, str]) -> Text:
    """The `[context]` variables a run's texts were filled from, on one line: "context  customer=Ada · ..."."""
    line = Text("context  ", "dim", no_wrap=True, overflow="ellipsis")
    for i, (name, value) in enumerate(context.items()):
        if i:
            line.append(" · ", "dim")
        line.append(one_line(name, 24), "bold")
        line.append(f"={one_line(value, 60)}")
    return line


def _segments(state: CockpitState, now: float, pending_note: str) -> list[tuple[int, Text]]:
    """(rank, piece) in display order; rank 0 is never dropped, higher ranks go first."""
    out: list[tuple[int, Text]] = []
    label = "round" if state.is_group else "turn"
    stage = state.open_stage() if state.stage_plan else None
    if stage is not None:  # a sequence counts nothing itself: the turns of the stage that runs
        out.append((1, Text(f"stage {stage.started.index or '?'} · turn {stage.round}", "bold")))
    else:
        out.append((1, Text(f"{label} {state.round}", "bold")))
    if state.speaker and not state.stopped:
        out.append((4, Text.assemble("speaking: ", (one_line(state.speaker, 24), "bold"))))
    if not state.stopped:
        nxt = Text("next: ")
        if state.next_speaker:
            nxt.append(one_line(state.next_speaker, 24), "bold")
            if state.next_note:
                nxt.append(f" ({one_line(state.next_note, 24)})", "dim")
        else:
            nxt.append("chosen after this turn" if state.is_group else "—", "dim")
        if stage is None:  # who speaks next inside a stage is its own pattern's business
            out.append((5, nxt))
    out.append((3, Text(f"{format_tokens(state.total_tokens)} tok  {format_cost(state.total_cost)}")))
    out.append((2, Text(f"⏱ {format_elapsed(state.elapsed(now))}")))
    if pending_note and not state.stopped:
        out.append((0, Text(pending_note, "bold reverse")))
    if state.paused and not state.stopped:
        who = state.controls.paused_sender
        by = f" by {person_words(who, state.viewer)}" if who is not None and who != state.viewer else ""
        out.append((0, Text(f"⏸ paused{by} (before the next turn)", "bold")))
    elif state.stop_requested and not state.stopped:
        out.append((0, Text("stopping…", "bold")))
    if state.stopped:
        out.append((0, Text(f"■ stopped: {one_line(state.stop_words() or '', 120)}", "bold")))
    return out


def status_text(state: CockpitState, now: float, pending_note: str = "", width: int | None = None) -> Text:
    """The status line for `state` at time `now` (pure, so tests can read it).

    Given the `width` it has, the line first narrows its separators, then drops the least
    important pieces (who is next, who speaks, the totals, the clock), never the fact that
    someone waits for you, a pause or why the run stopped.
    """
    pieces = _segments(state, now, pending_note)
    wide, narrow = ("  │  ", "dim"), (" │ ", "dim")

    def join(items: list[tuple[int, Text]], sep: tuple[str, str]) -> Text:
        t = Text(no_wrap=True, overflow="ellipsis")
        for i, (_rank, piece) in enumerate(items):
            if i:
                t.append(*sep)
            t.append_text(piece)
        return t

    line = join(pieces, wide)
    if width is None or line.cell_len <= width:
        return line
    line = join(pieces, narrow)
    while line.cell_len > width and any(rank for rank, _ in pieces):
        worst = max(rank for rank, _ in pieces)
        pieces = [p for p in pieces if p[0] != worst]
        line = join(pieces, narrow)
    return line


class StatusBar(Static):
    """One line at the bottom of the cockpit; `show()` redraws it."""

    DEFAULT_CSS = """
    StatusBar { height: 1; padding: 0 1; background: $primary 30%; color: $foreground; }
    StatusBar.-stopped { background: $error 35%; }
    StatusBar.-waiting { background: $warning 35%; }
    """

    def show(self, state: CockpitState, now: float, waiting: int | None = None) -> None:
        """Redraw from `state` at time `now`; `waiting`: how many requests wait for you (the
        view's `Waiting`, which knows of answers the run has not recorded yet), else the fold's."""
        n = len(state.pending) if waiting is None else waiting
        note = f"⏳ {n} waiting for you" if n else ""
        self.set_class(state.stopped, "-stopped")
        self.set_class(bool(n) and not state.stopped, "-waiting")
        width = self.size.width - 2 if self.size.width > 2 else None  # padding 0 1
        self.update(status_text(state, now, note, width))
