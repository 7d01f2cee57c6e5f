"""`tuiagents replay SESSION`: the cockpit fed from a session log, or its transcript on the console.

`run_replay_app(path)` reads the log (a log the reader refuses — missing, empty, not a log, from a
newer tuiagents — ends with a sentence on stderr and exit code 2, no traceback), then opens
`ReplayApp`: the tuiagents app whose first screen is a `ReplayScreen` (after a loading screen while
the events are read). No engine, model client or Docker client is built: the log is the only input.
`cli_replay_headless(path)` prints the log through the same `ConsolePrinter` a headless run uses,
so the text is what the run printed.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import Any

from tuiagents.engine.view import log_reader
from tuiagents.headless import ConsolePrinter
from tuiagents.session.commands import fail, write_out
from tuiagents.session.log import SessionError
from tuiagents.session.reader import SessionLog, read_header, read_session
from tuiagents.ui.app import TuiAgentsApp
from tuiagents.ui.screens.replay_loading import ReplayLoadingScreen
from tuiagents.ui.screens.replay_open import replay_screen
from tuiagents.ui.settings import UIOptions

EXIT_OK, EXIT_BAD_INPUT = 0, 2


class ReplayApp(TuiAgentsApp):
    """The tuiagents app replaying one session log (a `SessionLog`, or a path read in the background).

    `autoplay` starts playing as soon as the replay is shown.
    """

    def __init__(self, source: SessionLog | str | os.PathLike, *, options: UIOptions | None = None,
                 autoplay: bool = True, **kw: Any) -> None:
        super().__init__(options=options, **kw)
        self.source = source
        self.autoplay = autoplay
        self.load_error: SessionError | None = None  # the log could not be read after all

    def on_mount(self) -> None:
        """Open the replay (the app's own mount handler applies the theme, keymap and problems)."""
        if isinstance(self.source, SessionLog):
            self._show(self.source)
        else:
            self.push_screen(ReplayLoadingScreen(self.source, self._show, self._failed))

    def _failed(self, error: SessionError) -> None:
        self.load_error = error
        self.exit(EXIT_BAD_INPUT)

    def _show(self, log: SessionLog) -> None:
        self.cockpit = replay_screen(self, log, autoplay=self.autoplay)
        if isinstance(self.screen, ReplayLoadingScreen):
            self.switch_screen(self.cockpit)
        else:
            self.push_screen(self.cockpit)


def _user_options() -> UIOptions:
    """The user's `[ui]` and `[keymap]` settings when a config is found, else the defaults."""
    try:
        from tuiagents.config import load_app_config

        return UIOptions.from_config(load_app_config(None, required=False))
    except Exception:  # noqa: BLE001 - a broken config must not keep a log from being replayed
        return UIOptions()


def run_replay_app(path: str | os.PathLike, *, options: UIOptions | None = None) -> int:
    """Replay the session log at `path` in the app; returns the exit code (2: the log cannot be read).

    The header is checked before the app starts; the events are read while the app shows that it
    is reading them, so even a log of 10,000 messages paints at once.
    """
    try:
        read_header(Path(path))  # the checks that refuse a log (missing, empty, not a log, newer format)
    except SessionError as exc:
        print(f"tuiagents: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    app = ReplayApp(Path(path), options=options or _user_options())
    app.run()
    if app.load_error is not None:
        print(f"tuiagents: {app.load_error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK


def format_transcript_text(log: SessionLog | str | os.PathLike) -> str:
    """The console transcript of a run, as `tuiagents run --headless` printed it."""
    if not isinstance(log, SessionLog):
        log = read_session(log, token_deltas=False)
    out = io.StringIO()
    printer = ConsolePrinter(out)
    printer.view.viewer = log_reader(log.events)  # its one person reads as "you"; several by name
    for ev in log.events:
        printer(ev)
    return out.getvalue()


def cli_replay_headless(path: str | os.PathLike) -> int:
    """`tuiagents replay --headless`: print a session's transcript as its headless run printed it."""
    try:
        log = read_session(path, token_deltas=False)
    except SessionError as exc:
        return fail(exc)
    if log.notice:
        print(f"tuiagents: {path}: {log.notice}", file=sys.stderr)
    return write_out(format_transcript_text(log))
