"""What the session browser does with a session: replay, resume, fork, delete.

Replay reads the log in the background and opens `ReplayScreen` over the browser (Esc comes back).
Resume rebuilds the engine from the log (`prepare_resume`), opens the cockpit on that run and shows
the history first, so the panes hold the conversation so far. Fork asks for the event number, writes
the new log (the original is only read) and offers to replay or resume the fork. Delete asks first.
The log of the run going on in this app is never resumed, forked or deleted from here, and neither is
one another process writes (the log's lock refuses it, naming that process).
"""

from __future__ import annotations

from pathlib import Path
from collections.abc import Callable
from typing import Any

from tuiagents.session.catalog import SessionSummary, delete_session
from tuiagents.session.log import SessionError
from tuiagents.ui.safe_text import one_line
from tuiagents.ui.screens.prompt_screens import PickScreen
from tuiagents.ui.screens.replay_dialogs import ConfirmScreen, NumberPromptScreen
from tuiagents.ui.state import IDLE


def resume_run(path: Path, config: Any = None, approve: str = "ask", override: Any = None) -> Any:
    """A live run continuing the log at `path`: with the config saved in the log, else `config`.

    `override(path, approve)` (the app's `resume_override`, set by the entry points) builds the run
    of a log that needs more than its config, such as a demo session and its scripted server.
    """
    from tuiagents.config import ConfigError
    from tuiagents.session.resume import prepare_resume

    run = override(path, approve) if override is not None else None
    if run is not None:
        return run
    try:
        return prepare_resume(path, approve=approve)
    except ConfigError:
        if config is None:
            raise
        return prepare_resume(path, config=config, approve=approve)


def show_history(cockpit: Any, events: list[Any]) -> None:
    """Show a resumed run's past events in `cockpit` before its live ones (no pop-ups, nothing pending)."""
    cockpit.notify = lambda *args, **kw: None  # the history's notices were seen when they happened
    try:
        cockpit.handle_events(events)
    finally:
        del cockpit.notify
    cockpit.feed.flush()
    cockpit.state.waiting.clear()  # the engine asks again what was still open
    cockpit.feed.settle_requests()
    for view in cockpit.state.agents.values():
        view.state = IDLE
    cockpit.refresh_chrome()


def live_session(app: Any) -> Path | None:
    """The log the app's own run is writing now, or None when no run of this app is going on."""
    active = getattr(app, "_run_active", lambda: False)()
    run = getattr(getattr(app, "cockpit", None), "run", None)
    path = getattr(run, "session_path", None) if active else None
    return Path(path) if path else None


def same_file(a: Path, b: Path) -> bool:
    """True when `a` and `b` name the same file (however the paths are spelled)."""
    try:
        return a.resolve() == b.resolve() or a.samefile(b)
    except OSError:
        return False


