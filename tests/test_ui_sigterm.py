"""SIGTERM ends the app from its event loop, as ctrl+q does: the run of this app stops saying why,
and the app quits with status 143. (The command line's handler raised SystemExit wherever the
main thread was; inside a key's handler that skipped Textual's shutdown and the process hung.)
Real run on the scripted server, Textual pilot, a real signal to this process."""

from __future__ import annotations

import asyncio
import os
import signal

from ui_support import SIZE, make_app, pair_config, wait_until, waiting

from tuiagents.engine.decisions import RequestKind
from tuiagents.testing import Rule


async def test_sigterm_stops_the_run_and_quits_with_143_then_gives_the_signal_back(server, make_config, tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    server.load([Rule(agent="coder", reply="A draft."), Rule(agent="user", reply="ok")])
    app = make_app(pair_config(make_config), "pair", "Answer", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        os.kill(os.getpid(), signal.SIGTERM)
        # not through the pilot: its pauses wait on screens the quitting app is closing
        for _ in range(600):
            if not app.is_running:
                break
            await asyncio.sleep(0.05)
        assert not app.is_running, "the app did not quit on SIGTERM"
    assert app.return_value == 143  # what `app.run()` returns: the command's exit status
    assert app.cockpit.state.stopped and "SIGTERM" in (app.cockpit.state.stop_reason or "")
    assert signal.getsignal(signal.SIGTERM) is before
