"""The cockpit paints its first frame before the engine starts (the first LLM call, its client and
the session's first events follow). Timings are in `bench/bench_first_frame.py`."""

from __future__ import annotations

from ui_support import SIZE, make_app, pair_config, wait_until

from tuiagents.engine.events import RunStarted
from tuiagents.testing import Rule
from tuiagents.ui.app import TuiAgentsApp


async def test_engine_starts_once_the_cockpit_is_on_screen(server, make_config, tmp_path, monkeypatch):
    server.load([Rule(reply="Hello.")])
    frames: list[str] = []
    real_display = TuiAgentsApp._display

    def display(self, screen, renderable):
        frames.append(type(screen).__name__)
        return real_display(self, screen, renderable)

    monkeypatch.setattr(TuiAgentsApp, "_display", display)
    app = make_app(pair_config(make_config, max_turns=1), "pair", "Say hello", tmp_path)
    painted_at_start: list[bool] = []
    app.prepared_run.bus.subscribe(
        lambda event: isinstance(event, RunStarted) and painted_at_start.append("CockpitScreen" in frames))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: painted_at_start, what="the run's start")
        assert painted_at_start == [True]
