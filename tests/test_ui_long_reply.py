"""A very long one-line reply on the real path (scripted server, engine, log, cockpit): the panes
and the timeline hold only its cut part, however long it is, and keys still answer.

Timings are in `bench/bench_long_reply_keys_tmux.py`; this test asserts what the widgets hold.
"""

from __future__ import annotations

from ui_support import SIZE, make_app, pair_config, screen_text, wait_until, waiting

from tuiagents.engine.decisions import RequestKind
from tuiagents.render.message import VIEW_CHARS
from tuiagents.testing import Rule

LONG = "x" * 1_000_000


def _held(transcript) -> int:
    """Characters of rendered lines a transcript holds."""
    return sum(len(strip.text) for slot in transcript._slots if slot.strips for strip in slot.strips)


async def test_a_long_one_line_reply_is_held_cut_in_every_view(server, make_config, tmp_path):
    server.load([Rule(agent="coder", reply=LONG), Rule(agent="user", reply="ok")])
    app = make_app(pair_config(make_config), "pair", "Say hello", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), timeout=60, what="the long draft")
        await wait_until(pilot, lambda: "more characters" in screen_text(app), what="the cut line")
        cockpit = app.cockpit
        pane = cockpit.panes["coder"].transcript
        assert VIEW_CHARS // 2 < _held(pane) < 2 * VIEW_CHARS
        await pilot.press("a")
        await wait_until(pilot, lambda: [m for m in cockpit.run.transcript if m.sender == "coder"],
                         what="the approved reply delivered")
        await pilot.press("t")  # the timeline shows the delivered message
        await wait_until(pilot, lambda: _held(cockpit.timeline) > VIEW_CHARS // 2, what="the timeline's lines")
        for transcript in (pane, cockpit.timeline):
            assert _held(transcript) < 2 * VIEW_CHARS
        delivered = [m for m in cockpit.run.transcript if m.sender == "coder"]
        assert delivered[0].content == LONG  # cut on screen only: the run has all of it
