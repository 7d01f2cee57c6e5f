"""Leaving the app: q, ctrl+q, Ctrl+C twice and SIGTERM, each saying or doing what fits the run shown.

A run of the app's own process is never dropped by accident (q asks to stop it first; Ctrl+C twice
and ctrl+q stop it, then quit); a view attached to a run of another process just leaves, and the run
goes on; a run asked to stop is not said to go on. The exit status says how the run ended.
"""

from __future__ import annotations

import asyncio
import signal
import time
from typing import Any

from tuiagents.engine.handle import StopRun

INTERRUPT_WINDOW = 2.0  # seconds between two Ctrl+C presses
STOP_GRACE = 10.0  # seconds a stopping run gets to record why before the app quits


class Leaving:
    """Mixin of `TuiAgentsApp`: its quit actions, SIGTERM, and its exit status."""

    # Declared, not defined: the app sets them (this module does not import it).
    cockpit: Any
    started_here: bool
    terminated: bool
    _last_interrupt: float
    _sigterm_before: Any

    def _run_active(self) -> bool:
        cockpit = self.cockpit
        return cockpit is not None and (cockpit.run is not None or self.started_here) and not cockpit.state.stopped

    def _attached(self) -> bool:
        """True when the cockpit was attached to a run of another process: leaving it never stops
        the run (one this app started asks first, as a run of its own process does; d detaches it)."""
        handle = self.cockpit.handle if self.cockpit is not None else None
        return handle is not None and not handle.local and not self.started_here

    async def action_interrupt(self) -> None:
        """Ctrl+C: the first press warns, a second one within 2 s stops the run and quits."""
        now = time.monotonic()
        if self._attached() or not self._run_active():
            await self.engine_finished()
            self.exit(self.exit_code())
            return
        if now - self._last_interrupt > INTERRUPT_WINDOW:
            self._last_interrupt = now
            self.notify("Press Ctrl+C again to stop the run and quit.", severity="warning", timeout=INTERRUPT_WINDOW)
            return
        await self.stop_and_exit("interrupted with Ctrl+C")

    async def action_quit_app(self) -> None:
        """q: quit once the run has stopped (a running run is not dropped by accident); an attached
        view just leaves, and the run goes on in its own process."""
        if self._run_active() and not self._attached():
            stopping = self.cockpit.stopping_words()  # type: ignore[union-attr]
            if stopping is not None and self.started_here:  # it ends in its own process: leave, saying so
                self.cockpit.action_detach()  # type: ignore[union-attr]
                return
            if stopping is not None:
                self.notify(f"The run is stopping ({stopping}): q quits once it has stopped.", severity="warning")
                return
            detach = ", d to leave it going in its own process," if self.started_here else ""
            self.notify(f"The run is still going: press s to stop it first{detach} or Ctrl+C twice to stop and "
                        "quit.", severity="warning")
            return
        await self.engine_finished()
        self.exit(self.exit_code())

    async def action_quit(self) -> None:
        """ctrl+q: stop the run (if any) and quit; an attached view leaves the run going."""
        if self._attached():
            self.exit(self.exit_code())
            return
        await self.stop_and_exit("the app was closed")

    def _take_sigterm(self) -> None:
        """While the app runs, SIGTERM quits it from its event loop, as ctrl+q does (status 143).

        The command line's handler raises SystemExit wherever the main thread is: inside a key's
        handler (a key in the edit dialog on a 2 MB draft) it skipped Textual's shutdown, its writer
        and input threads kept running, and the process never ended."""
        self._sigterm_before = signal.getsignal(signal.SIGTERM)
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self._on_sigterm)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread: the default stays
            self._sigterm_before = None

    def on_unmount(self) -> None:
        """Give SIGTERM back to the handler it had before the app ran."""
        if self._sigterm_before is None:
            return
        try:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)
            signal.signal(signal.SIGTERM, self._sigterm_before)
        except (RuntimeError, ValueError):
            pass

    def _on_sigterm(self) -> None:
        self.terminated = True
        if self._attached():  # leaving never stops a run of another process
            self.exit(self.exit_code())
            return
        self.run_worker(self.stop_and_exit("the app was ended (SIGTERM)"), group="sigterm", exit_on_error=False)

    async def stop_and_exit(self, reason: str) -> None:
        """Ask the run to stop, give it a moment to record why, then quit."""
        cockpit = self.cockpit
        if cockpit is not None and cockpit.handle is not None and not cockpit.state.stopped:
            cockpit.handle.control(StopRun(reason=reason), cockpit.sender)
            if not cockpit.handle.local:  # its own process records the stop: wait for its event
                deadline = time.monotonic() + STOP_GRACE
                while getattr(cockpit.handle, "stopped", None) is None and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
        await self.engine_finished()
        self.exit(self.exit_code())

    async def engine_finished(self) -> None:
        """Wait (at most STOP_GRACE) for the engine's worker to end: a stopped run still releases
        what it holds (MCP server processes, sandbox containers), which quitting would cut short."""
        cockpit = self.cockpit
        for worker in list(cockpit.workers if cockpit is not None else ()):
            if worker.group == "engine":
                try:
                    await asyncio.wait_for(worker.wait(), STOP_GRACE)
                except Exception:  # noqa: BLE001 - leaving anyway (timeout, worker error)
                    pass

    def exit_code(self) -> int:
        """0 when the run ended normally (or never started), 1 when it failed, 143 after SIGTERM."""
        if self.terminated:
            return 143
        cockpit = self.cockpit
        if cockpit is None:
            return 0
        if cockpit.engine_error is not None or cockpit.state.stop_kind == "error":
            return 1
        return 0
