"""The stages of a sequence as one line above the panes: `1 research ✓ · 2 writing ▶ · 3 review ○`.

Read from the run view alone (the plan from `RunStarted.stages`, each stage's state from its
`ChatStarted`/`ChatEnded`), so a live run, a replay and a resumed run draw it the same way. A
click on it opens the stages (their summaries and messages); so does the `stages` key.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.widget import Widget

from tuiagents.engine.chats import RUN_WIDE_STOPS
from tuiagents.engine.events import StopKind
from tuiagents.engine.view_parts import ChatView
from tuiagents.ui.safe_text import one_line
from tuiagents.ui.state import CockpitState

#: what each state of a stage looks like: glyph, style
DONE, RUNNING, STOPPED, CUT, WAITING = "✓", "▶", "■", "✗", "○"
_STYLE = {DONE: "green", RUNNING: "bold", STOPPED: "yellow", CUT: "red", WAITING: "dim"}


@dataclass(frozen=True)
class StageLine:
    """One stage as the strip and the stages dialog show it."""

    index: int  # from 1
    team: str
    glyph: str
    chat: ChatView | None  # None until it started

    @property
    def words(self) -> str:
        """How it stands, in words."""
        return {DONE: "done", RUNNING: "running", STOPPED: "stopped alone", CUT: "cut off by a stop",
                WAITING: "not started"}[self.glyph]


def stage_lines(state: CockpitState) -> list[StageLine]:
    """Every stage of the run's sequence, planned or seen, in order."""
    seen = state.stages()
    names = list(state.stage_plan)
    for chat in seen:  # a log written before the plan was told, or a plan that grew
        index = chat.started.index or 0
        if index > len(names):
            names += [""] * (index - len(names))
        if index and not names[index - 1]:
            names[index - 1] = chat.title.split(": ", 1)[-1]
    by_index = {c.started.index: c for c in seen}
    out = []
    for i, team in enumerate(names, start=1):
        chat = by_index.get(i)
        out.append(StageLine(i, team, _glyph(chat), chat))
    return out


def _glyph(chat: ChatView | None) -> str:
    if chat is None:
        return WAITING
    if chat.ended is None:
        return RUNNING
    if chat.ended.kind == StopKind.CHAT_STOPPED:
        return STOPPED
    return CUT if chat.ended.kind in RUN_WIDE_STOPS else DONE


def strip_text(lines: list[StageLine], width: int) -> Text:
    """The strip's line; names shrink (then the done stages fold to their numbers) to fit `width`."""
    for cap in (24, 14, 8, 0):
        text = Text()
        for n, line in enumerate(lines):
            if n:
                text.append(" · ", "dim")
            name = one_line(line.team, cap) if cap and (line.glyph != DONE or cap > 8) else ""
            text.append(f"{line.index}{' ' + name if name else ''} {line.glyph}", _STYLE[line.glyph])
        if text.cell_len <= width or cap == 0:
            return text
    return text


class StageStrip(Widget):
    """The sequence's stages on one line; hidden for a run that is not a sequence."""

    DEFAULT_CSS = """
    StageStrip { height: 1; padding: 0 1; background: $panel; display: none; }
    StageStrip.-shown { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: list[StageLine] = []

    def show(self, state: CockpitState) -> None:
        """Draw the stages as the view knows them."""
        lines = stage_lines(state)
        if lines != self.lines:
            self.lines = lines
            self.set_class(bool(lines), "-shown")
            self.refresh()

    def render(self) -> Text:
        """The line, fitted to the width the strip has now."""
        return strip_text(self.lines, max(20, self.size.width - 2))

    def on_click(self, event: events.Click) -> None:
        """Open the stages (their summaries and messages)."""
        event.stop()
        opener = getattr(self.screen, "action_stages", None)
        if opener is not None:
            opener()
