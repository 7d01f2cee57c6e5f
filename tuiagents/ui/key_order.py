"""Keys reach the app in the order they were typed, one at a time, and wait for a screen that opens.

Textual hands a key to the widget focused *at the moment the app reads it*, and the key then
travels on its own: from the focused widget up to the screen, where a binding may open a dialog.
Keys read in the same terminal read (a paste, a fast typist, anything typed while the app was
busy) were all handed out before the first one had opened its dialog, so the text typed after
`i` went to the cockpit and was lost; and keys handed out while the dialog was still being built
went to the dialog screen or to its text box, depending on when each arrived, out of order.

`KeysInOrder` makes one rule hold for every screen: a key (or a paste) is handed out only once
the one before it has been handled, by the widget that took it or by the binding it reached; and
once a screen is pushed, only once that screen is mounted and has given the focus to its widget.
Keys that arrive meanwhile are held, in order. A key's way is followed by a callback queued right
behind it on each node it passes, so nothing depends on timing.

Before the app, the terminal driver: Textual's Linux driver starts its input thread again on every
SIGCONT, also when no SIGTSTP of its own stopped the first one (a `kill -STOP`, a debugger, a
machine that froze the process). Two threads then read the terminal and split what was typed
between them, out of order. `one_reader_driver` restarts the input only when it was stopped.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from textual import events
from textual.app import App
from textual.driver import Driver
from textual.message_pump import MessagePump
from textual.screen import Screen

#: How long a held key may wait for one that went to a node which closed before handling it.
STUCK_AFTER = 5.0

_Typed = events.Key | events.Paste


def one_reader_driver(base: type[Driver]) -> type[Driver]:
    """`base`, Textual's terminal driver, made to restart its input on SIGCONT only if it stopped it."""
    try:
        from textual.drivers.linux_driver import LinuxDriver
    except ImportError:  # no termios (Windows): no such signals either
        return base
    if not issubclass(base, LinuxDriver):
        return base

    class OneReaderDriver(base):  # type: ignore[valid-type,misc]
        """Keeps one thread reading the terminal across a SIGSTOP/SIGCONT from outside."""

        def _sigcont_application(self, *args: Any) -> None:
            reader = self._key_thread
            if reader is not None and reader.is_alive():
                # Never stopped (not our SIGTSTP): the terminal is as we left it; draw again only.
                self._loop.call_soon_threadsafe(self._app.refresh)
                return
            super()._sigcont_application(*args)

    return OneReaderDriver


class KeysInOrder:
    """Mixin for a Textual `App`: keys and pastes are handed out one at a time, in typed order.

    Mix it in before `App` (``class MyApp(KeysInOrder, App[int])``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held: deque[_Typed] = deque()
        self._in_flight: _Typed | None = None  # handed out, not yet handled
        self._in_flight_at: MessagePump | None = None  # the node that has it now
        self._opening: Screen[Any] | None = None  # pushed, its focus not yet settled
        self._busy_since = 0.0
        self._watchdog: Any = None

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver for this terminal, with one reader of the terminal at any time."""
        return one_reader_driver(super().get_driver_class())  # type: ignore[misc]

    async def on_event(self, event: events.Event) -> None:
        """Hold a typed key or paste behind the one in flight; hand everything else on as usual."""
        if isinstance(event, (events.Key, events.Paste)) and not event.is_forwarded:
            self._held.append(event)
            await self._hand_out()
            return
        await super().on_event(event)  # type: ignore[misc]

    def push_screen(self, screen: Any, callback: Any = None, wait_for_dismiss: bool = False, *,
                    mode: str | None = None) -> Any:
        """Push `screen` as Textual does; keys typed from now wait until it has settled its focus."""
        app: App[Any] = self  # type: ignore[assignment]
        result = super().push_screen(screen, callback, wait_for_dismiss, mode=mode)  # type: ignore[misc]
        if mode is None or mode == app.current_mode:
            pushed = app.screen
            self._opening = pushed
            self._arm_watchdog()
            # The screen handles this only after its compose and mount (and its on_mount's focus
            # call is queued on the app before the callback that ends the wait).
            if not pushed.call_later(self._settled_on, pushed):
                self._opening = None
        return result

    # -- handing out ----------------------------------------------------------------------------
    async def _hand_out(self) -> None:
        app: App[Any] = self  # type: ignore[assignment]
        while self._held and self._in_flight is None and self._opening is None:
            event = self._held.popleft()
            target = app.focused or app.screen
            await super().on_event(event)  # type: ignore[misc]  # priority bindings, then forwards
            if event.is_forwarded:
                self._follow(event, target)

    def _follow(self, event: _Typed, node: MessagePump) -> None:
        self._in_flight = event
        self._in_flight_at = node
        self._arm_watchdog()
        if not node.call_later(self._handled_by, event, node):
            self._in_flight = None

    def _handled_by(self, event: _Typed, node: MessagePump) -> None:
        """Runs on `node` right after it handled `event`: done, or follow it to where it bubbled."""
        if event is not self._in_flight:
            return
        app: App[Any] = self  # type: ignore[assignment]
        parent = getattr(node, "parent", None)
        # Textual has no public "was it stopped": a key a widget took (a letter in a text box)
        # goes no further.
        bubbled = (event.bubble and parent is not None and not event._stop_propagation
                   and node.is_parent_active and node.is_attached)
        if bubbled and parent is not app:
            self._in_flight_at = parent
            if parent.call_later(self._handled_by, event, parent):
                return
        # Stopped here, or bubbled to the app: the app handles it (its bindings) before this.
        app.call_later(self._done, event)

    async def _done(self, event: _Typed) -> None:
        if event is self._in_flight:
            self._in_flight = self._in_flight_at = None
            await self._hand_out()

    async def _settled_on(self, screen: Screen[Any]) -> None:
        app: App[Any] = self  # type: ignore[assignment]
        app.call_later(self._open, screen)

    async def _open(self, screen: Screen[Any]) -> None:
        if screen is self._opening:
            self._opening = None
            await self._hand_out()

    # -- never held for good ----------------------------------------------------------------------
    def _arm_watchdog(self) -> None:
        app: App[Any] = self  # type: ignore[assignment]
        self._busy_since = time.monotonic()
        if self._watchdog is None:
            self._watchdog = app.set_interval(0.5, self._check_stuck)

    def _stop_watchdog(self) -> None:
        if self._watchdog is not None:
            self._watchdog.stop()
            self._watchdog = None

    async def _check_stuck(self) -> None:
        """Release keys held for a node or screen that closed before it could pass them on, or for
        longer than `STUCK_AFTER` (whatever goes wrong, the keyboard is never taken for good)."""
        if self._in_flight is None and self._opening is None:
            self._stop_watchdog()
            return
        node = self._in_flight_at or self._opening
        gone = node is not None and not node.is_running
        if gone or time.monotonic() - self._busy_since > STUCK_AFTER:
            self._in_flight = self._in_flight_at = self._opening = None
            self._stop_watchdog()
            await self._hand_out()
