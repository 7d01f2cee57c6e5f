"""The answer to a request shows at once: the request box changes to its answered state in the
frame after the key (same size, buttons disabled), and the engine's work follows.

Timings are in `bench/bench_keys_tmux.py`; these tests assert the states.
"""

from __future__ import annotations

import asyncio

from textual.app import App, ComposeResult
from textual.widgets import Button
from ui_support import SIZE, make_app, pair_config, screen_text, wait_until, waiting

from tuiagents.engine.decisions import Decision, DecisionRequest, RequestKind
from tuiagents.engine.events import DecisionRequested
from tuiagents.testing import Fault, Rule
from tuiagents.ui.widgets.request_panel import RequestPanel


class PanelApp(App[None]):
    """Only the request panel, so its states can be driven one by one."""

    def __init__(self) -> None:
        super().__init__()
        #: the answers a run's handle would know, by request id
        self.answers: dict[str, Decision] = {}

    def compose(self) -> ComposeResult:
        yield RequestPanel(lambda _id: "a", self.answers.get, id="request-panel")


def _request(agent: str, rid: str) -> DecisionRequested:
    request = DecisionRequest(id=rid, kind=RequestKind.MESSAGE, agent=agent, prompt=f"Deliver {agent}'s message?",
                              content="Hello.")
    return DecisionRequested(request=request)


def _title(panel: RequestPanel) -> str:
    return str(panel.query_one("#request-title").render())


async def test_answered_box_keeps_its_place_says_what_was_decided_then_hides():
    app = PanelApp()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(RequestPanel)
        first = _request("coder", "r1")
        panel.show([first], first, "monokai")
        await pilot.pause()
        height = panel.outer_size.height
        assert "Waiting for you (1 of 1)" in _title(panel)
        app.answers["r1"] = Decision.reject("too long")
        panel.show([], None, "monokai")
        await pilot.pause()
        assert panel.has_class("-shown") and panel.answered
        assert "Rejected, feedback sent: message from coder" in _title(panel)
        assert panel.outer_size.height == height  # no re-layout of the screen behind it
        panel._release()  # what the hold timer does
        await pilot.pause()
        assert not panel.has_class("-shown") and not panel.answered


async def test_a_new_request_replaces_the_answered_box_with_live_buttons():
    app = PanelApp()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(RequestPanel)
        first, second = _request("coder", "r1"), _request("critic", "r2")
        panel.show([first], first, "monokai")
        await pilot.pause()
        app.answers["r1"] = Decision.approve()
        panel.show([], None, "monokai")
        await pilot.pause()
        assert panel.answered
        panel.show([second], second, "monokai")
        await pilot.pause()
        assert not panel.answered and panel.has_class("-shown")
        assert "Waiting for you (1 of 1)" in _title(panel) and "from critic" in _title(panel)
        assert panel.query(Button)
        panel._release()  # a stale hold timer does not hide the new request
        assert panel.has_class("-shown")


async def test_a_request_the_engine_never_resolved_is_not_shown_as_answered():
    app = PanelApp()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(RequestPanel)
        first = _request("coder", "r1")
        panel.show([first], first, "monokai")
        await pilot.pause()
        panel.show([], None, "monokai")  # e.g. dropped from the queue without an answer
        await pilot.pause()
        assert not panel.has_class("-shown") and not panel.answered
        await asyncio.sleep(0)


async def test_approve_key_shows_the_approved_box_while_the_engine_delivers(server, make_config, tmp_path):
    # the user's reply comes slowly, so the run is still going on while the box says what was decided
    server.load([Rule(agent="coder", reply="Hello there."),
                 Rule(agent="user", reply="Thanks.", fault=Fault(kind="slow", delay=3.0))])
    app = make_app(pair_config(make_config, max_turns=2), "pair", "Say hello", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        await pilot.press("a")
        panel = app.cockpit.query_one(RequestPanel)
        await wait_until(pilot, lambda: "✓ Approved: message from coder" in screen_text(app), what="approved box")
        assert panel.has_class("-shown") and panel.answered
        await pilot.click("RequestPanel .btn-approve")  # the answered box's buttons answer nothing now
        await pilot.pause()
        assert panel.answered and not app.cockpit.pending()
        await wait_until(pilot, lambda: [m for m in app.cockpit.run.transcript if m.sender == "coder"],
                         what="delivery")


async def test_once_the_run_has_stopped_the_answered_box_goes_at_once():
    app = PanelApp()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(RequestPanel)
        first = _request("coder", "r1")
        panel.show([first], first, "monokai")
        await pilot.pause()
        app.answers["r1"] = Decision.approve()
        panel.show([], None, "monokai")
        assert panel.answered
        panel.show([], None, "monokai", hold=False)  # the run stopped: nothing goes on
        await pilot.pause()
        assert not panel.has_class("-shown") and not panel.answered


async def test_the_engines_next_events_are_shown_after_the_frame_with_the_answer(server, make_config, tmp_path):
    # The engine resumes in the key's own loop turn; what it emits then waits for the answer's frame.
    server.load([Rule(agent="coder", reply="Hello there."), Rule(agent="user", reply="Thanks.")])
    app = make_app(pair_config(make_config, max_turns=2), "pair", "Say hello", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        cockpit = app.cockpit
        painted: list[bool] = []
        shown_when: list[bool] = []
        real_handle = cockpit.handle_event

        def handle(event):
            shown_when.append(bool(painted))
            return real_handle(event)

        cockpit.handle_event = handle
        cockpit.call_after_refresh(lambda: painted.append(True))
        cockpit.action_approve()
        await wait_until(pilot, lambda: [m for m in cockpit.run.transcript if m.sender == "coder"],
                         what="delivery")
        await pilot.pause()
        assert shown_when, "the engine's events after the answer reached the cockpit"
        assert all(shown_when), "an engine event was drawn before the frame that shows the answer"
