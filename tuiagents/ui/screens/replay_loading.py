"""The screen shown while a session log is read for a replay (a big log takes a second or two).

`ReplayLoadingScreen` reads the log in a thread, so the terminal shows something at once, then
hands the `SessionLog` to `on_loaded` (which replaces this screen with the replay). A log that cannot
be read is explained on the screen; `on_error`, when given, decides what happens next instead.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Label, Static

from tuiagents.session.log import SessionError
from tuiagents.session.reader import SessionLog, read_session
from tuiagents.ui.actions import Where, bindings_of
from tuiagents.ui.safe_text import inert


class ReplayLoadingScreen(Screen[None]):
    """Reads `path` in a thread, then calls `on_loaded(log)` (or `on_error(error)`)."""

    CSS_PATH = "replay_loading.tcss"
    BINDINGS = bindings_of(Where.DIALOG, "replay_loading")

    def __init__(self, path: str | Path, on_loaded: Callable[[SessionLog], None],
                 on_error: Callable[[SessionError], None] | None = None) -> None:
        super().__init__()
        self.path = Path(path)
        self.on_loaded = on_loaded
        self.on_error = on_error
        self.cancelled = False

    def compose(self) -> ComposeResult:
        """What is being read, and how big it is."""
        try:
            size = f"{self.path.stat().st_size / 1e6:,.1f} MB"
        except OSError:
            size = "?"
        with Center(), Vertical(id="loading-dialog"):
            yield Label(Text("Opening the replay…"), id="loading-title")
            yield Static(Text(f"Reading {inert(str(self.path))} ({size})"), id="loading-text")
        yield Footer()

    def on_mount(self) -> None:
        """Start reading."""
        self._read()

    @work(thread=True, exclusive=True, group="replay-load", exit_on_error=False)
    def _read(self) -> None:
        try:
            log = read_session(self.path)
        except SessionError as exc:
            self.app.call_from_thread(self._failed, exc)
            return
        except Exception as exc:  # noqa: BLE001 - an unexpected problem is shown, never a traceback
            error = SessionError(f"cannot read: {type(exc).__name__}: {exc}", reason="corrupt", path=self.path)
            self.app.call_from_thread(self._failed, error)
            return
        # The replay keeps these events (a million objects for a long log) for as long as it is
        # open: out of the collector's sight, or every full collection walks them all again,
        # which cost about a second of the first frames. They hold no cycles; refcounting frees
        # them when the replay closes.
        gc.freeze()
        self.app.call_from_thread(self._loaded, log)

    def _loaded(self, log: SessionLog) -> None:
        if not self.cancelled:
            self.on_loaded(log)

    def _failed(self, error: SessionError) -> None:
        if self.cancelled:
            return
        if self.on_error is not None:
            self.on_error(error)
            return
        self.query_one("#loading-title", Label).update(Text("This log cannot be replayed"))
        self.query_one("#loading-text", Static).update(Text(inert(str(error))))

    def action_cancel(self) -> None:
        """Stop waiting and go back (or quit, when nothing is underneath)."""
        self.cancelled = True
        if len(self.app.screen_stack) > 2:
            self.dismiss(None)
        else:
            self.app.exit(0)
