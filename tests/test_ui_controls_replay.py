"""Human controls are events: a live run that is paused, given a forced speaker, an inject and a
stop shows the same control entries when its log is replayed, and the log says who did each."""

from __future__ import annotations

from textual.widgets import Input, OptionList, TextArea
from ui_support import SIZE, group_config, make_app, wait_until, waiting

from tuiagents.app.replay import ReplayApp
from tuiagents.engine.decisions import DecidedBy, RequestKind
from tuiagents.engine.events import MessageQueued, NextSpeakerForced, RunPaused, RunResumed, StopRequested
from tuiagents.engine.view import EntryStatus, fold
from tuiagents.session.reader import read_session
from tuiagents.testing import Rule
from tuiagents.ui.screens.inject_screen import InjectScreen
from tuiagents.ui.screens.prompt_screens import PickScreen
from tuiagents.ui.screens.replay_screen import ReplayScreen
from tuiagents.ui.settings import UIOptions

CONTROL_MARKS = ("paused by", "resumed by", "speaks next (picked by", "stop requested by", "→ carol")


def control_lines(text: str) -> list[str]:
    """The timeline's lines about controls and the injected message, in order."""
    return [line.strip() for line in text.split("\n") if any(mark in line for mark in CONTROL_MARKS)]


async def test_controls_of_a_live_run_replay_as_they_were_shown(server, make_config, tmp_path):
    server.load([Rule(agent="alice", reply="A."), Rule(agent="bob", reply="B."), Rule(agent="carol", reply="C.")])
    app = make_app(group_config(make_config, ["alice", "bob", "carol"]), "group", "Talk", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        cockpit = app.cockpit
        await wait_until(pilot, lambda: (w := waiting(app, RequestKind.MESSAGE)) and w.request.agent == "bob",
                         what="bob's draft")
        await pilot.press("p")
        await wait_until(pilot, lambda: cockpit.state.paused, what="the engine's RunPaused")
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, PickScreen), what="speaker picker")
        options = app.screen.query_one(OptionList)
        options.highlighted = options.get_option_index("alice")
        await pilot.press("enter")
        await wait_until(pilot, lambda: cockpit.state.controls.forced_next == "alice", what="NextSpeakerForced")
        await pilot.press("i")
        await wait_until(pilot, lambda: isinstance(app.screen, InjectScreen), what="inject dialog")
        app.screen.query_one(TextArea).text = "Carol, keep it short."
        app.screen.query_one("#inject-target", Input).value = "carol"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: cockpit.state.queued, what="MessageQueued")
        await pilot.press("a")
        await pilot.press("p")
        await wait_until(pilot, lambda: not cockpit.state.paused, what="the engine's RunResumed")
        await wait_until(pilot, lambda: (w := waiting(app, RequestKind.MESSAGE)) and w.request.agent == "alice",
                         what="alice speaks next, as forced")
        await pilot.press("s")
        await wait_until(pilot, lambda: cockpit.state.stopped, what="the stop")
        cockpit.feed.flush()
        live_lines = control_lines(cockpit.timeline.text())
        live_state = cockpit.state

    # the log holds each control with who did it, in the order it happened
    log = read_session(tmp_path / "session.jsonl")
    controls = [e for e in log.events if isinstance(e, (RunPaused, RunResumed, NextSpeakerForced, StopRequested,
                                                        MessageQueued))]
    assert [type(e).__name__ for e in controls] == ["RunPaused", "NextSpeakerForced", "MessageQueued",
                                                    "RunResumed", "StopRequested"]
    assert all(e.by == DecidedBy.HUMAN for e in controls)
    assert log.events.index(controls[-1]) < log.events.index(log.run_stopped)
    view = fold(log.events)  # the injected message is one entry, found by its id, queued then delivered
    (queued,) = controls[2:3]
    assert view.entry_for_message(queued.message.id).status == EntryStatus.DELIVERED
    assert live_state.entry_for_message(queued.message.id).status == EntryStatus.DELIVERED
    assert len(live_lines) == 5, live_lines

    replay = ReplayApp(tmp_path / "session.jsonl", options=UIOptions(bell=False), autoplay=False)
    async with replay.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(replay.screen, ReplayScreen) and replay.screen.is_mounted,
                         what="the replay screen")
        screen = replay.screen
        await pilot.press("end")
        await wait_until(pilot, lambda: screen.position == len(screen.player.events), what="the end")
        screen.feed.flush()
        assert control_lines(screen.timeline.text()) == live_lines
        assert screen.state.controls.stop_requested is not None
        assert screen.state.controls.stop_requested.by == DecidedBy.HUMAN
