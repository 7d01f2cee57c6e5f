"""Pilot tests of the cockpit's controls against the real engine and the scripted model server.

Each test drives the app with keys (or clicks) and checks both the engine (transcript, run state,
the requests the server received) and what the screen shows.
"""

from __future__ import annotations

from textual.widgets import Input, OptionList, RadioButton, TextArea
from ui_support import (
    SIZE,
    group_config,
    make_app,
    pair_config,
    screen_text,
    wait_until,
    waiting,
)

from tuiagents.engine.decisions import DecidedBy, RequestKind
from tuiagents.engine.view import EntryStatus
from tuiagents.testing import Rule
from tuiagents.ui.screens.edit_screen import EditScreen
from tuiagents.ui.screens.inject_screen import InjectScreen
from tuiagents.ui.screens.prompt_screens import PickScreen, TextPromptScreen


def delivered(app, sender=None):
    """Messages the engine delivered (optionally only from `sender`)."""
    return [m for m in app.cockpit.run.transcript if sender is None or m.sender == sender]


async def test_approve_delivers_the_draft(server, make_config, tmp_path):
    server.load([Rule(agent="coder", reply="Hello **there**."), Rule(agent="user", reply="Thanks.")])
    app = make_app(pair_config(make_config), "pair", "Say hello", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        assert "draft · waiting for you" in screen_text(app)
        assert "Waiting for you (1 of 1)" in screen_text(app)
        await pilot.press("a")
        await wait_until(pilot, lambda: delivered(app, "coder"), what="delivery")
        assert delivered(app, "coder")[0].content == "Hello **there**."
        assert not delivered(app, "coder")[0].human_edited
        await wait_until(pilot, lambda: "message of coder: approved (by you)" in app.cockpit.timeline.text(),
                         what="decision in timeline")
        assert "approved by you" in app.cockpit.panes["coder"].transcript.text()


async def test_approve_button_is_clickable(server, make_config, tmp_path):
    server.load([Rule(agent="coder", reply="Clicked."), Rule(agent="user", reply="ok")])
    app = make_app(pair_config(make_config), "pair", "Say hello", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        await wait_until(pilot, lambda: app.screen.query("RequestPanel .btn-approve"), what="approve button")
        await pilot.click("RequestPanel .btn-approve")
        await wait_until(pilot, lambda: delivered(app, "coder"), what="delivery by click")


async def test_approve_for_session_stops_asking_for_that_agent(server, make_config, tmp_path):
    server.load([Rule(agent="coder", replies=["first", "second", "third"]), Rule(agent="user", reply="go on")])
    app = make_app(pair_config(make_config, max_turns=2), "pair", "Count", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        await pilot.press("A")
        # the user's draft still asks; the coder's second draft does not
        await wait_until(pilot, lambda: (w := waiting(app, RequestKind.MESSAGE)) and w.request.agent == "user",
                         what="user's draft")
        await pilot.press("a")
        await wait_until(pilot, lambda: len(delivered(app, "coder")) == 2, what="coder's second message")
        assert [m.content for m in delivered(app, "coder")] == ["first", "second"]
        await wait_until(pilot, lambda: app.cockpit.state.stopped, what="end of run")
        assert "approved for this session by you" in app.cockpit.panes["coder"].transcript.text()
        assert "approved by session rule" in app.cockpit.panes["coder"].transcript.text()


async def test_edit_shows_a_diff_then_delivers_a_human_edited_message(server, make_config, tmp_path):
    server.load([Rule(agent="coder", reply="The answer is 41."), Rule(agent="user", reply="ok")])
    app = make_app(pair_config(make_config), "pair", "Answer", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, EditScreen), what="editor")
        area = app.screen.query_one(TextArea)
        assert area.text == "The answer is 41."
        area.text = ""
        await pilot.press("ctrl+s")
        assert "The edit is empty" in screen_text(app)  # bad input: explained inline
        area.text = "The answer is 42."
        await pilot.press("ctrl+s")
        await pilot.pause()
        shown = screen_text(app)
        assert "-The answer is 41." in shown and "+The answer is 42." in shown  # the diff, before sending
        assert not delivered(app, "coder")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: delivered(app, "coder"), what="edited delivery")
        message = delivered(app, "coder")[0]
        assert message.human_edited and message.content == "The answer is 42."
        assert message.original == "The answer is 41."
        await wait_until(pilot, lambda: "edited by you" in screen_text(app), what="edited mark")


async def test_reject_sends_feedback_and_the_agent_retries(server, make_config, tmp_path):
    server.load([Rule(agent="coder", contains="rejected", reply="Better draft."),
                 Rule(agent="coder", reply="Lazy draft."), Rule(agent="user", reply="ok")])
    app = make_app(pair_config(make_config), "pair", "Write", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        first = waiting(app).request.id
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, TextPromptScreen), what="feedback prompt")
        await pilot.press("ctrl+s")
        assert "Feedback is empty" in screen_text(app)
        app.screen.query_one(TextArea).text = "Please be more specific."
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: (w := waiting(app, RequestKind.MESSAGE)) and w.request.id != first,
                         what="second draft")
        retry = server.requests_for("coder")[-1].body["messages"]
        assert "Please be more specific." in retry[-1]["content"]
        assert waiting(app).request.content == "Better draft."
        assert "rejected by you: Please be more specific." in app.cockpit.panes["coder"].transcript.text()
        await pilot.press("a")
        await wait_until(pilot, lambda: delivered(app, "coder"), what="delivery")
        assert delivered(app, "coder")[0].content == "Better draft."


