"""Pilot tests of the session browser (F2) on logs written by real runs (engine + scripted server):
listing (unreadable logs with their error), replay, fork (the original stays byte-identical), delete
after confirming, and resume (the live cockpit shows the history, then the run goes on and finishes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from test_ui_replay import record_run, rules
from textual.widgets import DataTable, Input, OptionList
from ui_support import SIZE, pair_config, screen_text, wait_until, waiting

from tuiagents.engine.decisions import RequestKind
from tuiagents.session.reader import read_session
from tuiagents.session.sample import write_sample_session
from tuiagents.ui.app import TuiAgentsApp
from tuiagents.ui.screens.cockpit import CockpitScreen
from tuiagents.ui.screens.prompt_screens import PickScreen
from tuiagents.ui.screens.replay_dialogs import ConfirmScreen, NumberPromptScreen
from tuiagents.ui.screens.replay_screen import ReplayScreen
from tuiagents.ui.screens.sessions_screen import SessionsScreen
from tuiagents.ui.screens.start_screens import TaskScreen, TeamChoice
from tuiagents.ui.settings import UIOptions


def folder_config(make_config: Any, folder: Path) -> Any:
    """The pair team on the scripted model, with its sessions in `folder`."""
    return pair_config(lambda **kw: make_config(session={"dir": str(folder)}, **kw))


async def browser(pilot: Any) -> SessionsScreen:
    """Open the browser with F2 and wait for its list."""
    await pilot.press("f2")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, SessionsScreen) and pilot.app.screen.loaded,
                     what="the session list")
    await pilot.pause()
    return pilot.app.screen


async def select(pilot: Any, screen: SessionsScreen, path: Path) -> None:
    """Move the table's cursor to the row of `path`."""
    table = screen.query_one(DataTable)
    table.move_cursor(row=table.get_row_index(str(path)))
    await pilot.pause()
    assert screen.selected().path == path


def cockpit_app(config: Any) -> TuiAgentsApp:
    """The app on an empty cockpit (no run), with `config`."""
    return TuiAgentsApp(events=[], options=UIOptions(bell=False), config=config)


async def test_lists_sessions_and_unreadable_ones_with_their_error(server, make_config, tmp_path):
    folder = tmp_path / "sessions"
    folder.mkdir()
    await record_run(server, make_config, folder / "real.jsonl")
    cut = write_sample_session(folder / "crashed.jsonl", 3, stop=False)
    cut.write_bytes(cut.read_bytes()[:-20])
    (folder / "notes.jsonl").write_text("my shopping list\n")
    (folder / "empty.jsonl").write_text("")
    newer = write_sample_session(folder / "newer.jsonl", 1, run_id="newer")
    lines = newer.read_text().split("\n")
    header = json.loads(lines[0]) | {"format_version": 99}
    newer.write_text("\n".join([json.dumps(header), *lines[1:]]))

    app = cockpit_app(folder_config(make_config, folder))
    async with app.run_test(size=SIZE) as pilot:
        screen = await browser(pilot)
        assert screen.query_one(DataTable).row_count == 5
        text = screen_text(app)
        assert "Average 1, 2 and 3" in text and "pair" in text and "$0.0000" in text
        # how the real run ended, in words, not the log's stop code
        assert "■ finished: max turns 3 reached" in text and "[max_turns]" not in text
        assert "interrupted" in text and "cannot read: not a tuiagents session log" in text
        assert "cannot read: the file is empty" in text and "upgrade tuiagents" in text
        await select(pilot, screen, folder / "notes.jsonl")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, SessionsScreen)  # nothing opened, and no crash
        assert any("cannot be read" in n.message for n in app._notifications)
        await select(pilot, screen, folder / "crashed.jsonl")
        await pilot.press("enter")
        replay = await wait_until(pilot, lambda: isinstance(app.screen, ReplayScreen) and app.screen, what="replay")
        assert any("cut off" in n.message for n in app._notifications)
        assert replay.closable
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, what="back to the list")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, CockpitScreen), what="back to the cockpit")


