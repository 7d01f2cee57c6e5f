"""The app's cockpit on runs in their own process: the run it was opened on (`tuiagents attach`,
a run started here) and any other live run chosen in F2, one at a time.

Both go through `session.live_attach.connect` and `show_remote`, so F2 has no path of its own.
Attaching to another run closes this view's connection to the one shown before, never that run:
it goes on in its own process, and F2 lists it to come back to. A run of the app's own process
that is still going is not left that way (it would have nobody to drive it): stop it first.
"""

from __future__ import annotations

from typing import Any

from textual import work

from tuiagents.ui.safe_text import one_line


class LiveAttach:
    """Mixin of `TuiAgentsApp`: attaching its cockpit to live runs by id."""

    # Declared, not defined: the app sets them (this module does not import it).
    cockpit: Any
    remote_handle: Any
    started_here: bool
    banner: str | None

    def show_remote(self, handle: Any) -> None:
        """Open the cockpit on the run `handle` reaches in another process (history first, then live)."""
        info = handle.welcome
        self._open_cockpit(None, agents=list(info.agents), handle=handle, team_kind=info.team_kind)  # type: ignore[attr-defined]

    def shown_run_id(self) -> str | None:
        """The id of the live run the cockpit shows through a connection, or None."""
        cockpit = self.cockpit
        handle = cockpit.handle if cockpit is not None else None
        if handle is None or handle.local or getattr(handle, "closed_reason", None) is not None:
            return None
        return getattr(handle, "run_id", None)

    def attach_live(self, run_id: str) -> None:
        """Attach the cockpit to the live run `run_id` (F2's Enter on a live run)."""
        if run_id == self.shown_run_id():
            self._back_to_cockpit()
            return
        cockpit = self.cockpit
        if cockpit is not None and cockpit.run is not None and self._run_active():  # type: ignore[attr-defined]
            self.notify("The run in this app's cockpit lives in this app's process and would have nobody to "  # type: ignore[attr-defined]
                        "drive it: stop it (s) before attaching to another run.", severity="warning", timeout=10)
            return
        self.notify(f"Attaching to run {run_id}…", timeout=3)  # type: ignore[attr-defined]
        self._connect_live(run_id)

    @work(thread=True, exclusive=True, group="attach", exit_on_error=False)
    def _connect_live(self, run_id: str) -> None:
        """Connect beside the screen (a busy run takes a moment to answer its hello)."""
        from tuiagents.session.live_attach import AttachError, connect

        try:
            attached = connect(run_id)
        except AttachError as exc:
            self.call_from_thread(self.notify, f"Cannot attach: {one_line(str(exc), 300)}",  # type: ignore[attr-defined]
                                  severity="error", timeout=10)
            return
        self.call_from_thread(self._switch_to, attached)  # type: ignore[attr-defined]

    def _switch_to(self, attached: Any) -> None:
        """Show `attached`'s run in place of the one shown; the old connection closes, its run goes on."""
        old = self.remote_handle
        left_going = self.started_here and self._run_active()  # type: ignore[attr-defined]
        self.remote_handle, self.started_here, self.banner = attached.handle, False, attached.banner
        self._back_to_cockpit()
        self.show_remote(attached.handle)
        if old is not None and old is not attached.handle and not old.local:
            old.close()
            if left_going:
                self.notify(f"Run {old.run_id} goes on in its own process: F2 lists it, "  # type: ignore[attr-defined]
                            f"`tuiagents attach {old.run_id}` comes back to it.", timeout=8)

    def _back_to_cockpit(self) -> None:
        """Close the screens over the cockpit (F2, a replay opened from it); with no cockpit yet,
        every screen over the app's base (the task screen, F2)."""
        stack = self.screen_stack  # type: ignore[attr-defined]
        keep = stack.index(self.cockpit) if self.cockpit is not None and self.cockpit in stack else 0
        for _ in range(len(stack) - 1 - keep):
            self.pop_screen()  # type: ignore[attr-defined]
