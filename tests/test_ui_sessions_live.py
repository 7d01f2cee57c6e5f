"""Pilot tests: the session browser (F2) never deletes, resumes or forks the log of a run that is
still writing it, whether that run is this app's own or another process's."""

from __future__ import annotations

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
    from tuiagents.app.launch import prepare_run

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
        await pilot.press("f")
        await pilot.pause()
        assert "Cannot fork live.jsonl: it is the run going on in this app" in notes(app)
        assert app.screen is screen and live.exists() and not list(folder.glob("live-fork*"))

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


async def test_a_block_cut_off_by_a_crash_shows_interrupted_and_is_asked_again(server, make_config, tmp_path):
    """The log ends while the user proxy ran the coder's block, approved for the session: the
    resumed cockpit marks the block interrupted and asks before running it again."""
    from tuiagents.engine.decisions import ApprovalRule, Decision, Scope
    from tuiagents.engine.events import (
        DecisionRecorded, ExecutionStarted, MessageDelivered, RunStarted, TurnStarted,
    )
    from tuiagents.engine.messages import Message
    from tuiagents.session.log import SessionHeader, SessionWriter
    from tuiagents.session.resume import prepare_resume
    from ui_support import pair_config

    config = pair_config(make_config, code="local")
    code = "print('half way')"
    events = [
        RunStarted(run_id="crash1", team="pair", team_kind="two_agent", task="Print it", agents=[]),
        MessageDelivered(message=Message(sender="user", content="Print it", origin="human")),
        TurnStarted(agent="coder", round=1),
        MessageDelivered(message=Message(sender="coder", content=f"Here:\n```python\n{code}\n```"), round=1),
        TurnStarted(agent="user", round=2),
        DecisionRecorded(request_id="r1", request_kind=RequestKind.CODE, agent="coder",
                         decision=Decision.approve(scope=Scope.RULE, rule=ApprovalRule(
                             kind=RequestKind.CODE, agent="coder", language="python"))),
        ExecutionStarted(exec_id="x1", agent="user", language="python", code=code, executor="local",
                         source_agent="coder", block_index=0),
    ]
    for n, ev in enumerate(events, 1):
        ev.seq = n
    path = tmp_path / "crashed.jsonl"
    with SessionWriter(path, SessionHeader.from_run(events[0], config)) as w:
        w.write_many(events)

    run = prepare_resume(path, config=config, approve="ask")
    app = TuiAgentsApp(run=run, options=UIOptions(bell=False), config=config)
    async with app.run_test(size=SIZE) as pilot:
        request = await wait_until(pilot, lambda: waiting(app, RequestKind.CODE), what="the code request")
        assert request.request.prompt.startswith("This code was running when tuiagents stopped (crash?)")
        shown = app.cockpit.panes["user"].transcript.text() + app.cockpit.timeline.text()
        assert "interrupted: tuiagents stopped while this block ran" in shown
        await wait_until(pilot, lambda: "This code was running when tuiagents stopped" in screen_text(app),
                         what="the reason in the request box")
        await pilot.press("x")  # do not run it again
        await wait_until(pilot, lambda: not waiting(app, RequestKind.CODE), what="the skip")
        await pilot.press("s")
        await wait_until(pilot, lambda: app.cockpit.state.stopped, what="the stop")
    assert not list(tmp_path.glob("**/half way"))