async def test_reachable_from_the_task_screen_and_the_palette(make_config, tmp_path):
    folder = tmp_path / "sessions"
    folder.mkdir()
    write_sample_session(folder / "one.jsonl", 2)
    app = TuiAgentsApp(run_factory=lambda team, task: None, teams=[TeamChoice("pair")],
                       options=UIOptions(bell=False), config=folder_config(make_config, folder))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, TaskScreen), what="the task screen")
        assert "Sessions" in [c.title for c in app.get_system_commands(app.screen)]
        await browser(pilot)  # F2, with the task editor focused
        assert "Plot the first 20 Fibonacci numbers" in screen_text(app)
        assert str(folder) in screen_text(app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, TaskScreen), what="back to the task screen")


async def test_fork_leaves_the_original_byte_identical_then_replays_the_fork(server, make_config, tmp_path):
    folder = tmp_path / "sessions"
    folder.mkdir()
    original = folder / "real.jsonl"
    await record_run(server, make_config, original)
    before = original.read_bytes()
    app = cockpit_app(folder_config(make_config, folder))
    async with app.run_test(size=SIZE) as pilot:
        screen = await browser(pilot)
        await pilot.press("f")
        prompt = await wait_until(pilot, lambda: isinstance(app.screen, NumberPromptScreen) and app.screen,
                                  what="the event prompt")
        prompt.query_one(Input).value = "0"
        await pilot.press("enter")
        assert "out of range" in screen_text(app)
        prompt.query_one(Input).value = "7"
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, PickScreen), what="what to do with the fork")
        fork = folder / "real-fork7.jsonl"
        assert fork.exists() and original.read_bytes() == before
        forked = read_session(fork)
        assert len(forked.events) == 7 and forked.header.forked_from.at_event == 7
        app.screen.query_one(OptionList).highlighted = 0  # "Replay the fork"
        await pilot.press("enter")
        replay = await wait_until(pilot, lambda: isinstance(app.screen, ReplayScreen) and app.screen,
                                  what="the fork's replay")
        assert len(replay.player.events) == 7 and "forked at event 7" in screen_text(app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, what="back to the list")
        assert screen.query_one(DataTable).row_count == 2 and screen.selected().path == fork
    assert original.read_bytes() == before


async def test_delete_asks_first(tmp_path):
    folder = tmp_path / "sessions"
    folder.mkdir()
    keep = write_sample_session(folder / "keep.jsonl", 2, run_id="keep")
    doomed = write_sample_session(folder / "doomed.jsonl", 2, run_id="doomed")
    work = doomed.with_suffix(".work")
    work.mkdir()
    (work / "out.txt").write_text("output")
    app = TuiAgentsApp(events=[], options=UIOptions(bell=False))
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(SessionsScreen(folder))
        await wait_until(pilot, lambda: isinstance(app.screen, SessionsScreen) and app.screen.loaded, what="list")
        screen = app.screen
        await select(pilot, screen, doomed)
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        assert "doomed.work/" in screen_text(app) and "cannot be undone" in screen_text(app)
        await pilot.press("n")
        await wait_until(pilot, lambda: app.screen is screen, what="cancelled")
        assert doomed.exists()
        await pilot.click("#sessions-delete")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question again")
        await pilot.press("y")
        await wait_until(pilot, lambda: screen.query_one(DataTable).row_count == 1, what="the row to go")
        assert not doomed.exists() and not work.exists() and keep.exists()


async def test_resume_shows_the_history_then_continues_live_to_the_end(server, make_config, tmp_path):
    folder = tmp_path / "sessions"
    folder.mkdir()
    path = folder / "real.jsonl"
    await record_run(server, make_config, path, max_turns=2)
    first_leg = read_session(path)
    server.load(rules())
    app = cockpit_app(folder_config(make_config, folder))
    async with app.run_test(size=SIZE) as pilot:
        await browser(pilot)
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, CockpitScreen) and app.cockpit.run is not None,
                         what="the live cockpit")
        cockpit = app.cockpit
        assert "Plan:" in cockpit.panes["coder"].transcript.text()  # the first leg is shown
        while not cockpit.state.stopped:
            await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE) or cockpit.state.stopped,
                             what="a draft or the end")
            if not cockpit.state.stopped:
                await pilot.press("a")
                await pilot.pause(0.05)
        assert cockpit.engine_error is None
        assert "· resumed" in cockpit.timeline.text()
    second = read_session(path)
    assert second.events[: len(first_leg.events)] == first_leg.events  # appended to the same log
    assert [e.resumed for e in second.events if e.type == "run_started"] == [False, True]
    assert second.finished and len(second.events) > len(first_leg.events)


