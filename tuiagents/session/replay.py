"""Replay a session log without calling any model or running any code.

`ReplayCursor` walks the events (step forward/back, jump to a turn) and says how long to wait
between two events at a given speed, from their recorded timestamps, with long idle gaps capped.
The console transcript of a log is `tuiagents.app.replay.format_transcript_text`.
"""

from __future__ import annotations

import os
from typing import Iterator, Literal

from tuiagents.engine.events import TurnStarted
from tuiagents.session.reader import SessionLog, read_session

Speed = float | Literal["max"]
#: Replay speeds the UI cycles through; "max" plays without waiting.
SPEEDS: tuple[Speed, ...] = (0.5, 1, 2, 4, 8, 16, "max")
#: The longest wait between two events at 1x, in seconds (a run that idled for an hour while a
#: person thought replays that pause as this).
MAX_GAP = 2.0


def _as_log(log: SessionLog | str | os.PathLike, token_deltas: bool = True) -> SessionLog:
    return log if isinstance(log, SessionLog) else read_session(log, token_deltas=token_deltas)


def replay_events(log: SessionLog | str | os.PathLike) -> Iterator:
    """The log's events in order, as typed events (a path is read first)."""
    yield from _as_log(log).events


def delay_between(a, b, speed: Speed = 1, max_gap: float = MAX_GAP) -> float:
    """Seconds to wait after event `a` before showing event `b` at `speed`."""
    if speed == "max" or a is None or b is None:
        return 0.0
    if speed <= 0:
        raise ValueError(f"speed must be positive or 'max', got {speed}")
    return min(max(b.ts - a.ts, 0.0), max_gap) / float(speed)


class ReplayCursor:
    """A position in a list of events, for a replay the user can pause, step and seek.

    `position` is the number of events already shown: events[:position] are on screen and
    events[position] is the next one to play. After `step_back()` or a jump backwards the UI
    redraws from scratch with `shown()`.
    """

    def __init__(self, events: list, *, speed: Speed = 1, max_gap: float = MAX_GAP):
        self.events = list(events)
        self.position = 0
        self.max_gap = max_gap
        self._speed: Speed = 1
        self.speed = speed
        self.turn_indices = [i for i, e in enumerate(self.events) if isinstance(e, TurnStarted)]

    @classmethod
    def from_log(cls, log: SessionLog | str | os.PathLike, **kw) -> "ReplayCursor":
        """A cursor at the start of a log's events."""
        return cls(_as_log(log).events, **kw)

    # -- where we are --------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.events)

    @property
    def at_start(self) -> bool:
        """Nothing shown yet."""
        return self.position == 0

    @property
    def at_end(self) -> bool:
        """Every event shown."""
        return self.position >= len(self.events)

    @property
    def current(self):
        """The last event shown, or None at the start."""
        return self.events[self.position - 1] if self.position > 0 else None

    @property
    def next_event(self):
        """The event the next step shows, or None at the end."""
        return None if self.at_end else self.events[self.position]

    def shown(self) -> list:
        """The events on screen (to redraw after moving backwards)."""
        return self.events[: self.position]

    @property
    def turns(self) -> int:
        """How many turns the log holds."""
        return len(self.turn_indices)

    @property
    def current_turn(self) -> int:
        """The number (1-based) of the turn the last shown event belongs to; 0 before the first."""
        from bisect import bisect_left

        return bisect_left(self.turn_indices, self.position)

    @property
    def progress(self) -> float:
        """Fraction of events shown, 0.0 to 1.0."""
        return self.position / len(self.events) if self.events else 1.0

    # -- moving -----------------------------------------------------------------------------------
    def step_forward(self):
        """Show the next event and return it (None at the end)."""
        ev = self.next_event
        if ev is not None:
            self.position += 1
        return ev

    def step_back(self):
        """Un-show the last shown event and return it (None at the start)."""
        if self.position == 0:
            return None
        self.position -= 1
        return self.events[self.position]

    def seek(self, position: int) -> int:
        """Move to `position` (clamped to 0..len); return the new position."""
        self.position = max(0, min(int(position), len(self.events)))
        return self.position

    def turn_index(self, n: int) -> int:
        """The index of the Nth (1-based) TurnStarted event; IndexError when there is none."""
        if not 1 <= n <= len(self.turn_indices):
            raise IndexError(f"turn {n} does not exist; the log has {len(self.turn_indices)} turns")
        return self.turn_indices[n - 1]

    def jump_to_turn(self, n: int) -> int:
        """Move so that turn N's TurnStarted is the next event (n clamped to 1..turns)."""
        if not self.turn_indices:
            return self.position
        return self.seek(self.turn_index(max(1, min(n, len(self.turn_indices)))))

    def next_turn(self) -> int:
        """Jump to the start of the turn after the current one (or the end)."""
        return self.seek(next((i for i in self.turn_indices if i >= self.position + 1), len(self.events)))

    def previous_turn(self) -> int:
        """Jump to the start of the current turn, or of the one before if already there."""
        return self.seek(next((i for i in reversed(self.turn_indices) if i < self.position), 0))

    # -- speed --------------------------------------------------------------------------------------
    @property
    def speed(self) -> Speed:
        """The replay speed: one of SPEEDS."""
        return self._speed

    @speed.setter
    def speed(self, value: Speed) -> None:
        if value not in SPEEDS:
            raise ValueError(f"speed must be one of {', '.join(map(str, SPEEDS))}; got {value!r}")
        self._speed = value

    def faster(self) -> Speed:
        """The next speed up (stays at "max")."""
        self.speed = SPEEDS[min(SPEEDS.index(self.speed) + 1, len(SPEEDS) - 1)]
        return self.speed

    def slower(self) -> Speed:
        """The next speed down (stays at 0.5)."""
        self.speed = SPEEDS[max(SPEEDS.index(self.speed) - 1, 0)]
        return self.speed

    def delay(self, speed: Speed | None = None) -> float:
        """Seconds to wait before showing the next event at `speed` (default: the cursor's)."""
        return delay_between(self.current, self.next_event, self.speed if speed is None else speed,
                             self.max_gap)
