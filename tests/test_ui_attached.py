"""The cockpit on a run in its own process (`attach_app`), with no second code path: it shows what
happened so far, answers with a key, sees the run go on; leaving never stops the run, `s` does;
pause goes through the same handle. Real detached process, real socket, Textual pilot."""

from __future__ import annotations

import asyncio
import shutil
import time

import pytest
from run_process_support import short_runtime_dir, stop_all, write_config

from tuiagents.config import load_config
from tuiagents.testing import Rule, Script, ScriptedServer

SIZE = (160, 48)


@pytest.fixture
def detached(tmp_path, monkeypatch):
    """`start(script) -> record`: a detached run of the pair team on `script`."""
    runtime = short_runtime_dir()
    monkeypatch.setenv("TUIAGENTS_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("TUIAGENTS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TUIAGENTS_CONFIG_DIR", str(tmp_path / "cfg"))
    servers = []

    def start(script: Script):
        from tuiagents.app.run_process import start_detached

        server = ScriptedServer(script).start()
        servers.append(server)
        path = write_config(tmp_path, server.url)
        return start_detached(load_config(path), config_path=str(path), team=None, task="say hi")

    yield start
    stop_all(runtime)
    for server in servers:
        server.stop()
    shutil.rmtree(runtime, ignore_errors=True)


async def until(pilot, check, what: str, timeout: float = 30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"{what} did not happen")


def pending_content(app) -> str | None:
    current = app.cockpit.current_request() if app.cockpit is not None else None
    return current.request.content if current is not None else None


#: how each place says a request waits for you: the status bar's count, a pane's header, the draft
WAITING_WORDS = {"count": "⏳ 1 waiting for you", "header": "◉ waiting for you", "draft": "draft · waiting for you"}


def waiting_shown(app) -> set[str]:
    """The places on screen that say a request waits for you (any "waiting for you" counts)."""
    from ui_support import screen_text

    shown = screen_text(app)
    places = {place for place, words in WAITING_WORDS.items() if words in shown}
    return places | ({"elsewhere"} if "waiting for you" in shown and not places else set())


def alive(pid: int) -> bool:
    from tuiagents.session.live_runs import pid_alive

    return pid_alive(pid)


async def test_an_attached_cockpit_approves_and_leaving_keeps_the_run(detached):
    from tuiagents.app.attach import attach_app
    from tuiagents.session.live_runs import survey

    rec = detached(Script(rules=[Rule(agent="assistant", replies=["first draft", "second draft", "third"])]))
    app = attach_app(rec.run_id)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: pending_content(app) == "first draft", "the first draft")
        assert app.cockpit.run is None and not app.cockpit.handle.local
        assert app.cockpit.state.team_kind == "two_agent" and set(app.cockpit.panes) == {"user", "assistant"}
        await pilot.press("a")
        await until(pilot, lambda: pending_content(app) == "second draft", "the second draft after approve")
        await pilot.press("p")  # pause goes through the same handle, announced by the run
        await until(pilot, lambda: app.cockpit.state.paused, "the pause, from the run's event")
        await pilot.press("p")
        await until(pilot, lambda: not app.cockpit.state.paused, "the resume")
        await pilot.press("q")  # leaving an attached cockpit leaves the run going
        await until(pilot, lambda: not app.is_running, "the app to quit")
    app.remote_handle.close()
    assert alive(rec.pid)
    [run] = await asyncio.to_thread(survey)
    assert run.record.run_id == rec.run_id and run.state == "waiting" and run.waiting == ["assistant"]

    again = attach_app(rec.run_id[:5])
    async with again.run_test(size=SIZE) as pilot:
        # everything so far, from the run: the approved first draft, and the open second one
        await until(pilot, lambda: pending_content(again) == "second draft", "the open draft on attach")
        shown = again.cockpit.panes["assistant"].transcript
        assert shown is not None
        await pilot.press("s")
        await until(pilot, lambda: again.cockpit.state.stopped, "the stop")
    again.remote_handle.close()
    end = time.monotonic() + 30
    while alive(rec.pid) and time.monotonic() < end:
        await asyncio.sleep(0.1)
    assert not alive(rec.pid)
    assert again.remote_handle.stopped is not None
    assert f"stopped by {again.remote_handle.sender.words()}" in again.remote_handle.stopped.reason


