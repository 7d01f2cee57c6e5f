"""Injecting a human message: the text, the target (an agent or all), now or at the next turn."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import (
    Button,
    Input,
    Label,
    RadioButton,
    RadioSet,
    Static,
    TextArea,
)

from tuiagents.ui.actions import Where, bindings_of


@dataclass
class InjectRequest:
    """What the person asked for: `text` to `target` ("all" or an agent), `now` or queued."""

    text: str
    target: str
    now: bool


def resolve_target(typed: str, agents: list[str]) -> str | None:
    """The agent (or "all") `typed` names, case-insensitively; None when it names nobody."""
    typed = typed.strip().lstrip("@")
    if not typed or typed.lower() == "all":
        return "all"
    for name in agents:
        if name.lower() == typed.lower():
            return name
    return None


class InjectScreen(ModalScreen[InjectRequest | None]):
    """Asks for the message, the target and the delivery; validates both inline."""

    CSS_PATH = "prompt_screens.tcss"
    BINDINGS = bindings_of(Where.DIALOG, "inject")

    def __init__(self, agents: list[str], *, target: str = "all", now: bool = False, hint: str = "") -> None:
        super().__init__()
        self.agents = agents
        self.default_target = target
        self.default_now = now
        self.hint = hint

    def compose(self) -> ComposeResult:
        """Message, target, delivery, error line, buttons."""
        with Vertical(classes="dialog"):
            yield Label(Text("Inject a message from you"), classes="dialog-title")
            yield Static(Text(self.hint or "It joins the conversation as your message."), classes="dialog-hint")
            yield TextArea("", id="inject-text", soft_wrap=True)
            with Horizontal(classes="dialog-row"):
                yield Label(Text("To:"))
                yield Input(self.default_target, id="inject-target",
                            placeholder="all, or an agent: " + ", ".join(self.agents),
                            suggester=SuggestFromList(["all", *self.agents], case_sensitive=False))
            with RadioSet(id="inject-when"):
                yield RadioButton("Queue for the next turn", value=not self.default_now, id="inject-queued")
                yield RadioButton("Deliver now", value=self.default_now, id="inject-now")
            yield Static(Text(""), classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(Text("Send [ctrl+s]"), variant="primary", action="screen.send", id="inject-send")
                yield Button(Text("Cancel [esc]"), variant="error", action="screen.cancel")

    def on_mount(self) -> None:
        """Focus the message."""
        self.query_one(TextArea).focus()

    def _error(self, message: str) -> None:
        self.query_one(".dialog-error", Static).update(Text(message, style="bold"))

    def action_send(self) -> None:
        """Check the text and the target, then return the request."""
        text = self.query_one(TextArea).text
        typed = self.query_one("#inject-target", Input).value
        if not text.strip():
            self._error("The message is empty: type what to say, or press Esc to cancel.")
            return
        target = resolve_target(typed, self.agents)
        if target is None:
            self._error(f"No agent named {typed.strip()!r}: choose all or one of {', '.join(self.agents)}.")
            self.query_one("#inject-target", Input).focus()
            return
        now = self.query_one("#inject-now", RadioButton).value
        self.dismiss(InjectRequest(text=text, target=target, now=now))

    def action_cancel(self) -> None:
        """Close without sending."""
        self.dismiss(None)
