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
    crash the run; the session log writer is subscribed first so it sees every event. A subscriber
    whose `required` attribute is true (the session log) must see every event: when it fails, it
    is dropped too and `on_required_failure(error)` is called, which the run answers by stopping,
    so it never goes on with its record silently gone.
    """

    def __init__(self, start_seq: int = 0) -> None:
        self._subscribers: list[Subscriber] = []
        self.seq = start_seq
        self.history: list[Event] = []
        self.keep_history = True
        self.on_required_failure: Callable[[Exception], None] | None = None
        #: The first error of a required subscriber, once one failed.
        self.required_failure: Exception | None = None

    def continue_after(self, events: list[Event]) -> None:
        """Continue a recorded run: number after its last event and keep `events` as the history."""
        self.seq = max((e.seq for e in events), default=0)
        self.history = [e for e in events if e.type != "token_delta"]

    def record(self, event: Event) -> Event:
        """Number `event` and keep it in the history without delivering it (its writer has it)."""
        self.seq += 1
        event.seq = self.seq
        if self.keep_history:
            self.history.append(event)
        return event

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
            except Exception as exc:  # noqa: BLE001 - one bad subscriber must not stop the run
                self.unsubscribe(cb)
                if not getattr(cb, "required", False):
                    log.exception("event subscriber %r failed; unsubscribing it", cb)
                    continue
                log.info("required event subscriber %r failed", cb, exc_info=True)
                if self.required_failure is None:
                    self.required_failure = exc
                    if self.on_required_failure is not None:
                        self.on_required_failure(exc)
        return event