async def test_a_run_started_in_the_app_lives_in_its_own_process_and_d_detaches_it(tmp_path, detached):
    from tuiagents.app.tui import build_app
    from tuiagents.session.live_runs import survey

    detached  # the fixture's runtime and data dirs
    with ScriptedServer(Script(rules=[Rule(agent="assistant", replies=["first draft", "second draft"])])) as server:
        path = write_config(tmp_path, server.url)
        app = build_app(load_config(path), str(path), "pair", "say hi", own_process=True)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: pending_content(app) == "first draft", "the first draft", timeout=60)
            handle = app.cockpit.handle
            assert app.cockpit.run is None and not handle.local and app.started_here
            assert app.cockpit.sender.client == "cockpit"
            await pilot.press("q")  # a run started here is not dropped by accident
            await pilot.pause(0.3)
            assert app.is_running and "d to leave it going" in " ".join(str(n.message) for n in app._notifications)
            await pilot.press("d")
            await until(pilot, lambda: not app.is_running, "the app to quit on d")
        assert app.exit_note and f"tuiagents attach {handle.run_id}" in app.exit_note
        handle.close()
        [run] = await asyncio.to_thread(survey)
        assert run.record.run_id == handle.run_id and run.state == "waiting"
        from tuiagents.engine.handle import StopRun
        from tuiagents.session.run_client import RemoteRunHandle

        other = await asyncio.to_thread(RemoteRunHandle, run.record.socket)
        assert (await asyncio.to_thread(other.control, StopRun(reason="done here"))).applied
        other.close()


async def test_an_attached_cockpit_shows_a_killed_run_as_ended_with_the_reason(detached):
    import os
    import signal

    from tuiagents.app.attach import attach_app

    rec = detached(Script(rules=[Rule(agent="assistant", replies=["first draft", "second draft"])]))
    app = attach_app(rec.run_id)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: pending_content(app) == "first draft", "the first draft")
        os.kill(rec.pid, signal.SIGKILL)
        await until(pilot, lambda: app.cockpit.state.stopped, "the cockpit to show the run ended")
        assert pending_content(app) is None  # nothing waits in a run that is gone
        reason = app.remote_handle.stopped.reason
        assert "ended without stopping the run" in reason and f"tuiagents resume {rec.run_id}" in reason
        await pilot.press("a")  # a key on a gone run does nothing harmful
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running, "the app to quit")


async def test_an_attached_cockpit_answers_keys_while_its_run_is_frozen(detached):
    """The run's process frozen (SIGSTOP: a stuck loop, a suspended machine): an answer and a pause
    from the attached view show at once and the view goes on taking keys; once the run thaws, it
    takes both, as sent."""
    import os
    import signal

    from tuiagents.app.attach import attach_app
    from tuiagents.engine.events import DecisionRecorded, RunPaused

    rec = detached(Script(rules=[Rule(agent="assistant", replies=["first draft", "second draft"])]))
    app = attach_app(rec.run_id)
    async with app.run_test(size=SIZE) as pilot:
        first = None
        await until(pilot, lambda: pending_content(app) == "first draft", "the first draft")
        first = app.cockpit.current_request().request.id
        os.kill(rec.pid, signal.SIGSTOP)
        try:
            await until(pilot, lambda: waiting_shown(app) == set(WAITING_WORDS), "the draft waiting, everywhere",
                        timeout=5)
            await pilot.press("a")
            assert not app.cockpit.handle.is_open(first) and pending_content(app) is None  # shown at once
            # and everywhere else the request was shown as waiting: the pane, its header, the count
            await until(pilot, lambda: not waiting_shown(app), "the answer in the panes and the status bar",
                        timeout=5)
            assert "approved by you" in app.cockpit.panes["assistant"].transcript.text()
            await pilot.press("p")
            await pilot.press("f1")  # the view still takes keys (a blocking call would hold them 15 s)
            await until(pilot, lambda: type(app.screen).__name__ == "HelpScreen", "the keys help", timeout=5)
            await pilot.press("escape")
        finally:
            os.kill(rec.pid, signal.SIGCONT)
        events = lambda: app.cockpit.handle.events_since(-1)  # noqa: E731
        await until(pilot, lambda: any(isinstance(e, RunPaused) for e in events()), "the pause, once thawed")
        assert any(isinstance(e, DecisionRecorded) and e.request_id == first and e.decision.kind.value == "approve"
                   for e in events())
        assert not any("Not " in str(n.message) for n in app._notifications)
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running, "the app to quit")


