"""Small dialogs: a text prompt (reject feedback, your reply), a picker (speaker, code style).

Each validates its input inline (an empty text, an unknown choice) and returns None when cancelled.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from tuiagents.ui.actions import Where, bindings_of
from tuiagents.ui.safe_text import one_line


class TextPromptScreen(ModalScreen[str | None]):
    """Asks for a non-empty text: `title` says what for; ctrl+s sends, Esc cancels."""

    CSS_PATH = "prompt_screens.tcss"
    BINDINGS = bindings_of(Where.DIALOG, "prompt")

    def __init__(self, title: str, *, hint: str = "", empty_error: str = "Type some text, or press Esc to cancel.",
                 initial: str = "", send_label: str = "Send") -> None:
        super().__init__()
        self.title_text = title
        self.hint = hint
        self.empty_error = empty_error
        self.initial = initial
        self.send_label = send_label

    def compose(self) -> ComposeResult:
        """Title, hint, text area, error line, buttons."""
        with Vertical(classes="dialog"):
            yield Label(Text(self.title_text), classes="dialog-title")
            if self.hint:
                yield Static(Text(self.hint), classes="dialog-hint")
            yield TextArea(self.initial, id="prompt-text", soft_wrap=True)
            yield Static(Text(""), classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(Text(f"{self.send_label} [ctrl+s]"), variant="primary", action="screen.send", id="prompt-send")
                yield Button(Text("Cancel [esc]"), variant="error", action="screen.cancel")

    def on_mount(self) -> None:
        """Focus the text."""
        self.query_one(TextArea).focus()

    def action_send(self) -> None:
        """Return the text, unless it is empty."""
        text = self.query_one(TextArea).text
        if not text.strip():
            self.query_one(".dialog-error", Static).update(Text(self.empty_error, style="bold"))
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        """Close without a result."""
        self.dismiss(None)


class PickScreen(ModalScreen[str | None]):
    """Pick one of `options` (value, label); Enter or a click picks, Esc cancels."""

    CSS_PATH = "prompt_screens.tcss"
    BINDINGS = bindings_of(Where.DIALOG, "pick")

    def __init__(self, title: str, options: list[tuple[str, str]], *, current: str | None = None,
                 hint: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.options = options
        self.current = current
        self.hint = hint

    def compose(self) -> ComposeResult:
        """Title, hint, the option list."""
        with Vertical(classes="dialog pick"):
            yield Label(Text(self.title_text), classes="dialog-title")
            if self.hint:
                yield Static(Text(self.hint), classes="dialog-hint")
            yield OptionList(*[Option(Text(one_line(label, 70)), id=value) for value, label in self.options],
                             id="pick-list")
            with Horizontal(classes="dialog-buttons"):
                yield Button(Text("Cancel [esc]"), variant="error", action="screen.cancel")

    def on_mount(self) -> None:
        """Focus the list, on the current value when there is one."""
        options = self.query_one(OptionList)
        options.focus()
        if self.current is not None:
            try:
                options.highlighted = options.get_option_index(self.current)
            except Exception:  # noqa: BLE001 - the current value is not among the options
                pass

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        """Close without a choice."""
        self.dismiss(None)
