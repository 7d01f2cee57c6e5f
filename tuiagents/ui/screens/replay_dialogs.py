"""Small dialogs of the replay and the session browser: ask for a number, confirm an action.

`NumberPromptScreen` asks for a whole number in a range (jump to turn N, fork at event N) and says
inline what is wrong with the input; `ConfirmScreen` asks yes or no before something that cannot be
undone (deleting a session). Both return None when cancelled with Esc.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from tuiagents.ui.actions import Where, bindings_of
from tuiagents.ui.safe_text import inert


class NumberPromptScreen(ModalScreen[int | None]):
    """Asks for a whole number from `low` to `high`; Enter accepts, Esc cancels."""

    CSS_PATH = "replay_dialogs.tcss"
    BINDINGS = bindings_of(Where.DIALOG, "number")

    def __init__(self, title: str, low: int, high: int, *, hint: str = "", initial: int | None = None,
                 accept_label: str = "Go") -> None:
        super().__init__()
        self.title_text = title
        self.low, self.high = low, high
        self.hint = hint
        self.initial = initial
        self.accept_label = accept_label

    def compose(self) -> ComposeResult:
        """Title, hint, the number, error line, buttons."""
        with Vertical(classes="dialog number-dialog"):
            yield Label(Text(self.title_text), classes="dialog-title")
            yield Static(Text(self.hint or f"A number from {self.low:,} to {self.high:,}."), classes="dialog-hint")
            yield Input(value="" if self.initial is None else str(self.initial), type="integer",
                        placeholder=f"{self.low}–{self.high}", id="number-input")
            yield Static(Text(""), classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(Text(f"{self.accept_label} [enter]"), variant="primary", action="screen.accept",
                             id="number-accept")
                yield Button(Text("Cancel [esc]"), variant="error", action="screen.cancel")

    def on_mount(self) -> None:
        """Focus the number, all of it selected so typing replaces it."""
        field = self.query_one(Input)
        field.focus()
        field.select_all()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_accept()

    def action_accept(self) -> None:
        """Return the number, unless it is not a whole number in range (then say why)."""
        raw = self.query_one(Input).value.strip()
        error = self.query_one(".dialog-error", Static)
        try:
            value = int(raw)
        except ValueError:
            error.update(Text(f"Type a whole number from {self.low:,} to {self.high:,}, or press Esc.", style="bold"))
            return
        if not self.low <= value <= self.high:
            error.update(Text(f"{value:,} is out of range: choose {self.low:,} to {self.high:,}.", style="bold"))
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        """Close without a number."""
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """Asks whether to go ahead with `action_label`; y or the button confirms, n or Esc cancels."""

    CSS_PATH = "replay_dialogs.tcss"
    BINDINGS = bindings_of(Where.DIALOG, "confirm")

    def __init__(self, title: str, message: str, *, action_label: str = "Yes", danger: bool = True) -> None:
        super().__init__()
        self.title_text = title
        self.message = message
        self.action_label = action_label
        self.danger = danger

    def compose(self) -> ComposeResult:
        """Title, message, buttons."""
        with Vertical(classes="dialog confirm-dialog"):
            yield Label(Text(self.title_text), classes="dialog-title")
            yield Static(Text(inert(self.message)), classes="dialog-hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button(Text(f"{self.action_label} [y]"), variant="error" if self.danger else "primary",
                             action="screen.confirm", id="confirm-yes")
                yield Button(Text("Cancel [n]"), action="screen.cancel", id="confirm-no")

    def on_mount(self) -> None:
        """Focus Cancel, so Enter alone does nothing destructive."""
        self.query_one("#confirm-no", Button).focus()

    def action_confirm(self) -> None:
        """Go ahead."""
        self.dismiss(True)

    def action_cancel(self) -> None:
        """Do not."""
        self.dismiss(False)