async def test_f2_resumes_a_session_in_a_process_of_its_own_as_the_command_does(server, make_config, tmp_path):
    """With the command line's resumer installed (as every command that opens the app does), F2's
    resume starts the run in a process of its own: the cockpit attaches to it with the history
    first, d would leave it going, and it appends to the same log."""
    from tuiagents.app.resume import install_resumer

    folder = tmp_path / "sessions"
    folder.mkdir()
    path = folder / "real.jsonl"
    await record_run(server, make_config, path, max_turns=2)
    first_leg = read_session(path)
    server.load([{"agent": "coder", "reply": "second leg draft"}, {"agent": "user", "reply": "second leg draft"}])
    install_resumer()
    app = cockpit_app(folder_config(make_config, folder))
    async with app.run_test(size=SIZE) as pilot:
        await browser(pilot)
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, CockpitScreen) and app.cockpit.handle is not None
                         and not app.cockpit.handle.local, what="the cockpit on the resumed run's own process",
                         timeout=60)
        cockpit = app.cockpit
        assert app.started_here and cockpit.run is None
        await wait_until(pilot, lambda: "Plan:" in cockpit.panes["coder"].transcript.text(), what="the first leg")
        request = await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="the second leg's draft",
                                   timeout=60)
        assert request.request.content == "second leg draft"
        await pilot.press("a")
        await wait_until(pilot, lambda: waiting(app) is None or waiting(app).request.id != request.request.id,
                         what="the approval taken")
        await pilot.press("s")
        await wait_until(pilot, lambda: cockpit.state.stopped, what="the stop")
    second = read_session(path)
    assert second.events[: len(first_leg.events)] == first_leg.events  # appended to the same log
    assert [e.resumed for e in second.events if e.type == "run_started"] == [False, True]


async def test_f2_resumes_a_log_without_a_config_of_its_own_with_the_apps(server, make_config, tmp_path):
    """A log whose header carries no config (an imported one) resumes from F2 in its own process on
    the config the app was started with, as it did in the app's process."""
    import json

    from tuiagents.app.resume import install_resumer

    folder = tmp_path / "sessions"
    folder.mkdir()
    path = folder / "bare.jsonl"
    await record_run(server, make_config, path, max_turns=2)
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    header["config"] = {}
    path.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    server.load([{"agent": "coder", "reply": "on the app's config"}, {"agent": "user", "reply": "on the app's config"}])
    config_path = tmp_path / "app.toml"  # the config the app was started with (`tuiagents --config`)
    config_path.write_text(f"""
[[models]]
name = "default"
model = "scripted-model"
base_url = "{server.url}"
max_retries = 0

[[agents]]
name = "user"
kind = "user_proxy"
human_input_mode = "NEVER"
code_execution = "none"
model = "default"

[[agents]]
name = "coder"
kind = "assistant"
model = "default"

[[teams]]
name = "pair"
kind = "two_agent"
agents = ["user", "coder"]
max_turns = 3

[session]
dir = "{folder}"
""")
    install_resumer(str(config_path))
    app = cockpit_app(folder_config(make_config, folder))
    async with app.run_test(size=SIZE) as pilot:
        await browser(pilot)
        await pilot.press("r")
        request = await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="a draft of the resumed run",
                                   timeout=60)
        assert not app.cockpit.handle.local and request.request.content == "on the app's config"
        await pilot.press("s")
        await wait_until(pilot, lambda: app.cockpit.state.stopped, what="the stop")


async def test_app_opened_on_a_resumed_run_shows_its_history_first(server, make_config, tmp_path):
    """The app opened on prepare_resume's run (F2's resume, in the app's process): history first."""
    from tuiagents.session.resume import prepare_resume

    path = tmp_path / "real.jsonl"
    await record_run(server, make_config, path, max_turns=2)
    server.load([{"agent": "coder", "reply": "live leg done TERMINATE"}, {"agent": "user", "reply": "go on"}])
    run = prepare_resume(path, config=folder_config(make_config, tmp_path), approve="all")
    app = TuiAgentsApp(run=run, options=UIOptions(bell=False))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.cockpit is not None and app.cockpit.state.stopped, what="the live leg")
        coder = app.cockpit.panes["coder"].transcript.text()
        assert "Plan:" in coder  # only the recorded first leg said this
        assert coder.index("Plan:") < coder.index("live leg done")
        assert app.cockpit.engine_error is None
