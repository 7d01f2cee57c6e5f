"""F2 lists live runs apart from the saved sessions, with "⏳ waiting for you" where a run waits,
and Enter attaches the cockpit to one through the same connection as `tuiagents attach`. One
person supervises two teams from one app: attached to one run, F2 → the other → approve there,
F2 → back to the first, and neither run stops. Real detached processes, real sockets, pilot."""

from __future__ import annotations

import asyncio

import pytest
from run_process_support import write_config
from test_ui_attached import SIZE, alive, detached, pending_content, until  # noqa: F401 - the fixture
from textual.widgets import DataTable, OptionList

from tuiagents.testing import Rule, Script

pytestmark = pytest.mark.usefixtures("detached")


def live_lines(screen) -> dict[str, str]:
    """The live runs F2 lists: run id -> the line as shown."""
    listing = screen.query_one("#live-runs", OptionList)
    return {listing.get_option_at_index(i).id: str(listing.get_option_at_index(i).prompt)
            for i in range(listing.option_count)}


async def open_f2(pilot, app):
    from tuiagents.ui.screens.sessions_screen import SessionsScreen

    await pilot.press("f2")
    await until(pilot, lambda: isinstance(app.screen, SessionsScreen), "F2 to open")
    return app.screen


async def attach_from_f2(pilot, app, run_id: str):
    """Choose `run_id` in F2's live runs and press Enter."""
    screen = await open_f2(pilot, app)
    await until(pilot, lambda: run_id in live_lines(screen), f"F2 to list run {run_id}")
    listing = screen.query_one("#live-runs", OptionList)
    listing.focus()
    listing.highlighted = listing.get_option_index(run_id)
    await pilot.press("enter")
    await until(pilot, lambda: app.cockpit is not None and app.screen is app.cockpit
                and app.cockpit.handle.run_id == run_id, f"the cockpit on run {run_id}")


async def test_f2_lists_live_runs_and_enter_attaches_to_another_and_back(detached, tmp_path):
    from tuiagents.app.attach import attach_app
    from tuiagents.session.live_runs import survey

    first = detached(Script(rules=[Rule(agent="assistant", replies=["alpha one", "alpha two"])]))
    second = detached(Script(rules=[Rule(agent="assistant", replies=["beta one", "beta two"])]))
    app = attach_app(first.run_id)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: pending_content(app) == "alpha one", "the first run's draft")
        first_handle = app.remote_handle

        screen = await open_f2(pilot, app)

        def both_waiting() -> bool:
            lines = live_lines(screen)
            return all(rid in lines and "⏳ waiting for you" in lines[rid] for rid in (first.run_id, second.run_id))

        await until(pilot, both_waiting, "both runs listed as waiting for you")
        lines = live_lines(screen)
        assert "pair" in lines[second.run_id] and "assistant" in lines[second.run_id]
        assert lines[first.run_id].startswith("▶ ") and not lines[second.run_id].startswith("▶")  # the one shown
        title = str(screen.query_one("#live-title").content)
        assert "Live runs (2)" in title and "2 waiting for you" in title
        # the saved sessions stay below, apart: both runs' logs, still being written
        await until(pilot, lambda: screen.query_one("#sessions-table", DataTable).row_count == 2, "the saved sessions")
        await pilot.press("escape")

        await attach_from_f2(pilot, app, second.run_id)
        await until(pilot, lambda: pending_content(app) == "beta one", "the second run's draft")
        assert first_handle.closed_reason is not None  # this view's connection, not the run
        assert app.remote_handle is app.cockpit.handle and not app.started_here
        await pilot.press("a")
        await until(pilot, lambda: pending_content(app) == "beta two", "the second run going on after approve")

        await attach_from_f2(pilot, app, first.run_id)
        # everything so far of the first run, and its draft still open where it was left
        await until(pilot, lambda: pending_content(app) == "alpha one", "the first run's open draft again")
        await pilot.press("a")
        await until(pilot, lambda: pending_content(app) == "alpha two", "the first run going on after approve")
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running, "the app to quit")
    app.remote_handle.close()
    assert alive(first.pid) and alive(second.pid)
    runs = {r.record.run_id: r for r in await asyncio.to_thread(survey)}
    assert runs[first.run_id].state == runs[second.run_id].state == "waiting"


async def test_f2_hides_live_runs_while_none_lives_and_keeps_an_in_process_run_in_the_cockpit(detached, tmp_path):
    from tuiagents.app.launch import prepare_run
    from tuiagents.config import load_config
    from tuiagents.ui.app import TuiAgentsApp
    from tuiagents.ui.settings import UIOptions

    script = Script(rules=[Rule(agent="assistant", replies=["draft one", "draft two", "draft three"])])
    rec = await asyncio.to_thread(detached, script)
    run = prepare_run(load_config(tmp_path / "config.toml"), "pair", "say hi", approve="ask",
                      session_path=tmp_path / "here.jsonl")
    app = TuiAgentsApp(run=run, options=UIOptions(bell=False))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: pending_content(app) is not None, "the in-process run's draft")
        cockpit = app.cockpit
        screen = await open_f2(pilot, app)
        await until(pilot, lambda: rec.run_id in live_lines(screen), "F2 to list the detached run")
        assert list(live_lines(screen)) == [rec.run_id]  # the app's own in-process run is no live run there
        listing = screen.query_one("#live-runs", OptionList)
        listing.focus()
        await pilot.press("enter")
        await pilot.pause(0.3)
        # leaving would leave the in-process run with nobody to drive it: refused, saying what to do
        assert app.screen is screen and app.cockpit is cockpit
        assert "stop it (s) before attaching to another run" in " ".join(str(n.message) for n in app._notifications)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is cockpit, "back to the cockpit")
        await pilot.press("s")
        await until(pilot, lambda: cockpit.state.stopped, "the in-process run's stop")
        await attach_from_f2(pilot, app, rec.run_id)  # a stopped run leaves nothing behind: attach goes
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running, "the app to quit")
    app.remote_handle.close()
    assert alive(rec.pid)


async def test_f2_hides_the_live_runs_while_none_lives(detached):
    from tuiagents.ui.app import TuiAgentsApp

    app = TuiAgentsApp(events=[])
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_f2(pilot, app)
        box = screen.query_one("#live-box")
        await until(pilot, lambda: box.surveyed, "the first survey")
        assert not box.display and box.runs == []
