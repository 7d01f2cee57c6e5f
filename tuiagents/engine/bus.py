"""The event bus: numbers each event and hands it to every subscriber, in order."""

from __future__ import annotations

import inspect
import logging
from typing import Any, Awaitable, Callable, Union

from tuiagents.engine.events import Event

Subscriber = Callable[[Any], Union[Awaitable[None], None]]

log = logging.getLogger(__name__)


class EventBus:
    """Delivers engine events to subscribers (session log, UI, console) in emit order.

    A subscriber that raises is reported once and dropped, so a broken view can never stall or
    crash the run; the session log writer is subscribed first so it sees every event.
    """

    def __init__(self, start_seq: int = 0) -> None:
        self._subscribers: list[Subscriber] = []
        self.seq = start_seq
        self.history: list[Event] = []
        self.keep_history = True

    def subscribe(self, callback: Subscriber) -> None:
        """Add a callback `cb(event)` (sync or async) called for every later event."""
        self._subscribers.append(callback)

    def unsubscribe(self, callback: Subscriber) -> None:
        """Stop delivering events to `callback`."""
        if callback in self._subscribers:
            self._subscribers.remove(callback)

    async def emit(self, event: Event) -> Event:
        """Number `event`, record it and deliver it to every subscriber."""
        self.seq += 1
        event.seq = self.seq
        if self.keep_history and event.type != "token_delta":
            self.history.append(event)
        for cb in list(self._subscribers):
            try:
                result = cb(event)
                if inspect.isawaitable(result):
                    await result
            except Exception:  # noqa: BLE001 - one bad subscriber must not stop the run
                log.exception("event subscriber %r failed; unsubscribing it", cb)
                self.unsubscribe(cb)
        return event