async def test_an_answer_the_frozen_run_refuses_later_puts_the_waiting_back_everywhere(detached):
    """An answer the run refuses once it thaws (it does not fit the request) was shown as given,
    in the request box, the pane and the status bar alike; refused, the request waits there again."""
    import os
    import signal

    from tuiagents.app.attach import attach_app
    from tuiagents.engine.decisions import Decision

    rec = detached(Script(rules=[Rule(agent="assistant", replies=["first draft", "second draft"])]))
    app = attach_app(rec.run_id)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: pending_content(app) == "first draft", "the first draft")
        everywhere = set(WAITING_WORDS)
        await until(pilot, lambda: waiting_shown(app) == everywhere, "the draft, its pane and the count as waiting")
        cockpit = app.cockpit
        current = cockpit.current_request()
        os.kill(rec.pid, signal.SIGSTOP)
        try:
            # skip does not answer a draft: the run refuses it, but only once it reads it
            assert cockpit._answer(current, Decision.skip())
            await until(pilot, lambda: not waiting_shown(app), "the answer shown as given", timeout=5)
        finally:
            os.kill(rec.pid, signal.SIGCONT)
        await until(pilot, lambda: any("Not sent" in str(n.message) for n in app._notifications), "the refusal")
        await until(pilot, lambda: waiting_shown(app) == everywhere, "the request waiting again everywhere",
                    timeout=10)
        assert pending_content(app) == "first draft"
        await pilot.press("a")  # and it still takes an answer that fits
        await until(pilot, lambda: pending_content(app) == "second draft", "the second draft")
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running, "the app to quit")


async def test_stop_in_an_attached_sequence_asks_this_stage_or_everything(tmp_path, monkeypatch):
    """A sequence run in its own process (as every run the app starts now is): `s` during a stage
    asks first, and "this stage only" ends the stage while the run goes on to the next one."""
    from tuiagents.app.attach import attach_app
    from tuiagents.app.run_process import start_detached
    from tuiagents.ui.screens.prompt_screens import PickScreen

    runtime = short_runtime_dir()
    monkeypatch.setenv("TUIAGENTS_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("TUIAGENTS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TUIAGENTS_CONFIG_DIR", str(tmp_path / "cfg"))
    server = ScriptedServer(Script(rules=[Rule(agent="assistant", reply="a draft")])).start()
    try:
        path = write_config(tmp_path, server.url)
        path.write_text(path.read_text() + '\n[[teams]]\nname = "seq"\nkind = "sequence"\nstages = [\n'
                        '  { team = "pair", task = "part one" },\n  { team = "pair", task = "part two" },\n]\n')
        rec = start_detached(load_config(path), config_path=str(path), team="seq", task="")
        app = attach_app(rec.run_id)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: pending_content(app) == "a draft", "the first stage's draft")
            await pilot.press("s")
            await until(pilot, lambda: isinstance(app.screen, PickScreen), "the stop question")
            await pilot.press("enter")  # this stage only (the first choice)
            await until(pilot, lambda: any(c.id == "root/stage2" for c in app.cockpit.state.chats.values()),
                        "the second stage")
            assert not app.cockpit.state.stopped
            assert app.cockpit.state.chats["root/stage1"].ended.kind.value == "chat_stopped"
            await pilot.press("s")
            await until(pilot, lambda: isinstance(app.screen, PickScreen), "the stop question again")
            await pilot.press("down", "enter")  # everything
            await until(pilot, lambda: app.cockpit.state.stopped, "the run stopped")
    finally:
        stop_all(runtime)
        server.stop()
        shutil.rmtree(runtime, ignore_errors=True)
