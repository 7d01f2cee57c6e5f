"""Before the demo's run: the sandbox image is missing; offer to use, pull or build one, with progress.

The screen only knows the choices it is given and a `prepare(choice, on_progress)` function that
does the work (in a thread) and returns the image it made ready; the demo supplies both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Label, ProgressBar, Static

from tuiagents.ui.actions import Where, bindings_of
from tuiagents.ui.safe_text import inert


@dataclass
class SandboxOffer:
    """What to tell the person and what can be done: `choices` are (id, button label, key)."""

    text: str
    choices: list[tuple[str, str, str]]
    prepare: Callable[[str, Callable[[Any], None]], str]
    title: str = "The demo's Docker sandbox is not ready"
    notes: list[str] = field(default_factory=list)


@dataclass
class SandboxFound:
    """What the look for the demo's sandbox found: an `offer` to make, else the run starts with
    `image` (None: no code will run)."""

    image: str | None = None
    offer: SandboxOffer | None = None


@dataclass
class SandboxWait:
    """The demo paints first: its `agents`' panes show at once while `check()` (blocking: Docker
    calls) looks for the sandbox in a thread; the offer, or the run, follows its answer."""

    agents: list[Any]
    check: Callable[[], SandboxFound]


def eta_words(seconds: float | None) -> str:
    """`about 40 s left`, `about 3 min left`, or `estimating the time left…`."""
    if seconds is None:
        return "estimating the time left…"
    if seconds < 90:
        return f"about {max(int(round(seconds)), 1)} s left"
    return f"about {int(round(seconds / 60))} min left"


class SandboxScreen(Screen[str | None]):
    """Offers to prepare the sandbox image; returns the image made ready, or None to go on without code."""

    CSS_PATH = "start_screens.tcss"
    BINDINGS = bindings_of(Where.DIALOG, "sandbox")

    def __init__(self, offer: SandboxOffer) -> None:
        super().__init__()
        self.offer = offer
        self.busy = False
        self.failed: str | None = None

    def compose(self) -> ComposeResult:
        """Explanation, choices, progress."""
        with Center(), Vertical(id="sandbox-dialog"):
            yield Label(Text(self.offer.title), id="sandbox-title")
            yield Static(Text(inert(self.offer.text)), id="sandbox-text")
            with Vertical(id="sandbox-buttons"):
                for cid, label, key in self.offer.choices:
                    yield Button(Text(f"{label} [{key}]"), variant="primary", id=f"sandbox-{cid}",
                                 action=f"screen.prepare('{cid}')")
                yield Button(Text("Go on without running code [n]"), variant="default", id="sandbox-none",
                             action="screen.without_code")
            yield ProgressBar(total=100, show_eta=False, id="sandbox-progress")
            yield Static(Text(""), id="sandbox-step")
        yield Footer()

    def on_mount(self) -> None:
        """Keys for the choices; focus the first one."""
        for cid, _label, key in self.offer.choices:
            self._bindings.bind(key, f"prepare('{cid}')", show=False)
        self.query_one("#sandbox-progress").display = False
        self.query(Button).first().focus()

    def action_prepare(self, choice: str) -> None:
        """Start the pull or build `choice` in a thread."""
        if self.busy:
            return
        self.busy = True
        for button in self.query(Button):
            button.disabled = True
        bar = self.query_one("#sandbox-progress", ProgressBar)
        bar.display = True
        bar.update(progress=0)
        self._step(Text("starting…"))
        self._prepare(choice)

    @work(thread=True, exclusive=True)
    def _prepare(self, choice: str) -> None:
        try:
            image = self.offer.prepare(choice, lambda p: self.app.call_from_thread(self._progress, p))
        except Exception as exc:  # noqa: BLE001 - the failure is shown, the demo goes on
            self.app.call_from_thread(self._failed, str(exc))
            return
        self.app.call_from_thread(self.dismiss, image)

    def _progress(self, progress: Any) -> None:
        self.query_one("#sandbox-progress", ProgressBar).update(progress=round(progress.fraction * 100, 1))
        line = Text()
        line.append(f"{int(progress.fraction * 100)}% · {eta_words(progress.eta)}", "bold")
        line.append(f"  {inert(progress.step)}", "dim")
        self._step(line)

    def _step(self, text: Text) -> None:
        self.query_one("#sandbox-step", Static).update(text)

    def _failed(self, message: str) -> None:
        self.busy = False
        self.failed = message
        for button in self.query(Button):
            button.disabled = False
        self.query_one("#sandbox-progress").display = False
        self._step(Text(f"✗ {inert(message)}", style="bold red"))
        self.query_one("#sandbox-none", Button).focus()

    def action_without_code(self) -> None:
        """Go on with the demo without running code."""
        if not self.busy:
            self.dismiss(None)
