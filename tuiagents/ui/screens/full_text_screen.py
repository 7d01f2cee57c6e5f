"""All of a long message or code block, in a scrollable screen (the view cuts them; this does not).

The text is split into pieces (`entries.chunks`) shown by the same virtualised `Transcript` the panes
use, so a 5 MB line opens at once and only the rows on screen are ever rendered. Every character
and line is shown, inert, as plain text.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from tuiagents.ui.actions import Where, bindings_of
from tuiagents.ui.entries import TextChunkEntry, chunks
from tuiagents.ui.safe_text import one_line
from tuiagents.ui.widgets.transcript import Transcript


class FullTextScreen(ModalScreen[None]):
    """A title line, the whole text, and how to close it."""

    BINDINGS = bindings_of(Where.DIALOG, "full_text")

    DEFAULT_CSS = """
    FullTextScreen { align: center middle; }
    FullTextScreen > Vertical { width: 96%; height: 94%; border: thick $primary; background: $surface; }
    FullTextScreen #full-title { height: auto; padding: 0 1; background: $panel; text-style: bold; }
    FullTextScreen #full-text { height: 1fr; padding: 0 1; }
    FullTextScreen #full-hint { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.text = text
        self.transcript = Transcript(id="full-text")
        self.transcript.follow = False  # start at the top

    def compose(self) -> ComposeResult:
        """Title, text, hint."""
        lines = self.text.count("\n") + 1
        with Vertical():
            yield Static(Text(f"{one_line(self.title_text, 100)} · {len(self.text):,} characters · "
                              f"{lines:,} line{'s' if lines != 1 else ''}"), id="full-title")
            yield self.transcript
            yield Static(Text("escape closes · the session log keeps all of it"), id="full-hint")

    def on_mount(self) -> None:
        """Fill the transcript (cheap: pieces are only estimated until they are on screen)."""
        self.transcript.extend(TextChunkEntry(text=piece, continues=cont) for piece, cont in chunks(self.text))
        self.transcript.focus()

    def action_close(self) -> None:
        """Back to where you were."""
        self.dismiss(None)
