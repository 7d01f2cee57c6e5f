"""Every screen a key opens over the cockpit is opaque, so the cockpit is not rendered again behind
it in each of its frames (F1, the palette and the dialogs were slow to show because of that).

Timings are in `bench/bench_keys_tmux.py`; this test asserts the backgrounds.
"""

from __future__ import annotations

import pytest
from ui_support import SIZE, make_app, pair_config, wait_until, waiting

from tuiagents.engine.decisions import RequestKind
from tuiagents.testing import Rule


@pytest.mark.parametrize("key", ["f1", "ctrl+p", "e", "r", "i", "f2"])
async def test_what_a_key_opens_over_the_cockpit_is_opaque(server, make_config, tmp_path, key):
    server.load([Rule(agent="coder", reply="Draft."), Rule(agent="user", reply="ok")])
    app = make_app(pair_config(make_config), "pair", "Say hello", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        await pilot.press(key)
        await wait_until(pilot, lambda: app.screen is not app.cockpit, what=f"the screen {key} opens")
        await pilot.pause()
        assert app.screen.styles.background.a == 1, f"{type(app.screen).__name__} lets the cockpit through"