async def _inject(pilot, app, text, target, now=False):
    await pilot.press("i")
    await wait_until(pilot, lambda: isinstance(app.screen, InjectScreen), what="inject dialog")
    app.screen.query_one(TextArea).text = text
    app.screen.query_one("#inject-target", Input).value = target
    if now:
        app.screen.query_one("#inject-now", RadioButton).value = True
    await pilot.press("ctrl+s")
    await pilot.pause()


async def test_inject_queued_for_the_next_turn(server, make_config, tmp_path):
    server.load([Rule(agent="coder", reply="Draft one."), Rule(agent="user", reply="User reply.")])
    app = make_app(pair_config(make_config), "pair", "Task", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        await _inject(pilot, app, "Remember the deadline.", "nobody")
        assert "No agent named 'nobody'" in screen_text(app)  # unknown agent: explained inline
        app.screen.query_one("#inject-target", Input).value = "user"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not isinstance(app.screen, InjectScreen), what="dialog closed")
        pane = app.cockpit.panes["user"].transcript
        await wait_until(pilot, lambda: app.cockpit.state.queued, what="the engine's MessageQueued")
        (queued_id,) = app.cockpit.state.queued
        assert app.cockpit.state.entries[queued_id].status == EntryStatus.QUEUED
        assert "queued for the next turn" in pane.text()
        assert not [m for m in delivered(app) if m.sender == "human"]
        await pilot.press("a")  # approve the coder's draft; the queued message goes before the next turn
        await wait_until(pilot, lambda: [m for m in delivered(app) if m.sender == "human"], what="injected delivery")
        human = [m for m in delivered(app) if m.sender == "human"][0]
        assert human.content == "Remember the deadline." and human.recipient == "user" and human.origin == "human"
        assert human.id == queued_id  # the queued entry and the delivered message are one, by id
        await wait_until(pilot, lambda: app.cockpit.state.entries[queued_id].status == EntryStatus.DELIVERED,
                         what="the queued entry delivered")
        assert "delivered" in pane.text()
        await wait_until(pilot, lambda: server.requests_for("user"), what="user's request")
        assert any("Remember the deadline." in str(m.get("content")) for m in server.requests_for("user")[0].body["messages"])


