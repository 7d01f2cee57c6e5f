"""F2 lists live runs apart from the saved sessions, with "⏳ waiting for you" where a run waits,
and Enter attaches the cockpit to one through the same connection as `tuiagents attach`. One
person supervises two teams from one app: attached to one run, F2 → the other → approve there,
F2 → back to the first, and neither run stops. F2 starts on the run that waits for you, and the
live runs and the sessions read as one list (↑/↓ across, Tab between). Real detached processes,
real sockets, pilot."""

from __future__ import annotations

import asyncio
import time

import pytest
from run_process_support import write_config
from test_ui_attached import SIZE, alive, detached, pending_content, until  # noqa: F401 - the fixture
from textual.widgets import DataTable, OptionList

from tuiagents.testing import Fault, Rule, Script

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
        # the focus stays on the sessions, and Tab keeps its usual round (to the buttons and back)
        table = screen.query_one("#sessions-table", DataTable)
        assert screen.focused is table
        assert not {"tab Live runs", "tab Saved sessions", "enter Attach"} & set(footer_words(screen))
        await pilot.press("tab")
        await until(pilot, lambda: screen.focused is not table, "Tab to the buttons")
        assert screen.focused.id == "sessions-replay"
        await pilot.press("shift+tab")
        await until(pilot, lambda: screen.focused is table, "shift+Tab back to the sessions")


async def settled(wanted: dict[str, str]) -> None:
    """Wait until each run is in the state `wanted` says (so the first survey of F2 finds them so)."""
    from tuiagents.session.live_runs import survey

    end = time.monotonic() + 30
    while True:
        states = {r.record.run_id: r.state for r in await asyncio.to_thread(survey, timeout=2.0)}
        if all(states.get(rid) == state for rid, state in wanted.items()):
            return
        assert time.monotonic() < end, f"runs not {wanted}: {states}"
        await asyncio.sleep(0.1)


def footer_words(screen) -> list[str]:
    """The footer's keys as shown: "enter Attach", "tab Live runs"..."""
    from textual.widgets._footer import FooterKey

    return [f"{key.key_display} {key.description}" for key in screen.query(FooterKey)]


async def test_f2_starts_on_the_run_that_waits_and_reads_with_the_sessions_as_one_list(detached, tmp_path):
    from textual.widgets import Button

    from tuiagents.ui.app import TuiAgentsApp
    from tuiagents.ui.screens.live_list import LiveRunsOptions

    # the older run thinks (its model answers in a minute), the newer one waits for you
    busy = detached(Script(rules=[Rule(agent="assistant", reply="late", fault=Fault.slow(delay=60))]))
    asking = detached(Script(rules=[Rule(agent="assistant", replies=["asking one", "asking two"])]))
    await settled({asking.run_id: "waiting", busy.run_id: "running"})

    app = TuiAgentsApp(events=[])
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_f2(pilot, app)
        listing = screen.query_one("#live-runs", LiveRunsOptions)
        table = screen.query_one("#sessions-table", DataTable)
        await until(pilot, lambda: screen.focused is listing, "the focus on the live runs")
        assert list(live_lines(screen)) == [busy.run_id, asking.run_id]
        assert listing.highlighted_option.id == asking.run_id  # the one that waits, not the first
        await until(pilot, lambda: "enter Attach" in footer_words(screen), "the live runs' keys")
        assert "tab Saved sessions" in footer_words(screen)
        assert not {"enter Replay", "r Resume"} & set(footer_words(screen))  # no session is what you are on
        await until(pilot, lambda: table.row_count == 2, "the saved sessions")

        # ↓ from the last live run goes on into the sessions, ↑ from the first session comes back
        await pilot.press("down")
        await until(pilot, lambda: screen.focused is table, "↓ into the sessions")
        assert table.cursor_row == 0
        await until(pilot, lambda: "enter Replay" in footer_words(screen), "the sessions' keys")
        assert "tab Live runs" in footer_words(screen) and "enter Attach" not in footer_words(screen)
        await pilot.press("up")
        await until(pilot, lambda: screen.focused is listing, "↑ back to the live runs")
        assert listing.highlighted_option.id == asking.run_id
        await pilot.press("up", "up")  # the top of the one list: no wrapping round to the bottom
        assert screen.focused is listing and listing.highlighted_option.id == busy.run_id
        # Tab and shift+Tab switch between the two lists, each keeping its place
        await pilot.press("tab")
        await until(pilot, lambda: screen.focused is table, "Tab to the sessions")
        await pilot.press("shift+tab")
        await until(pilot, lambda: screen.focused is listing, "shift+Tab to the live runs")
        assert listing.highlighted_option.id == busy.run_id
        await pilot.press("tab", "tab")
        await until(pilot, lambda: screen.focused is listing, "Tab round to the live runs")
        assert not isinstance(screen.focused, Button)

        await pilot.press("down", "enter")  # attach to the run that waits
        await until(pilot, lambda: app.cockpit is not None and app.screen is app.cockpit
                    and app.cockpit.handle.run_id == asking.run_id, "the cockpit on the waiting run")
        await until(pilot, lambda: pending_content(app) == "asking one", "its draft, to decide")
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running, "the app to quit")
    app.remote_handle.close()
    assert alive(busy.pid) and alive(asking.pid)


async def test_f2_from_a_waiting_run_starts_on_the_other_that_waits(detached):
    from tuiagents.app.attach import attach_app

    first = detached(Script(rules=[Rule(agent="assistant", replies=["alpha one", "alpha two"])]))
    second = detached(Script(rules=[Rule(agent="assistant", replies=["beta one", "beta two"])]))
    await settled({first.run_id: "waiting", second.run_id: "waiting"})
    app = attach_app(first.run_id)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: pending_content(app) == "alpha one", "the first run's draft")
        screen = await open_f2(pilot, app)
        listing = screen.query_one("#live-runs", OptionList)
        await until(pilot, lambda: screen.focused is listing, "the focus on the live runs")
        # the cockpit's own run waits too, but you are there already: F2 starts on the other one
        assert listing.highlighted_option.id == second.run_id
        await pilot.press("a")  # Attach's other key
        await until(pilot, lambda: app.cockpit.handle.run_id == second.run_id, "the cockpit on the other run")
        await until(pilot, lambda: pending_content(app) == "beta one", "its draft")
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running, "the app to quit")
    app.remote_handle.close()
