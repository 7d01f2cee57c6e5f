"""The cockpit reaches its run only through the run handle: its answers and controls arrive
saying who sent them (this user, from the cockpit), and an answer the run already has is refused
with who gave it. A real app under the pilot, the real engine and the scripted server."""

from __future__ import annotations

from ui_support import SIZE, make_app, pair_config, screen_text, wait_until, waiting

from tuiagents.engine.decisions import Decision, RequestKind, Sender
from tuiagents.engine.events import DecisionRecorded, RunPaused, RunResumed
from tuiagents.engine.handle import local_sender
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
        await pilot.press("t", "o", "o", " ", "l", "o", "n", "g", "ctrl+s")
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
