"""The event bus continues a recorded run: numbering after its log, history kept, no second delivery."""

from __future__ import annotations

from tuiagents.engine.bus import EventBus
from tuiagents.engine.events import Notice, TokenDelta


async def test_a_bus_continues_after_recorded_events():
    recorded = [Notice(text="a", seq=4), TokenDelta(agent="x", text="t", seq=5), Notice(text="b", seq=6)]
    bus = EventBus()
    seen = []
    bus.subscribe(seen.append)
    bus.continue_after(recorded)
    assert [e.seq for e in bus.history] == [4, 6]  # token deltas are never kept
    closed = bus.record(Notice(text="closed while resuming"))
    assert closed.seq == 7 and bus.history[-1] is closed and seen == []  # its writer has it already
    live = await bus.emit(Notice(text="live"))
    assert live.seq == 8 and seen == [live]
