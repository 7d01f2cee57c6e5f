"""The flags a run is steered by from outside its loop: stop, pause, the running turn, running code.

`RunControl` holds them so that the loop, the turns and the human controls share one typed object
instead of reaching into the run's private attributes.
"""

from __future__ import annotations

import asyncio

from tuiagents.engine.termination import StopInfo


class RunStop(Exception):
    """Raised inside a turn to end the run with `info`."""

    def __init__(self, info: StopInfo) -> None:
        super().__init__(info.reason)
        self.info = info


class RunControl:
    """Whether the run must stop (and why), whether it is paused, and what a stop must interrupt."""

    def __init__(self) -> None:
        self._stop: StopInfo | None = None
        self._running = asyncio.Event()
        self._running.set()
        self._turn: asyncio.Task | None = None
        self._cancel_code: asyncio.Event | None = None

    # -- stop --------------------------------------------------------------------------------
    @property
    def stop_info(self) -> StopInfo | None:
        """Why the run was asked to stop, or None while it may go on."""
        return self._stop

    @property
    def stopping(self) -> bool:
        """True once a stop was asked for."""
        return self._stop is not None

    def ask_stop(self, info: StopInfo) -> None:
        """Remember the first reason to stop (later ones do not replace it)."""
        if self._stop is None:
            self._stop = info

    def check(self) -> None:
        """Raise RunStop when someone asked the run to stop."""
        if self._stop is not None:
            raise RunStop(self._stop)

    def interrupt(self, waiting_for_decision: bool) -> None:
        """Wake everything a stop must reach: paused loop, running code, a turn waiting on a model.

        Running code is stopped through its cancel flag, not by cancelling the turn: the executor
        then kills it, cleans up and reports how it ended. A turn waiting for a decision is
        answered instead (the gate resolves it), so it is not cancelled either.
        """
        executing = self.executing
        if self._cancel_code is not None:
            self._cancel_code.set()
        self._running.set()
        if self._turn is not None and not self._turn.done() and not waiting_for_decision and not executing:
            self._turn.cancel()

    # -- pause -------------------------------------------------------------------------------
    @property
    def paused(self) -> bool:
        """True while the run waits for `resume()` before its next turn."""
        return not self._running.is_set()

    def pause(self) -> None:
        """Hold the run before its next turn."""
        self._running.clear()

    def resume(self) -> None:
        """Let a paused run go on."""
        self._running.set()

    async def wait_running(self) -> None:
        """Block while paused."""
        await self._running.wait()

    # -- the running turn and its code ----------------------------------------------------------
    def on_turn(self, task: asyncio.Task | None) -> None:
        """Remember the running turn (None once it ended, or the outer turn again once a chat
        inside it ended) so a stop can cancel it."""
        self._turn = task

    @property
    def turn(self) -> asyncio.Task | None:
        """The turn a stop would cancel now (the innermost chat's)."""
        return self._turn

    @property
    def executing(self) -> bool:
        """True while a code block runs and has not been told to stop."""
        return self._cancel_code is not None and not self._cancel_code.is_set()

    def code_started(self) -> asyncio.Event:
        """A fresh cancel flag for code about to run (already set when the run is stopping)."""
        self._cancel_code = asyncio.Event()
        if self._stop is not None:
            self._cancel_code.set()
        return self._cancel_code

    def code_finished(self) -> None:
        """Nothing runs any more: a stop may cancel the turn again."""
        self._cancel_code = None

    def cancel_code(self) -> bool:
        """Kill the code block that is running, if any; True when there was one."""
        if self.executing:
            self._cancel_code.set()
            return True
        return False
