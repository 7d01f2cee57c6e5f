"""The replay screen of a session log with the app's look, and opening it over a running app.

`replay_screen` builds the `ReplayScreen` (the app's code style, stream interval and clock);
`open_replay` reads a log in the background and shows its replay over the current screen (the
session browser uses it). `tuiagents replay` itself is `tuiagents.app.replay`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from tuiagents.session.log import SessionError
from tuiagents.session.reader import SessionLog
from tuiagents.ui.screens.replay_loading import ReplayLoadingScreen
from tuiagents.ui.screens.replay_screen import ReplayScreen
from tuiagents.ui.settings import UIOptions


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