class SessionActions:
    """Mixin of the browser's actions; the screen it is mixed into provides what is declared here."""

    # Declared, not defined: `SessionsScreen` sets them (this module does not import it, which
    # would be an import circle).
    folder: Path
    config: Any
    selected: Callable[[], SessionSummary | None]
    refresh_list: Callable[..., None]

    def _is_live(self, path: Path, what: str) -> bool:
        """Say so and return True when `path` is the log of the run going on in this app."""
        live = live_session(self.app)
        if live is None or not same_file(live, path):
            return False
        self.notify(f"Cannot {what} {path.name}: it is the run going on in this app, still writing its log. "
                    "Stop the run (s) first.", severity="warning", timeout=10)
        return True

    def _readable(self) -> SessionSummary | None:
        summary = self.selected()
        if summary is None:
            self.notify("Select a session first.", severity="warning")
            return None
        if summary.status == "corrupt":
            self.notify(f"{summary.path.name} cannot be read: {one_line(summary.error or '?', 200)}. "
                        "It can only be deleted (d).", severity="error", timeout=10)
            return None
        return summary

    def _error(self, what: str, exc: BaseException) -> None:
        self.notify(f"{what}: {one_line(str(exc), 300)}", severity="error", timeout=12)

    # -- replay -----------------------------------------------------------------------------------
    def action_replay(self) -> None:
        """Replay the selected session (Esc closes the replay and comes back here)."""
        summary = self._readable()
        if summary is not None:
            self.replay_path(summary.path)

    def replay_path(self, path: Path) -> None:
        """Open the replay of the log at `path` over the browser."""
        from tuiagents.ui.screens.replay_open import open_replay

        open_replay(self.app, path, on_error=lambda exc: self._error(f"Cannot replay {path.name}", exc))

    # -- resume -----------------------------------------------------------------------------------
    def action_resume(self) -> None:
        """Continue the selected session live, in the cockpit, appending to its log."""
        summary = self._readable()
        if summary is not None:
            self.resume_path(summary.path)

    def resume_path(self, path: Path) -> None:
        """Resume the log at `path`: the cockpit on the rebuilt run, showing the history first."""
        from tuiagents.config import ConfigError

        app: Any = self.app
        if self._is_live(path, "resume"):
            return
        if getattr(app, "_run_active", lambda: False)():
            self.notify("A run is still going in the cockpit: stop it (s) before resuming another session.",
                        severity="warning", timeout=8)
            return
        approve = getattr(app, "approve", "ask")
        override = getattr(app, "resume_override", None)
        try:
            run = override(path, approve) if override is not None else None  # a demo session's
            if run is None and getattr(app, "resumer", None) is not None:
                # a process of its own, as `tuiagents resume`: it outlives the app, d leaves it going
                self.dismiss(None)
                app.notify(f"Resuming {path.name} in its own process…", timeout=4)
                app.resume_in_own_process(path)
                return
            run = run or resume_run(path, self.config, approve)
        except (ConfigError, SessionError, ValueError, OSError) as exc:
            self._error(f"Cannot resume {path.name}", exc)
            return
        self.dismiss(None)
        app._open_cockpit(run)
        # the events the resumed run was rebuilt from (and the ends it gave blocks cut off by a crash)
        show_history(app.cockpit, list(run.bus.history))
        app.notify(f"Resumed {path.name}: the run goes on, appending to the same log.", timeout=6)

    # -- fork -------------------------------------------------------------------------------------
    def action_fork(self) -> None:
        """Ask for N, then write a new session holding the first N events of the selected one."""
        summary = self._readable()
        if summary is None or self._is_live(summary.path, "fork"):
            return
        total = max(1, summary.events or 1)
        hint = (f"The fork holds events 1 to N of {summary.path.name} ({total:,} events); "
                "the original is left exactly as it is.")
        self.app.push_screen(NumberPromptScreen("Fork at event", 1, total, initial=total, hint=hint,
                                                accept_label="Fork"),
                             lambda n: self._fork_at(summary, n))

    def _fork_at(self, summary: SessionSummary, n: int | None) -> None:
        from tuiagents.session.fork import fork_session

        if n is None:
            return
        try:
            dest = fork_session(summary.path, n)
        except (SessionError, OSError) as exc:
            self._error(f"Cannot fork {summary.path.name}", exc)
            return
        self.refresh_list(select=dest)
        options = [("replay", "Replay the fork"), ("resume", "Resume the fork live"), ("stay", "Stay in the list")]
        self.app.push_screen(PickScreen(f"Forked into {dest.name}", options, current="replay",
                                        hint=f"Events 1 to {n:,} of {summary.path.name}. What now?"),
                             lambda choice: self._after_fork(dest, choice))

    def _after_fork(self, dest: Path, choice: str | None) -> None:
        if choice == "replay":
            self.replay_path(dest)
        elif choice == "resume":
            self.resume_path(dest)

    # -- delete -----------------------------------------------------------------------------------
    def action_delete(self) -> None:
        """Delete the selected session (and its work folder), after asking."""
        summary = self.selected()
        if summary is None:
            self.notify("Select a session first.", severity="warning")
            return
        if self._is_live(summary.path, "delete"):
            return
        work = summary.path.with_suffix(".work")
        extra = f" and its work folder {work.name}/" if work.is_dir() else ""
        self.app.push_screen(ConfirmScreen(f"Delete {summary.path.name}?",
                                           f"{summary.path}{extra} will be deleted. This cannot be undone.",
                                           action_label="Delete"),
                             lambda ok: self._delete(summary, ok))

    def _delete(self, summary: SessionSummary, ok: bool | None) -> None:
        if not ok or self._is_live(summary.path, "delete"):
            return
        try:
            delete_session(summary.path, work_dir=True)  # refused, naming the process, when a run writes it
        except (SessionError, OSError) as exc:
            self._error(f"Cannot delete {summary.path.name}", exc)
            return
        self.notify(f"Deleted {summary.path.name}.")
        self.refresh_list()

    def action_refresh(self) -> None:
        """List the folder and the live runs again."""
        self.refresh_list()
        for box in self.query("#live-box"):  # type: ignore[attr-defined]
            box.survey()
