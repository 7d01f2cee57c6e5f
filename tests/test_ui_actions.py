"""The action registry: every action described once has a handler, and the keys, the palette, the
request buttons, the replay and `[keymap]` agree with it."""

from __future__ import annotations

import pytest

from tuiagents.engine.decisions import DecisionKind, DecisionRequest, RequestKind
from tuiagents.engine.supervisor import ALLOWED
from tuiagents.app.replay import ReplayApp
from tuiagents.ui.actions import ACTIONS, BY_ID, InReplay, Where, actions_of, refused_in_replay
from tuiagents.ui.app import TuiAgentsApp
from tuiagents.ui.bindings import check_keymap, known_ids
from tuiagents.ui.screens.cockpit import CockpitScreen
from tuiagents.ui.screens.replay_screen import ReplayScreen
from tuiagents.ui.screens.sessions_screen import SessionsScreen
from tuiagents.ui.widgets.request_panel import controls_for
from tuiagents.ui.widgets.transcript import Transcript

HANDLERS = {Where.COCKPIT: CockpitScreen, Where.APP: TuiAgentsApp, Where.REPLAY: ReplayScreen,
            Where.SESSIONS: SessionsScreen, Where.TRANSCRIPT: Transcript}


def test_ids_are_unique_and_every_action_has_a_handler():
    assert len(BY_ID) == len(ACTIONS)
    for where, owner in HANDLERS.items():
        for spec in actions_of(where):
            assert callable(getattr(owner, f"action_{spec.name}", None)), f"{owner.__name__} lacks action_{spec.name}"


def test_the_replay_refuses_exactly_the_live_controls():
    refused = {a.name for a in refused_in_replay()}
    assert refused >= {"approve", "edit", "reject", "run_code", "stop", "inject"}
    for name in refused:
        assert getattr(ReplayScreen, f"action_{name}") is ReplayScreen._refuse
    for spec in actions_of(Where.COCKPIT):
        if spec.in_replay is InReplay.WORKS:
            assert getattr(ReplayScreen, f"action_{spec.name}") is not ReplayScreen._refuse


#: Answers a request can get by key only: "let it answer, and from now on" stays off the small
#: human-input box.
KEY_ONLY = {(RequestKind.HUMAN_INPUT, "approve_session")}


@pytest.mark.parametrize("kind", list(RequestKind))
def test_a_request_offers_a_button_for_every_action_that_answers_it(kind):
    request = DecisionRequest(kind=kind, agent="coder", allowed=list(ALLOWED[kind]))
    offered = {bid for bid, _label, _variant in controls_for(request)}
    answering = {a.id for a in actions_of(Where.COCKPIT)
                 if a.button and a.answers_request(request) and (kind, a.id) not in KEY_ONLY}
    assert offered == answering
    for bid in offered:  # and each sends a decision the request allows
        assert BY_ID[bid].answers & set(request.allowed)


def test_a_button_is_not_offered_for_a_decision_the_request_refuses():
    request = DecisionRequest(kind=RequestKind.MESSAGE, agent="coder", allowed=[DecisionKind.APPROVE])
    assert [bid for bid, _l, _v in controls_for(request)] == ["approve", "approve_session"]


def test_keymap_knows_every_registry_id_and_refuses_others():
    assert known_ids() == set(BY_ID)
    assert all(check_keymap({a.id: "f24"}) == [] for a in ACTIONS)
    problems = check_keymap({"aprove": "ctrl+y", "stop": " "})
    assert any("'aprove' is not a binding id" in p for p in problems)
    assert any("'stop' has no key" in p for p in problems)


def test_the_replay_app_is_the_app():
    assert issubclass(ReplayApp, TuiAgentsApp)
