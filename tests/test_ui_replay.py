"""Pilot tests of replay mode: a run recorded by the real engine (scripted model server) is replayed
through the cockpit's own handlers, with no engine or model client, and shows what the run showed.

Also: stepping back gives exactly the state that stepping forward reached, the player controls and
the REPLAY status bar, requests shown as history (`a` is refused), damaged and newer-format logs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.widgets import Button
from ui_support import SIZE, pair_config, screen_text, wait_until, waiting

from tuiagents.engine.decisions import Decision, RequestKind
from tuiagents.engine.events import DecisionRequested, MessageDelivered, RunStarted
from tuiagents.engine.messages import Message
from tuiagents.session.reader import read_session
from tuiagents.session.sample import sample_events, write_sample_session
from tuiagents.testing import Rule
from tuiagents.ui.app import TuiAgentsApp
from tuiagents.app.replay import ReplayApp
from tuiagents.ui.screens.prompt_screens import TextPromptScreen
from tuiagents.ui.screens.replay_dialogs import NumberPromptScreen
from tuiagents.ui.screens.replay_screen import ReplayScreen
from tuiagents.ui.settings import UIOptions
from tuiagents.ui.widgets.status_bar import status_text

CODER_REPLIES = ["Plan:\n\n1. read the **data**\n2. average it\n\n```python\nprint(sum([1, 2, 3]) / 3)\n```",
                 "The mean is `2.0`. Done."]


def rules() -> list[Rule]:
    """The scripted model: the coder answers (and retries after feedback), the user nudges."""
    return [Rule(agent="coder", contains="shorter", reply="Short plan: average the data."),
            Rule(agent="coder", replies=CODER_REPLIES), Rule(agent="user", reply="Go on.")]


async def record_run(server: Any, make_config: Any, path: Path, *, max_turns: int = 3) -> None:
    """Record a real run with the engine and a scripted human who approves everything."""
    from conftest import ScriptedHuman, finish

    from tuiagents.app.launch import prepare_run

    server.load(rules())
    run = prepare_run(pair_config(make_config, max_turns=max_turns), "pair", "Average 1, 2 and 3",
                      approve="ask", session_path=path)
    ScriptedHuman(default=Decision.approve()).attach(run)
    await finish(run)


def replay_app(source: Any, **kw: Any) -> ReplayApp:
    """A replay app that does not start playing by itself."""
    return ReplayApp(source, options=UIOptions(bell=False), autoplay=False, **kw)


async def opened(pilot: Any) -> ReplayScreen:
    """Wait for the replay screen (after the loading screen, when given a path)."""
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ReplayScreen) and pilot.app.screen.is_mounted,
                     what="the replay screen")
    await pilot.pause()
    return pilot.app.screen


def shown(cockpit: Any) -> dict[str, Any]:
    """What the cockpit shows: every pane's and the timeline's entries, the status, the pending requests."""
    return {
        "panes": {name: pane.transcript.text() for name, pane in cockpit.panes.items()},
        "timeline": cockpit.timeline.text(),
        "status": status_text(cockpit.state, 0.0).plain,
        "agents": {name: (v.state, v.tokens, round(v.cost, 9)) for name, v in cockpit.state.agents.items()},
        "pending": [p.request.id for p in cockpit.state.pending],
    }


def pane_lines(app: Any) -> list[str]:
    """The screen rows between the banner and the status bar (the panes as the terminal shows them)."""
    return screen_text(app).split("\n")[1:-3]


async def test_replay_equals_the_live_run(server, make_config, tmp_path):
    path = tmp_path / "live.jsonl"
    server.load(rules())
    from tuiagents.app.launch import prepare_run

    run = prepare_run(pair_config(make_config), "pair", "Average 1, 2 and 3", approve="ask", session_path=path)
    live = TuiAgentsApp(run=run, options=UIOptions(bell=False), banner="banner")
    async with live.run_test(size=SIZE) as pilot:
        rejected = False
        while not live.cockpit.state.stopped:
            await wait_until(pilot, lambda: waiting(live, RequestKind.MESSAGE) or live.cockpit.state.stopped,
                             what="a draft or the end")
            if live.cockpit.state.stopped:
                break
            if not rejected and waiting(live).request.agent == "coder":  # a rejection with feedback too
                rejected = True
                await pilot.press("r")
                await wait_until(pilot, lambda: isinstance(live.screen, TextPromptScreen), what="feedback prompt")
                live.screen.query_one("TextArea").text = "shorter please"
                await pilot.press("ctrl+s")
            else:
                await pilot.press("a")
            await pilot.pause(0.05)
        await pilot.pause(0.2)
        expected = shown(live.cockpit)
        live.clear_notifications()
        await pilot.pause(0.2)
        expected_lines = pane_lines(live)
    assert "rejected by you: shorter please" in expected["panes"]["coder"]
    assert "Short plan" in expected["panes"]["coder"]

    app = replay_app(path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot)
        assert shown(screen)["timeline"] == ""  # opens at the start
        await pilot.press("end")
        await wait_until(pilot, lambda: screen.position == len(screen.player.events), what="the end")
        await pilot.pause(0.2)
        assert shown(screen) == expected
        app.clear_notifications()
        await pilot.pause(0.2)
        assert pane_lines(app) == expected_lines
        # played event by event at "max" speed (the path live events take), it ends the same
        await pilot.press("home", *["plus"] * 7, "space")
        await wait_until(pilot, lambda: screen.position == len(screen.player.events) and not screen.player.playing,
                         what="playing to the end")
        await pilot.pause(0.1)
        assert shown(screen) == expected


async def test_replay_builds_no_engine_model_or_docker_client(server, make_config, tmp_path, monkeypatch):
    path = tmp_path / "run.jsonl"
    await record_run(server, make_config, path)
    requests_before = len(server.requests)

    def forbidden(*args: Any, **kw: Any) -> None:
        raise AssertionError("replay must not build an engine, a model client or a Docker client")

    import openai

    import tuiagents.engine.factory
    import tuiagents.engine.run
    import tuiagents.execution.docker_client
    import tuiagents.llm.client

    monkeypatch.setattr(tuiagents.engine.run.TeamRun, "__init__", forbidden)
    monkeypatch.setattr(tuiagents.llm.client.LLMClient, "__init__", forbidden)
    monkeypatch.setattr(openai.AsyncOpenAI, "__init__", forbidden)
    monkeypatch.setattr(tuiagents.execution.docker_client, "connect_docker", forbidden)
    monkeypatch.setattr(tuiagents.engine.factory, "build_run", forbidden)
    app = ReplayApp(path, options=UIOptions(bell=False))  # plays by itself
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot)
        await pilot.press("plus", "plus", "plus", "plus", "plus", "plus")  # to "max"
        await wait_until(pilot, lambda: screen.player.cursor.at_end, what="the end of the replay")
        assert "Go on." in screen.panes["user"].transcript.text()
    assert len(server.requests) == requests_before


async def test_step_back_gives_the_state_stepping_forward_reached(tmp_path):
    log = read_session(write_sample_session(tmp_path / "sample.jsonl", 11))
    app = replay_app(log)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot)
        forward = [shown(screen)]
        for _ in log.events:
            screen.action_replay_forward()
            forward.append(shown(screen))
        assert forward[-1]["status"].endswith("stopped: reached max_rounds (11)")
        for k in range(len(log.events) - 1, -1, -1):
            screen.action_replay_back()
            screen._rebuild()  # what the next frame does (without painting every step: the test stays fast)
            assert screen.player.position == k
            assert shown(screen) == forward[k], f"after stepping back to event {k}"
        await pilot.press("end", "left")
        await wait_until(pilot, lambda: screen.player.position == len(log.events) - 1, what="← from the end")
        assert shown(screen) == forward[-2]
        # a jump (several steps in one frame) is one redraw and lands on the same state
        rebuilds = screen.rebuilds
        screen.seek(len(log.events))
        for _ in range(5):
            screen.action_replay_back()
        await pilot.pause()
        assert screen.rebuilds == rebuilds + 1 and shown(screen) == forward[-6]


async def test_player_controls_status_bar_and_palette(tmp_path):
    log = read_session(write_sample_session(tmp_path / "sample.jsonl", 8))
    turns = sum(1 for e in log.events if e.type == "turn_started")
    app = replay_app(log)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot)
        text = screen_text(app)
        assert f"REPLAY  ⏸ 1x · event 0 of {len(log.events)} · turn 0 of {turns}" in text
        assert "Play/pause" in text and "Jump to turn" in text and "Approve" not in text
        await pilot.press("right", "right", "right")
        await pilot.pause()
        assert screen.position == 3 and "event 3 of" in screen_text(app)
        await pilot.press("left")
        await wait_until(pilot, lambda: "event 2 of" in screen_text(app), what="one step back")
        await pilot.press("plus", "plus")
        await pilot.pause()
        assert "⏸ 4x" in screen_text(app)
        await pilot.press("minus", "minus", "minus", "minus")
        await pilot.pause()
        assert "⏸ 0.5x" in screen_text(app)  # the slowest
        await pilot.press("g")
        await wait_until(pilot, lambda: isinstance(app.screen, NumberPromptScreen), what="the turn prompt")
        app.screen.query_one("Input").value = str(turns + 5)
        await pilot.press("enter")
        assert "out of range" in screen_text(app)
        app.screen.query_one("Input").value = "5"
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is screen, what="the prompt to close")
        await pilot.pause()
        assert screen.player.cursor.current_turn == 5 and f"turn 5 of {turns}" in screen_text(app)
        assert log.events[screen.position - 1].type == "turn_started"
        await pilot.press("end")
        await pilot.pause()
        assert "■ end" in screen_text(app) and screen.state.stopped
        await pilot.press("home")
        await wait_until(pilot, lambda: screen.position == 0 and screen.timeline.count == 0, what="the start")
        await pilot.press("plus", "plus", "plus", "plus", "plus", "plus", "space")  # max speed, play
        await wait_until(pilot, lambda: screen.player.cursor.at_end, what="playing to the end")
        assert not screen.player.playing and "■ end max" in screen_text(app)
        titles = [title for _action, title, _help in screen.command_entries()]
        assert "Replay: play / pause" in titles and "Replay: jump to turn…" in titles
        assert not any("Approve" in t for t in titles)


async def test_replay_keys_are_remappable_by_id(tmp_path):
    log = read_session(write_sample_session(tmp_path / "sample.jsonl", 2))
    app = ReplayApp(log, options=UIOptions(bell=False, keymap={"replay_step_forward": "j",
                                                               "replay_step_back": "k"}), autoplay=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot)
        await pilot.press("j", "j", "right")
        await pilot.pause()
        assert screen.position == 2  # → is no longer bound
        await pilot.press("k")
        await wait_until(pilot, lambda: screen.player.position == 1, what="k to step back")
        assert not any("not a binding id" in n.message for n in app._notifications)


async def test_requests_are_history_and_approve_is_refused(server, make_config, tmp_path):
    path = tmp_path / "run.jsonl"
    await record_run(server, make_config, path)
    log = read_session(path)
    first = next(i for i, e in enumerate(log.events) if isinstance(e, DecisionRequested))
    app = replay_app(log)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot)
        screen.seek(first + 1)
        await pilot.pause(0.1)
        text = screen_text(app)
        assert "waited for a decision" in text and "Next in the log: approved (by you)" in text
        assert "This is a replay: nothing can be decided here" in text
        assert not screen.query("RequestPanel Button")  # no live controls
        assert not any(isinstance(w, Button) and "Approve" in str(w.label) for w in screen.query(Button))
        before = shown(screen)
        for key in ("a", "A", "e", "r", "i", "s"):
            await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, ReplayScreen)  # no dialog opened
        assert any("This is a replay" in n.message for n in app._notifications)
        assert shown(screen) == before and screen.position == first + 1
        await pilot.press("p")  # the cockpit's pause key plays the replay
        await wait_until(pilot, lambda: screen.position > first + 1, what="p to play")


async def test_cut_off_log_opens_with_a_notice_and_keeps_what_came_before(tmp_path):
    path = write_sample_session(tmp_path / "crashed.jsonl", 6)
    whole = read_session(path)
    data = path.read_bytes()
    last_line = data.rstrip(b"\n").rfind(b"\n") + 1
    path.write_bytes(data[: last_line + 25])  # the last event cut off mid-line
    app = replay_app(path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot)
        assert len(screen.player.events) == len(whole.events) - 1
        assert any("cut off" in n.message for n in app._notifications)
        assert "damaged log" in screen_text(app)
        await pilot.press("end")
        await pilot.pause()
        assert "Message 6:" in screen.panes["runner"].transcript.text()


async def test_a_resumed_log_keeps_the_panes_of_the_first_leg(tmp_path):
    events = list(sample_events(4))
    later = [RunStarted(run_id="sample0001", team="pair", team_kind="two_agent", task="again",
                        agents=events[0].agents, resumed=True, ts=events[-1].ts + 1),
             MessageDelivered(message=Message(sender="coder", content="Second leg."), ts=events[-1].ts + 2)]
    from tuiagents.session.log import SessionWriter
    from tuiagents.session.sample import sample_header

    path = tmp_path / "resumed.jsonl"
    with SessionWriter(path, sample_header()) as writer:
        writer.write_many(events + later)
    app = replay_app(path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot)
        await pilot.press("end")
        await pilot.pause()
        coder = screen.panes["coder"].transcript.text()
        assert "Message 3:" in coder and "Second leg." in coder
        assert "· resumed" in screen.timeline.text() and not screen.state.stopped


def test_newer_format_and_missing_logs_exit_2_with_a_message(tmp_path, capsys):
    from tuiagents.app.cli import main

    path = write_sample_session(tmp_path / "new.jsonl", 2)
    lines = path.read_text().split("\n")
    header = json.loads(lines[0])
    header["format_version"] = 99
    path.write_text("\n".join([json.dumps(header), *lines[1:]]))
    assert main(["replay", str(path)]) == 2
    err = capsys.readouterr().err
    assert "format 99" in err and "upgrade tuiagents" in err and "Traceback" not in err
    assert main(["replay", str(tmp_path / "nope.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_replay_mode_snapshot(snap_compare, tmp_path):
    log = read_session(write_sample_session(tmp_path / "snapshot.jsonl", 6))
    at = [i for i, e in enumerate(log.events) if isinstance(e, DecisionRequested)][5] + 1

    async def run_before(pilot) -> None:
        screen = await opened(pilot)
        screen.seek(at)
        await pilot.pause(0.2)
        pilot.app.clear_notifications()
        await pilot.pause(0.2)

    assert snap_compare(replay_app(log), terminal_size=SIZE, run_before=run_before)
