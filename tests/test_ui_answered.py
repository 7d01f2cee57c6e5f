"""Pilot tests at 80×24: once a request is answered (or can no longer be), the panes stop saying
"waiting for you" and show what was decided: after a tool call, a human reply, a stop, a resume.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import TextArea
from ui_support import make_app, pair_config, screen_text, wait_until, waiting

from tuiagents.engine.decisions import DecisionRequest, RequestKind
from tuiagents.engine.events import (
    DecisionRequested, ExecutionFinished, ExecutionStarted, MessageDelivered, MessageDrafted, RunStarted, TurnStarted,
)
from tuiagents.engine.messages import Message
from tuiagents.testing import Rule
from tuiagents.testing.script import Reply
from tuiagents.ui.app import TuiAgentsApp
from tuiagents.ui.screens.prompt_screens import TextPromptScreen
from tuiagents.ui.settings import UIOptions

SMALL = (80, 24)


def panes_text(app: Any) -> str:
    """Every agent pane's transcript, as text."""
    return "\n".join(p.transcript.text() for p in app.cockpit.panes.values())


def tool_config(make_config: Any) -> Any:
    agents = [{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER", "model": "default"},
              {"name": "coder", "kind": "assistant", "model": "default", "tools": ["ui_support:add"]}]
    return make_config(agents=agents, teams=[{"name": "pair", "kind": "two_agent", "agents": ["user", "coder"],
                                              "max_turns": 2}])


async def test_a_run_tool_call_is_no_longer_waiting_in_the_pane(server, make_config, tmp_path):
    server.load([Rule(agent="coder", turn=0, reply=Reply.tool("add", {"a": 2, "b": 3})),
                 Rule(agent="coder", reply="Sum is 5."), Rule(agent="user", reply="ok")])
    app = make_app(tool_config(make_config), "pair", "Add", tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        await pilot.press("a")
        await wait_until(pilot, lambda: waiting(app, RequestKind.TOOL_CALL), what="tool request")
        await pilot.pause()
        assert "waiting for you: coder wants to call add" in panes_text(app)
        await pilot.press("a")
        await wait_until(pilot, lambda: "↳ add: 5" in app.cockpit.timeline.text(), what="tool result")
        await pilot.pause()
        shown = panes_text(app)
        assert "waiting for you: coder wants to call add" not in shown
        assert "coder wants to call add" in shown and "approved (by you)" in shown


async def test_a_human_reply_is_no_longer_waiting_in_the_pane(server, make_config, tmp_path):
    server.load([Rule(agent="user", reply="ok")])
    app = make_app(pair_config(make_config, coder_mode="ALWAYS", max_turns=2), "pair", "Ask me", tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.HUMAN_INPUT), what="human input request")
        await pilot.pause()
        assert "waiting for you" in app.cockpit.panes["coder"].transcript.text()
        await pilot.press("w")
        await wait_until(pilot, lambda: isinstance(app.screen, TextPromptScreen), what="reply prompt")
        app.screen.query_one(TextArea).text = "I answer myself."
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not waiting(app, RequestKind.HUMAN_INPUT) and app.cockpit.state.decisions,
                         what="the reply recorded")
        await pilot.pause()
        shown = app.cockpit.panes["coder"].transcript.text()
        assert "waiting for you" not in shown
        assert "replied (by you)" in shown


async def test_under_stopped_nothing_is_waiting_in_the_panes(server, make_config, tmp_path):
    """A stop answers the human-input request; a message draft waiting when the run stops is
    shown as not delivered."""
    server.load([Rule(agent="user", reply="ok")])
    app = make_app(pair_config(make_config, coder_mode="ALWAYS"), "pair", "Ask me", tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.HUMAN_INPUT), what="human input request")
        await pilot.press("s")
        await wait_until(pilot, lambda: app.cockpit.state.stopped, what="the stop")
        await pilot.pause()
        assert "waiting for you" not in panes_text(app)
        assert "waiting for you" not in screen_text(app)


