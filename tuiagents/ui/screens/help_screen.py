"""F1: every action of the registry with its current key, its id (for `[keymap]`) and what it does."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Static

from tuiagents.ui.actions import Where, actions_of, bindings_of
from tuiagents.ui.bindings import key_words


class HelpScreen(ModalScreen[None]):
    """A table of bindings; Esc, q or F1 closes it."""

    CSS_PATH = "help_screen.tcss"
    BINDINGS = bindings_of(Where.DIALOG, "help")

    def __init__(self, keymap: dict[str, str] | None = None) -> None:
        super().__init__()
        self.keymap = dict(keymap or {})

    def compose(self) -> ComposeResult:
        """Title, table, hint."""
        with Vertical(id="help-dialog"):
            yield Label(Text("Keys"), id="help-title")
            yield DataTable(id="help-table", cursor_type="row", zebra_stripes=True)
            yield Static(Text("Remap any key by id in config.toml, e.g.  [keymap]  approve = \"ctrl+y\".  "
                              "Every control is also in the command palette (ctrl+p) and clickable."),
                         id="help-hint")

    def on_mount(self) -> None:
        """Fill the table."""
        table = self.query_one(DataTable)
        rows = [(key_words(self.keymap.get(a.id, a.keys)), a.id, a.text, where.value)
                for where in Where for a in actions_of(where)]
        key_w = max(len(r[0]) for r in rows)  # each key on one line: only the descriptions wrap
        id_w = max(len(r[1]) for r in rows)
        where_w = max(len(r[3]) for r in rows)
        # The descriptions wrap (whole words, rows grow) in what the other columns leave of the dialog.
        dialog = min(110, int(self.app.size.width * 0.95)) - 4  # border and padding
        text_w = max(20, dialog - key_w - id_w - where_w - 2 * 4 - 2)
        table.add_column("Key", width=key_w)
        table.add_column("Id", width=id_w)
        table.add_column("What it does", width=text_w)
        table.add_column("Where", width=where_w)
        for keys, bid, text, where in rows:
            table.add_row(Text(keys, style="bold", no_wrap=True), bid, Text(text, overflow="fold"), where,
                          height=None)
        table.focus()

    def action_dismiss_help(self) -> None:
        """Close the help."""
        self.dismiss(None)
