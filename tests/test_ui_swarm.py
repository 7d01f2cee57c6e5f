"""Pilot tests of a swarm in the cockpit, against the real engine and the scripted model server:
a handoff waits as a transfer the person approves, redirects (n) or refuses (r); the context the
texts were filled from is on screen; the replay of the log shows the same handoffs and context."""

from __future__ import annotations

from textual.widgets import OptionList
from test_ui_replay import opened, replay_app, shown
from ui_support import SIZE, make_app, screen_text, wait_until, waiting

from tuiagents.engine.decisions import DecidedBy, DecisionKind, RequestKind
from tuiagents.engine.events import DecisionRecorded
from tuiagents.session.export import export_session
from tuiagents.session.reader import read_session
from tuiagents.testing import Reply, Rule
from tuiagents.ui.screens.prompt_screens import PickScreen, TextPromptScreen


def desk(make_config):
    """triage hands off to refunds or sales; the task names the customer from [context]."""
    agents = [{"name": "triage", "kind": "assistant", "handoffs": ["refunds", "sales"],
               "system_message": "You route requests from {customer}."},
              {"name": "refunds", "kind": "assistant"}, {"name": "sales", "kind": "assistant"}]
    return make_config(context={"customer": "Ada", "product": "toaster"}, agents=agents,
                       teams=[{"name": "desk", "kind": "swarm", "agents": ["triage", "refunds", "sales"]}])


def rules() -> list[Rule]:
    return [Rule(agent="triage", contains="refused", reply="I will help myself. TERMINATE"),
            Rule(agent="triage", reply=Reply(content="Sales will help.", tool_calls=[{"name": "transfer_to_sales"}])),
            Rule(agent="refunds", reply="Refund sent for the toaster. TERMINATE")]


def delivered(app, sender=None):
    return [m for m in app.cockpit.run.transcript if sender is None or m.sender == sender]


async def _handoff_waiting(app, pilot):
    await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="triage's draft")
    await pilot.press("a")
    await wait_until(pilot, lambda: waiting(app, RequestKind.HANDOFF), what="the handoff request")
    await wait_until(pilot, lambda: "Redirect" in screen_text(app), what="its buttons, next frame")


async def test_a_person_redirects_a_handoff_in_the_cockpit(server, make_config, tmp_path):
    server.load(rules())
    app = make_app(desk(make_config), "desk", "{customer} wants money back for a {product}", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await _handoff_waiting(app, pilot)
        text = screen_text(app)
        assert "triage ⇢ sales" in text and "Hand to sales" in text and "Refuse" in text
        assert "context  customer=Ada · product=toaster" in text
        assert delivered(app)[0].content == "Ada wants money back for a toaster"
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, PickScreen), what="the redirect picker")
        assert "Hand the conversation to" in screen_text(app)
        options = app.screen.query_one(OptionList)
        assert [options.get_option_at_index(i).id for i in range(options.option_count)] == ["sales", "refunds"]
        options.highlighted = options.get_option_index("refunds")
        await pilot.press("enter")
        await wait_until(pilot, lambda: (w := waiting(app, RequestKind.MESSAGE)) and w.request.agent == "refunds",
                         what="refunds' draft: it holds the conversation now")
        handoff = next(m for m in delivered(app) if m.handoff)
        assert handoff.handoff == "refunds"
        assert app.cockpit.state.holder == "refunds"
        await wait_until(pilot, lambda: "next: refunds (holds the conversation)" in screen_text(app),
                         what="the status bar names the new holder")
        recorded = [e for e in app.cockpit.run.bus.history if isinstance(e, DecisionRecorded)
                    and e.request_kind == RequestKind.HANDOFF]
        assert [(e.decision.kind, e.decision.target, e.decision.by) for e in recorded] == [
            (DecisionKind.CHOOSE_SPEAKER, "refunds", DecidedBy.HUMAN)]
        await wait_until(pilot, lambda: "⇢ hands the conversation to refunds" in screen_text(app),
                         what="the handoff in triage's pane")
        await pilot.press("a")
        await wait_until(pilot, lambda: app.cockpit.state.stopped, what="the end")
        assert server.requests_for("sales") == []
        assert app.cockpit.state.stop_reason == "refunds said TERMINATE"
        await pilot.pause(0.2)
        expected = shown(app.cockpit)

    exported = export_session(read_session(tmp_path / "session.jsonl"), "md")
    assert "triage's handoff: redirected by human (to refunds)" in exported.replace("\\", "")

    replay = replay_app(tmp_path / "session.jsonl")
    async with replay.run_test(size=SIZE) as pilot:
        screen = await opened(pilot)
        await pilot.press("end")
        await wait_until(pilot, lambda: screen.position == len(screen.player.events), what="the end")
        await pilot.pause(0.2)
        assert shown(screen) == expected
        text = screen_text(replay)
        assert "context  customer=Ada · product=toaster" in text


async def test_a_person_refuses_a_handoff_and_the_caller_keeps_the_conversation(server, make_config, tmp_path):
    server.load(rules())
    app = make_app(desk(make_config), "desk", "refund please", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await _handoff_waiting(app, pilot)
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, TextPromptScreen), what="the feedback prompt")
        assert "Refuse triage's handoff" in screen_text(app)
        app.screen.query_one("TextArea").text = "you can do it"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: (w := waiting(app, RequestKind.MESSAGE)) and "myself" in w.request.content,
                         what="triage's next draft")
        refused = next(m for m in delivered(app) if m.tool_results)
        assert refused.handoff is None and "you can do it" in refused.tool_results[0].content
        assert server.requests_for("sales") == []