async def test_a_draft_waiting_when_the_run_stops_says_not_delivered(server, make_config, tmp_path):
    server.load([Rule(agent="coder", reply="One.")])
    app = make_app(pair_config(make_config), "pair", "Task", tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        await pilot.pause()
        assert "draft · waiting for you" in panes_text(app)
        await pilot.press("s")
        await wait_until(pilot, lambda: app.cockpit.state.stopped, what="the stop")
        await pilot.pause()
        shown = panes_text(app)
        assert "waiting for you" not in shown
        assert "not delivered" in shown


async def test_after_resume_the_requests_of_the_crashed_run_are_not_waiting(server, make_config, tmp_path):
    """The log ends while a tool call and a draft waited (a crash): the resumed cockpit shows
    them as never answered, and only what the engine asks again as waiting."""
    from tuiagents.engine.messages import ToolCall
    from tuiagents.session.log import SessionHeader, SessionWriter
    from tuiagents.session.resume import prepare_resume

    server.load([Rule(agent="coder", reply="Again."), Rule(agent="user", reply="ok")])
    config = pair_config(make_config)
    tool = DecisionRequest(id="r1", kind=RequestKind.TOOL_CALL, agent="user", prompt="Run add for coder?",
                           tool_calls=[ToolCall(id="c1", name="add", arguments="{}")])
    draft = DecisionRequest(id="r2", kind=RequestKind.MESSAGE, agent="coder", prompt="Deliver coder's message?",
                            content="Old draft.")
    events = [
        RunStarted(run_id="crash2", team="pair", team_kind="two_agent", task="Ask", agents=[]),
        MessageDelivered(message=Message(sender="user", content="Ask", origin="human")),
        TurnStarted(agent="user", round=1),
        DecisionRequested(request=tool),
        TurnStarted(agent="coder", round=1),
        MessageDrafted(agent="coder", content="Old draft."),
        DecisionRequested(request=draft),
    ]
    for n, ev in enumerate(events, 1):
        ev.seq = n
    path = tmp_path / "crashed.jsonl"
    with SessionWriter(path, SessionHeader.from_run(events[0], config)) as w:
        w.write_many(events)

    run = prepare_resume(path, config=config, approve="ask")
    app = TuiAgentsApp(run=run, options=UIOptions(bell=False), config=config)
    async with app.run_test(size=SMALL) as pilot:
        await wait_until(pilot, lambda: "Old draft." in panes_text(app), what="the history")
        await pilot.pause()
        shown = panes_text(app)
        assert "waiting for you: Run add for coder?" not in shown
        assert "not answered" in shown
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="the draft asked again")
        await pilot.pause()
        coder = app.cockpit.panes["coder"].transcript.text()
        assert coder.count("waiting for you") == 1  # the new draft's, not the old one's
        await pilot.press("s")
        await wait_until(pilot, lambda: app.cockpit.state.stopped, what="the stop")


async def test_a_cancelled_block_header_says_cancelled():
    from ui_support import T0, code_request, conversation, fixed_clock

    from tuiagents.engine.decisions import Decision
    from tuiagents.engine.events import DecisionRecorded

    events = conversation(["user", "coder"], kind="two_agent") + code_request("coder", "user", "import time")
    events += [DecisionRecorded(request_id="rq-code", request_kind=RequestKind.CODE, agent="coder",
                                decision=Decision.approve(), ts=T0 + 66),
               ExecutionStarted(exec_id="x1", agent="user", language="python", code="import time",
                                executor="docker", source_agent="coder", block_index=0, ts=T0 + 66),
               ExecutionFinished(exec_id="x1", agent="user", exit_code=137, duration=1.5, cancelled=True,
                                 ts=T0 + 68)]
    app = TuiAgentsApp(events=events, options=UIOptions(bell=False), clock=fixed_clock())
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        shown = app.cockpit.panes["user"].transcript.text()
        assert "python cancelled" in shown and "python finished" not in shown
