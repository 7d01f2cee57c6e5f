"""`tuiagents replay SESSION.jsonl`: the cockpit fed from a session log.

`run_replay_app(path)` reads the log (a log the reader refuses — missing, empty, not a log, from a
newer tuiagents — ends with a sentence on stderr and exit code 2, no traceback), then opens
`ReplayApp`: the tuiagents app whose first screen is a `ReplayScreen` (after a loading screen while
the events are read). No engine, model client or Docker client is built: the log is the only input.
The session browser opens the same screen inside a running app with `open_replay`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tuiagents.session.log import SessionError
from tuiagents.session.reader import SessionLog, read_header
from tuiagents.ui.app import TuiAgentsApp
from tuiagents.ui.screens.replay_loading import ReplayLoadingScreen
from tuiagents.ui.screens.replay_screen import ReplayScreen
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


def replay_screen(app: Any, log: SessionLog, *, autoplay: bool = True, closable: bool = False) -> ReplayScreen:
    """A replay screen of `log` with the app's look (code style, stream interval, clock)."""
    options: UIOptions = getattr(app, "options", None) or UIOptions()
    return ReplayScreen(log, autoplay=autoplay, closable=closable, code_style=options.code_style,
                        bell=False, stream_interval_ms=options.stream_interval_ms,
                        clock=getattr(app, "clock", None) or (lambda: 0.0))


def open_replay(app: Any, path: str | os.PathLike, *, autoplay: bool = True,
                on_error: Callable[[SessionError], None] | None = None) -> None:
    """Read the log at `path` in the background, then show its replay over the current screen.

    Esc closes the replay again. A log that cannot be read goes to `on_error` (default: the
    loading screen says why).
    """
    def loaded(log: SessionLog) -> None:
        app.switch_screen(replay_screen(app, log, autoplay=autoplay, closable=True))

    def failed(error: SessionError) -> None:
        app.pop_screen()
        on_error(error)  # type: ignore[misc]

    app.push_screen(ReplayLoadingScreen(path, loaded, failed if on_error is not None else None))


def _user_options() -> UIOptions:
    """The user's `[ui]` and `[keymap]` settings when a config is found, else the defaults."""
    try:
        from tuiagents.cli import load_app_config

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