async def test_inject_now_makes_the_drafting_agent_rewrite(server, make_config, tmp_path):
    server.load([Rule(agent="coder", contains="Use metric", reply="Rewritten in metric."),
                 Rule(agent="coder", reply="Draft in imperial."), Rule(agent="user", reply="ok")])
    app = make_app(pair_config(make_config), "pair", "Convert", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        await _inject(pilot, app, "Use metric units.", "coder", now=True)
        await wait_until(pilot, lambda: (w := waiting(app, RequestKind.MESSAGE)) and w.request.content ==
                         "Rewritten in metric.", what="rewritten draft")
        human = [m for m in delivered(app) if m.sender == "human"]
        assert human and human[0].content == "Use metric units." and human[0].recipient == "coder"
        assert "Use metric units." in app.cockpit.panes["coder"].transcript.text()


async def test_next_speaker_overrides_round_robin(server, make_config, tmp_path):
    server.load([Rule(agent="alice", reply="A."), Rule(agent="bob", reply="B."), Rule(agent="carol", reply="C.")])
    app = make_app(group_config(make_config, ["alice", "bob", "carol"]), "group", "Talk", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: (w := waiting(app, RequestKind.MESSAGE)) and w.request.agent == "bob",
                         what="bob's draft (round robin after alice's task)")
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, PickScreen), what="speaker picker")
        options = app.screen.query_one(OptionList)
        options.highlighted = options.get_option_index("alice")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.cockpit.state.controls.forced_next == "alice", what="NextSpeakerForced")
        await wait_until(pilot, lambda: "next: alice" in screen_text(app), what="status shows the pick")
        assert app.cockpit.run.forced_next == ("alice", "picked by you")
        await pilot.press("a")
        await wait_until(pilot, lambda: (w := waiting(app, RequestKind.MESSAGE)) and w.request.agent == "alice",
                         what="alice speaks next instead of carol")


async def test_manual_speaker_request(server, make_config, tmp_path):
    server.load([Rule(agent="alice", reply="A."), Rule(agent="bob", reply="B.")])
    app = make_app(group_config(make_config, ["alice", "bob"], selection="manual"), "group", "Talk", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.SPEAKER), what="speaker request")
        await wait_until(pilot, lambda: "Choose speaker" in screen_text(app), what="its button, next frame")
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, PickScreen), what="candidates")
        options = app.screen.query_one(OptionList)
        options.highlighted = options.get_option_index("bob")
        await pilot.press("enter")
        await wait_until(pilot, lambda: (w := waiting(app, RequestKind.MESSAGE)) and w.request.agent == "bob",
                         what="bob's draft")


async def test_pause_holds_the_next_turn_and_resume_goes_on(server, make_config, tmp_path):
    server.load([Rule(agent="coder", reply="One."), Rule(agent="user", reply="Two.")])
    app = make_app(pair_config(make_config), "pair", "Task", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        await pilot.press("p")
        assert app.cockpit.run.paused
        await wait_until(pilot, lambda: app.cockpit.state.paused, what="the engine's RunPaused")
        assert app.cockpit.state.controls.paused_by == DecidedBy.HUMAN
        await wait_until(pilot, lambda: "paused" in screen_text(app), what="paused in status bar")
        await pilot.press("a")
        await wait_until(pilot, lambda: delivered(app, "coder"), what="delivery")
        await pilot.pause(0.3)
        assert not server.requests_for("user")  # held before the next turn
        assert waiting(app) is None
        await pilot.press("p")
        assert not app.cockpit.run.paused
        await wait_until(pilot, lambda: not app.cockpit.state.paused, what="the engine's RunResumed")
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="user's draft after resume")
        assert waiting(app).request.agent == "user"


