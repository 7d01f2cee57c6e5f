"""F1: every key binding with its current key, its id (for `[keymap]`) and what it does."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Static

from tuiagents.ui.bindings import (
    APP_BINDINGS,
    COCKPIT_BINDINGS,
    REPLAY_BINDINGS,
    SESSIONS_BINDINGS,
    dialog_bindings,
)


class HelpScreen(ModalScreen[None]):
    """A table of bindings; Esc, q or F1 closes it."""

    CSS_PATH = "help_screen.tcss"
    BINDINGS = [Binding("escape,q,f1", "dismiss_help", "Close", id="help_close")]

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
        table.add_columns("Key", "Id", "What it does", "Where")
        for where, bindings in (("cockpit", COCKPIT_BINDINGS), ("everywhere", APP_BINDINGS),
                                ("replay", REPLAY_BINDINGS), ("sessions", SESSIONS_BINDINGS),
                                ("dialogs", dialog_bindings())):
            for b in bindings:
                keys = self.keymap.get(b.id or "", b.key)
                table.add_row(Text(keys, style="bold"), b.id or "", Text(b.tooltip or b.description), where)
        table.focus()

    def action_dismiss_help(self) -> None:
        """Close the help."""
        self.dismiss(None)
