"""The cockpit reaches its run only through the run handle: its answers and controls arrive
saying who sent them (this user, from the cockpit), and an answer the run already has is refused
with who gave it. A real app under the pilot, the real engine and the scripted server."""

from __future__ import annotations

import asyncio

from ui_support import SIZE, make_app, pair_config, screen_text, wait_until, waiting

from tuiagents.engine.decisions import Decision, RequestKind, Sender
from tuiagents.engine.events import DecisionRecorded, RunPaused, RunResumed
from tuiagents.engine.handle import PauseRun, StopRun, local_sender
from tuiagents.testing import Rule


async def test_keys_answer_and_steer_through_the_handle_as_this_user(server, make_config, tmp_path):
    server.load([Rule(agent="coder", reply="Hello there."), Rule(agent="user", reply="Thanks.")])
    app = make_app(pair_config(make_config, max_turns=2), "pair", "Say hello", tmp_path)
    me = local_sender("cockpit")
    async with app.run_test(size=SIZE) as pilot:
        request = await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        cockpit = app.cockpit
        # the person opens the reject dialog; meanwhile someone else (another view of the same run)
        # answers: sending the feedback is refused, saying who answered
        await pilot.press("r")
        await wait_until(pilot, lambda: "Reject coder's draft" in screen_text(app), what="the reject dialog")
        other = Sender(user="bob", client="attached")
        assert cockpit.handle.answer(request.request.id, Decision.approve(), other).accepted
        # the dialog says so at once and stays open: what the person goes on typing stays in it
        await wait_until(pilot, lambda: "Answered already: approved, by bob (attached)" in screen_text(app),
                         what="the dialog telling bob answered")
        await pilot.press("t", "o", "o", " ", "l", "o", "n", "g")
        assert "Reject coder's draft" in screen_text(app)
        assert app.screen.query_one("#prompt-text").text == "too long"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: any("Not sent: it was answered already by bob (attached)" in n.message
                                            for n in app._notifications), what="the refusal naming bob")
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("p")
        await wait_until(pilot, lambda: any(isinstance(e, RunResumed) for e in cockpit.run.bus.history),
                         what="resumed")
        history = cockpit.run.bus.history
    recorded = next(e for e in history if isinstance(e, DecisionRecorded) and e.request_id == request.request.id)
    assert recorded.decision.sender == other
    paused = next(e for e in history if isinstance(e, RunPaused))
    resumed = next(e for e in history if isinstance(e, RunResumed))
    assert paused.sender == me and resumed.sender == me


async def test_an_attached_cockpit_shows_its_answer_at_once_and_takes_it_back_when_another_view_won(
        server, make_config, tmp_path):
    """Attached over the run's socket, `a` shows the answer in the key's own frame, with no wait for the
    run. When another view's answer got to the run first, the run's refusal comes back: the cockpit says
    who answered, and shows the request as that answer left it."""
    import tempfile
    from pathlib import Path

    from tuiagents.engine.handle import LocalRunHandle
    from tuiagents.session.run_client import RemoteRunHandle
    from tuiagents.session.run_server import RunServer
    from tuiagents.ui.app import TuiAgentsApp
    from tuiagents.ui.settings import UIOptions

    server.load([Rule(agent="coder", replies=["first draft", "second draft"]), Rule(agent="user", reply="go on")])
    from tuiagents.app.launch import prepare_run

    log = tmp_path / "two-views.jsonl"
    run = prepare_run(pair_config(make_config, max_turns=4), "pair", "Say hello", approve="ask", session_path=log)
    sock_dir = Path(tempfile.mkdtemp(prefix="tb", dir="/tmp"))  # short: a socket path has ~100 bytes
    srv = await RunServer(LocalRunHandle(run), sock_dir / "r.sock").start()
    task = asyncio.ensure_future(run.run())
    handle = await asyncio.to_thread(RemoteRunHandle, srv.path, Sender(user="me", client="attached"))
    bob = Sender(user="bob", client="attached")
    try:
        app = TuiAgentsApp(handle=handle, options=UIOptions(bell=False))
        async with app.run_test(size=SIZE) as pilot:
            first = await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="the first draft")
            rid = first.request.id
            cockpit = app.cockpit
            # bob's answer reaches the run; this view has not heard of it when its own key comes
            assert srv.handle.answer(rid, Decision.reject("not like this"), bob).accepted
            cockpit.action_approve()
            assert not handle.is_open(rid) and handle.answer_of(rid).kind.value == "approve"  # shown at once
            await wait_until(pilot, lambda: any("Not sent: it was answered already by bob (attached)" in n.message
                                                for n in app._notifications), what="the refusal naming bob")
            await wait_until(pilot, lambda: handle.answer_of(rid) is not None
                             and handle.answer_of(rid).kind.value == "reject", what="bob's answer shown")
            second = await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE)
                                      if waiting(app) is not None and waiting(app).request.id != rid else None,
                                      what="the next draft")
            # bob's answer reads as his in this view, not as "you"
            await wait_until(pilot, lambda: "rejected by bob (attached): not like this" in screen_text(app),
                             what="the draft tagged with bob's answer")
            await pilot.press("a")  # an answer nobody crossed is taken as shown
            await wait_until(pilot, lambda: any(isinstance(e, DecisionRecorded) and e.request_id == second.request.id
                                                for e in run.bus.history), what="the second answer at the run")
            await wait_until(pilot, lambda: "approved by you" in screen_text(app), what="this view's own answer")
            assert srv.handle.control(PauseRun(), bob).applied  # bob pauses: the status bar says it was him
            await wait_until(pilot, lambda: "⏸ paused by bob (attached) (before the next turn)" in screen_text(app),
                             what="the pause told as bob's")
            assert srv.handle.control(StopRun(), bob).applied  # bob stops the run from his view
            await wait_until(pilot, lambda: "■ stopped: stopped by bob (attached)" in screen_text(app),
                             what="the stop told as bob's")
            assert run.stopped.reason == "stopped by bob (attached)"  # the log names the stopper
            await pilot.press("t")  # the timeline tells it as bob's too, his words not repeated as "you"
            await wait_until(pilot, lambda: "■ run stopped: stopped by bob (attached)" in screen_text(app),
                             what="the timeline's stop line")
            text = screen_text(app)
            assert "■ stop requested by bob (attached)" in text and "stopped by you" not in text
        recorded = {e.request_id: e.decision for e in run.bus.history if isinstance(e, DecisionRecorded)}
        assert recorded[rid].sender == bob and recorded[rid].kind.value == "reject"
        assert recorded[second.request.id].kind.value == "approve"
        assert sum("Not sent" in n.message for n in app._notifications) == 1
    finally:
        handle.close()
        run.request_stop()
        await asyncio.wait_for(task, 15)
        await srv.close()
        await run.aclose()
        for p in sock_dir.iterdir():
            p.unlink()
        sock_dir.rmdir()
    # read afterwards, a log two people acted in names each of them, as no one of it
    from tuiagents.app.replay import ReplayApp

    replay = ReplayApp(log, options=UIOptions(bell=False), autoplay=False)
    async with replay.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: type(replay.screen).__name__ == "ReplayScreen" and replay.screen.is_mounted,
                         what="the replay")
        await pilot.press("end")
        await wait_until(pilot, lambda: "rejected by bob (attached): not like this" in screen_text(replay),
                         what="bob's answer, named")
        assert f"approved by {handle.sender.words()}" in screen_text(replay) and "by you" not in screen_text(replay)
