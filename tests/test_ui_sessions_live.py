"""Pilot tests: the session browser (F2) never deletes, resumes or forks the log of a run that is
still writing it, whether that run is this app's own or another process's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_ui_replay import rules
from test_ui_sessions import browser, folder_config, select
from textual.widgets import DataTable
from ui_support import SIZE, screen_text, wait_until, waiting

from tuiagents.engine.decisions import RequestKind
from tuiagents.session.reader import read_session
from tuiagents.session.sample import sample_events, sample_header
from tuiagents.ui.app import TuiAgentsApp
from tuiagents.ui.screens.cockpit import CockpitScreen
from tuiagents.ui.screens.replay_dialogs import ConfirmScreen
from tuiagents.ui.screens.sessions_screen import SessionsScreen
from tuiagents.ui.settings import UIOptions


def notes(app: Any) -> str:
    return "\n".join(n.message for n in app._notifications)


async def test_the_live_runs_own_log_cannot_be_deleted_resumed_or_forked(server, make_config, tmp_path):
    from tuiagents.launch import prepare_run

    folder = tmp_path / "sessions"
    folder.mkdir()
    config = folder_config(make_config, folder)
    server.load(rules())
    live = folder / "live.jsonl"
    run = prepare_run(config, "pair", "Average 1, 2 and 3", approve="ask", session_path=live)
    app = TuiAgentsApp(run=run, options=UIOptions(bell=False), config=config)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="the first draft")
        screen = await browser(pilot)
        await select(pilot, screen, live)
        assert "● running: written by this process" in screen_text(app)

        await pilot.press("d")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)  # not even asked
        assert "Cannot delete live.jsonl: it is the run going on in this app" in notes(app)
        await pilot.press("r")
        await pilot.pause()
        assert "Cannot resume live.jsonl: it is the run going on in this app" in notes(app)
        assert app.screen is screen and live.exists()

        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, CockpitScreen), what="back to the cockpit")
        await pilot.press("a")  # the run goes on writing the same file
        await wait_until(pilot, lambda: len(read_session(live).events) > 8, what="more events in the log")
        await pilot.press("s")
        await wait_until(pilot, lambda: app.cockpit.state.stopped, what="the stop")
        await wait_until(pilot, lambda: run.session_writer.closed, what="the log to be closed")
        assert read_session(live).finished

        screen = await browser(pilot)  # once the run has ended, its log is an ordinary session
        await select(pilot, screen, live)
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        await pilot.press("y")
        await wait_until(pilot, lambda: not live.exists(), what="the log to go")


async def test_a_log_another_writer_holds_is_refused_naming_it(tmp_path):
    from tuiagents.session.log import SessionWriter

    folder = tmp_path / "sessions"
    folder.mkdir()
    held = folder / "held.jsonl"
    writer = SessionWriter(held, sample_header())
    writer.write_many(sample_events(3, stop=False))
    before = held.read_bytes()
    app = TuiAgentsApp(events=[], options=UIOptions(bell=False))
    try:
        async with app.run_test(size=SIZE) as pilot:
            app.push_screen(SessionsScreen(folder))
            await wait_until(pilot, lambda: isinstance(app.screen, SessionsScreen) and app.screen.loaded, what="list")
            screen = app.screen
            await select(pilot, screen, held)
            await pilot.press("d")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
            await pilot.press("y")
            await wait_until(pilot, lambda: "Cannot delete held.jsonl" in notes(app), what="the refusal")
            assert "the log is being written by this process" in notes(app)
            await pilot.press("r")
            await wait_until(pilot, lambda: "Cannot resume held.jsonl" in notes(app), what="the refusal")
            assert app.screen is screen and screen.query_one(DataTable).row_count == 1
            assert "held.jsonl" in screen_text(app)
    finally:
        writer.close()
    assert held.read_bytes() == before
