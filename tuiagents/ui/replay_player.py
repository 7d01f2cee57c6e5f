"""The clock and bookkeeping of a replay, with no Textual in it.

`ReplayPlayer` wraps the session layer's `ReplayCursor`. The screen calls `due(elapsed)` on a timer:
it returns the events whose recorded time has come at the current speed (idle gaps capped as the
cursor caps them), or, at "max", as many as fit in a frame's work budget. Moving backwards is done by
drawing again from the start: `prefix(k)` gives the events to feed for the first `k`, with runs of
consecutive streamed pieces of one agent merged into a single piece — the screen then ends in exactly
the state that showing the `k` events one by one reaches (the same text in the same entries), for a
fraction of the work.
"""

from __future__ import annotations

import time
from bisect import bisect_right
from collections.abc import Callable, Iterable
from typing import Any

from tuiagents.engine.events import DecisionRecorded, TokenDelta
from tuiagents.session.replay import ReplayCursor, Speed

#: At "max" speed, how long one timer tick may spend showing events (seconds), so painting goes on.
MAX_TICK_WORK = 0.03
#: At any other speed, the most events one tick shows (a burst of streamed pieces is still bounded).
MAX_TICK_EVENTS = 5000


def format_speed(speed: Speed) -> str:
    """`1x`, `0.5x`, `16x` or `max`."""
    return "max" if speed == "max" else f"{speed:g}x"


def merge_deltas(events: Iterable[Any], ends: list[int] | None = None) -> list[Any]:
    """`events` with each run of consecutive `TokenDelta`s of one agent merged into one delta.

    The merged delta carries the run's whole text and the last piece's time and sequence number.
    When `ends` is given, it receives, for each event returned, how many input events it covers
    up to (exclusive end index).
    """
    out: list[Any] = []
    ends = ends if ends is not None else []
    pieces: list[str] = []
    last: Any = None  # the latest piece of the current run

    def close() -> None:
        if len(pieces) > 1:
            out[-1] = last.model_copy(update={"text": "".join(pieces)})
        pieces.clear()

    for i, event in enumerate(events, 1):
        if isinstance(event, TokenDelta):
            if pieces and last.agent == event.agent:
                pieces.append(event.text)
                last = event
                ends[-1] = i
                continue
            close()
            pieces.append(event.text)
            last = event
        elif pieces:
            close()
        out.append(event)
        ends.append(i)
    close()
    return out


class ReplayPlayer:
    """Play, pause, step and seek through a log's events at a chosen speed."""

    def __init__(self, events: list[Any], *, speed: Speed = 1,
                 monotonic: Callable[[], float] = time.perf_counter) -> None:
        self.cursor = ReplayCursor(events, speed=speed)
        self.playing = False
        self._budget = 0.0  # recorded seconds owed to the replay, at 1x
        self._monotonic = monotonic
        #: request id -> the decision the log records for it (shown with a request as history)
        self._merged: list[Any] | None = None
        self._merged_end: list[int] = []
        self.outcomes: dict[str, DecisionRecorded] = {
            e.request_id: e for e in events if isinstance(e, DecisionRecorded)}

    # -- where we are --------------------------------------------------------------------------
    @property
    def events(self) -> list[Any]:
        """Every event of the log."""
        return self.cursor.events

    @property
    def position(self) -> int:
        """How many events are shown."""
        return self.cursor.position

    @property
    def speed(self) -> Speed:
        """The current speed (one of `SPEEDS`)."""
        return self.cursor.speed

    def label(self) -> str:
        """`▶ 2x · event 120 of 3,400 · turn 4 of 31` for the status bar."""
        c = self.cursor
        mark = "■ end" if c.at_end else ("▶" if self.playing else "⏸")
        return (f"{mark} {format_speed(c.speed)} · event {c.position:,} of {len(c):,} · "
                f"turn {c.current_turn:,} of {c.turns:,}")

    # -- playing -------------------------------------------------------------------------------
    def play(self) -> bool:
        """Start playing (from the start again when at the end); returns whether it plays."""
        self.playing = not self.cursor.at_end
        self._budget = 0.0
        return self.playing

    def pause(self) -> None:
        """Stop playing where it is."""
        self.playing = False
        self._budget = 0.0

    def faster(self) -> Speed:
        """One speed up (up to "max")."""
        self._budget = 0.0
        return self.cursor.faster()

    def slower(self) -> Speed:
        """One speed down (down to 0.5x)."""
        self._budget = 0.0
        return self.cursor.slower()

    def due(self, elapsed: float) -> list[Any]:
        """The events to show now that `elapsed` real seconds have passed; advances the cursor.

        Stops playing at the end of the log.
        """
        if not self.playing:
            return []
        c = self.cursor
        out: list[Any] = []
        if c.speed == "max":
            deadline = self._monotonic() + MAX_TICK_WORK
            while not c.at_end and self._monotonic() < deadline:
                for _ in range(64):
                    if c.at_end:
                        break
                    out.append(c.step_forward())
        else:
            self._budget += max(0.0, elapsed) * float(c.speed)
            while not c.at_end and len(out) < MAX_TICK_EVENTS:
                gap = c.delay(1)
                if gap > self._budget:
                    break
                self._budget -= gap
                out.append(c.step_forward())
        if c.at_end:
            self.pause()
        return out

    # -- moving by hand ---------------------------------------------------------------------------
    def forward(self, count: int = 1) -> list[Any]:
        """Show the next `count` events; returns them."""
        out = []
        for _ in range(count):
            event = self.cursor.step_forward()
            if event is None:
                break
            out.append(event)
        return out

    def target_of_turn(self, n: int) -> int:
        """The position that shows turn `n`'s start (n clamped to the log's turns)."""
        c = self.cursor
        if not c.turn_indices:
            return c.position
        return c.turn_index(max(1, min(n, c.turns))) + 1

    def prefix(self, position: int) -> list[Any]:
        """What to feed a cleared screen so that it shows exactly the first `position` events."""
        position = max(0, min(position, len(self.events)))
        if self._merged is None:  # merged once, then sliced for every redraw
            self._merged, self._merged_end = merge_deltas(self.events, ends := []), ends
        j = bisect_right(self._merged_end, position)
        out = self._merged[:j]
        done = self._merged_end[j - 1] if j else 0
        if done < position:  # part of a run of streamed pieces
            out += merge_deltas(self.events[done:position])
        return out
