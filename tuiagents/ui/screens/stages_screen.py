"""The stages of a sequence, opened from the strip: each stage's state, what it was asked, the
summary it handed on, and its messages. Earlier stages are folded to their summaries in the
cockpit; this is where they open again. Usable at 80×24: the list on top, the stage below.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from tuiagents.text import inert
from tuiagents.ui.actions import Where, bindings_of
from tuiagents.ui.safe_text import one_line
from tuiagents.ui.state import CockpitState
from tuiagents.ui.widgets.stage_strip import StageLine, stage_lines

#: a message longer than this is cut here (the session log and the full view keep all of it)
MESSAGE_CUT = 4000


def stage_text(state: CockpitState, line: StageLine) -> Text:
    """One stage in words: how it stands, its task, its summary, then its messages."""
    out = Text()
    out.append(f"Stage {line.index}: {line.team} · {line.words}\n", "bold")
    chat = line.chat
    if chat is None:
        out.append("It has not started yet.", "dim")
        return out
    if chat.ended is not None:
        out.append(f"Ended: {one_line(chat.ended.reason, 200)}\n", "dim")
        out.append("Summary handed on:\n", "bold")
        out.append(_cut(chat.summary or "(empty)") + "\n")
    out.append("Task:\n", "bold")
    out.append(_cut(chat.started.task) + "\n")
    messages = state.messages_in(chat.id)
    out.append(f"Messages ({len(messages)}):\n", "bold")
    for m in messages:
        out.append(f"{m.sender}: ", "bold cyan")
        out.append(_cut(m.content or "") + "\n")
    return out


def _cut(text: str) -> str:
    """Every character shown as it is (control and bidi characters made visible), cut when long."""
    shown = inert(text[:MESSAGE_CUT])
    return shown if len(text) <= MESSAGE_CUT else shown + f"… (cut at {MESSAGE_CUT:,} characters)"


class StagesScreen(ModalScreen[None]):
    """Pick a stage above; its summary, task and messages show below. Esc closes."""

    BINDINGS = bindings_of(Where.DIALOG, "pick")
    DEFAULT_CSS = """
    StagesScreen { align: center middle; }
    StagesScreen > Vertical { width: 96%; height: 94%; border: thick $primary; background: $surface; }
    StagesScreen .dialog-title { height: 1; padding: 0 1; text-style: bold; color: $primary; }
    StagesScreen #stage-list { height: auto; max-height: 7; }
    StagesScreen #stage-scroll { height: 1fr; padding: 0 1; }
    StagesScreen #stage-hint { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, state: CockpitState, selected: int | None = None) -> None:
        super().__init__()
        self.state = state
        self.lines = stage_lines(state)
        self.selected = selected

    def compose(self) -> ComposeResult:
        """Title, the stages, the chosen stage, a hint."""
        with Vertical():
            yield Label(Text("Stages of the sequence"), classes="dialog-title")
            yield OptionList(*[Option(Text(f"{ln.glyph} {ln.index} {one_line(ln.team, 20)} · {ln.words}"
                                           + (f" · {one_line(ln.chat.summary, 60)}" if ln.chat and ln.chat.summary
                                              else "")), id=str(ln.index)) for ln in self.lines],
                             id="stage-list")
            with VerticalScroll(id="stage-scroll"):
                yield Static(id="stage-detail")
            yield Static(Text("↑↓ choose a stage · escape closes"), id="stage-hint")

    def on_mount(self) -> None:
        """Show the chosen stage (by default the last that started)."""
        options = self.query_one(OptionList)
        options.focus()
        started = [ln.index for ln in self.lines if ln.chat is not None]
        index = self.selected or (started[-1] if started else 1)
        if self.lines:
            options.highlighted = max(0, min(index, len(self.lines)) - 1)
            self._show(options.highlighted)

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show(event.option_index)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._show(event.option_index)
        self.query_one("#stage-scroll").focus()

    def _show(self, position: int | None) -> None:
        if position is None or not 0 <= position < len(self.lines):
            return
        self.query_one("#stage-detail", Static).update(stage_text(self.state, self.lines[position]))
        self.query_one("#stage-scroll", VerticalScroll).scroll_home(animate=False)

    def action_cancel(self) -> None:
        """Close."""
        self.dismiss(None)