async def test_stop_shows_the_reason_in_the_status_bar(server, make_config, tmp_path):
    server.load([Rule(agent="coder", reply="One.")])
    app = make_app(pair_config(make_config), "pair", "Task", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        await pilot.press("s")
        await wait_until(pilot, lambda: app.cockpit.state.stopped, what="stop")
        # the log names who stopped it; this view, the stopper's, says "you"
        assert app.cockpit.run.stopped.reason == f"stopped by {app.cockpit.sender.words()}"
        assert app.cockpit.state.controls.stop_requested.by == DecidedBy.HUMAN
        assert "■ stopped: stopped by you" in screen_text(app)
        assert not delivered(app, "coder")


async def test_ctrl_c_twice_stops_and_quits(server, make_config, tmp_path):
    server.load([Rule(agent="coder", reply="One.")])
    app = make_app(pair_config(make_config), "pair", "Task", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.is_running and not app.cockpit.state.stopped
        await pilot.press("ctrl+c")
        await wait_until(pilot, lambda: not app.is_running, what="exit")
    assert app.cockpit.run.stopped is not None
    assert app.cockpit.run.stopped.reason == "interrupted with Ctrl+C"


async def test_q_does_not_drop_a_running_run(server, make_config, tmp_path):
    server.load([Rule(agent="coder", reply="One.")])
    app = make_app(pair_config(make_config), "pair", "Task", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        await pilot.press("q")
        await pilot.pause()
        assert app.is_running
        await pilot.press("s")
        await wait_until(pilot, lambda: app.cockpit.state.stopped, what="stop")
        await pilot.press("q")
        await wait_until(pilot, lambda: not app.is_running, what="exit")
    assert app.return_code == 0


async def test_edit_in_external_editor(server, make_config, tmp_path, monkeypatch):
    import contextlib

    editor = tmp_path / "fake-editor.sh"
    editor.write_text('#!/bin/sh\nprintf "Edited outside.\\n" > "$1"\n')
    editor.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(editor))
    monkeypatch.delenv("VISUAL", raising=False)
    server.load([Rule(agent="coder", reply="Inside."), Rule(agent="user", reply="ok")])
    app = make_app(pair_config(make_config), "pair", "Answer", tmp_path)
    monkeypatch.setattr(app, "suspend", contextlib.nullcontext)  # the headless driver cannot suspend
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, EditScreen), what="editor")
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: app.screen.query_one(TextArea).text == "Edited outside.\n", what="file read back")
        await pilot.press("ctrl+s", "ctrl+s")
        await wait_until(pilot, lambda: delivered(app, "coder"), what="delivery")
        assert delivered(app, "coder")[0].content == "Edited outside.\n" and delivered(app, "coder")[0].human_edited


async def test_after_terminate_the_button_says_it_ends_the_run(server, make_config, tmp_path):
    # the setup's pair team: a user who is always asked, and an assistant
    server.load([Rule(agent="assistant", reply="5050. TERMINATE")])
    config = make_config(agents=[{"name": "user", "kind": "user_proxy", "human_input_mode": "ALWAYS"},
                                 {"name": "assistant", "kind": "assistant", "model": "default"}],
                         teams=[{"name": "pair", "kind": "two_agent", "agents": ["user", "assistant"]}])
    app = make_app(config, "pair", "Sum 1..100", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="assistant's draft")
        await pilot.press("a")
        ask = await wait_until(pilot, lambda: waiting(app, RequestKind.HUMAN_INPUT), what="the user's turn")
        assert "approve to end the run" in ask.request.prompt
        text = screen_text(app)
        assert "End the run [a]" in text and "Let it answer" not in text
        await pilot.press("a")
        await wait_until(pilot, lambda: app.cockpit.state.stop_reason, what="the run ended")
        assert "TERMINATE" in app.cockpit.state.stop_reason


async def test_timeline_shows_code_after_its_approval_and_a_block_that_never_started_as_not_run(
        server, make_config, tmp_path):
    from tuiagents.execution.docker_client import connect_docker

    try:
        connect_docker().close()
    except Exception as exc:  # noqa: BLE001
        import pytest

        pytest.skip(f"no Docker daemon: {exc}")
    server.load([Rule(agent="coder", reply="```python\nprint(1)\n```"), Rule(agent="user", reply="ok")])
    config = pair_config(make_config, code="docker", max_turns=2)
    # The image is here (the check before the block passes), but the daemon refuses more CPUs than it
    # has: the container never starts. (A missing image is now caught before the code is offered.)
    config.docker.image = "tuiagents-sandbox:latest"
    config.docker.cpus = 64
    app = make_app(config, "pair", "Print 1", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        await pilot.press("a")
        await wait_until(pilot, lambda: waiting(app, RequestKind.CODE), what="the code request")
        await pilot.press("y")
        await wait_until(pilot, lambda: "not run" in app.cockpit.timeline.text(), what="the block's outcome")
        timeline = app.cockpit.timeline.text()
        assert "exit code -1" not in timeline and "finished" not in timeline.split("code of coder")[-1]
        approval = timeline.index("code of coder: approved")
        block = timeline.index("print(1)", timeline.index("code of coder"))
        assert approval < block, timeline  # the outcome never reads before its approval
        assert "✗ not run:" in timeline
