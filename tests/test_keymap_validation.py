"""`[keymap]` remaps that would take another action's key, or name a key no terminal sends, are
refused with a warning naming the key and the actions; the action keeps its default key."""

from __future__ import annotations

from ui_support import SIZE, make_app, pair_config, wait_until, waiting

from tuiagents.engine.decisions import RequestKind
from tuiagents.testing import Rule
from tuiagents.ui.actions import ACTIONS
from tuiagents.ui.bindings import check_keymap, validate_keymap


def test_a_key_taken_by_another_action_on_the_same_screen_is_refused():
    accepted, problems = validate_keymap({"approve": "q"})
    assert accepted == {}
    (problem,) = problems
    assert "'q'" in problem and "approve" in problem and "quit" in problem
    accepted, problems = validate_keymap({"reject": "a,ctrl+y"})  # approve's key, among others
    assert accepted == {} and "'a'" in problems[0] and "approve" in problems[0] and "reject" in problems[0]


def test_keys_no_terminal_sends_are_refused():
    for bad in ("ctrl+nonsense", "nonsense", "ctrl+", "hyper+ctrl+zz"):
        accepted, problems = validate_keymap({"stop": bad})
        assert accepted == {}, bad
        assert len(problems) == 1 and repr(bad) in problems[0] and "stop" in problems[0]


def test_valid_remaps_swaps_and_other_screens_keys_are_applied():
    keymap = {"approve": "r", "reject": "a", "sessions_resume": "s", "stop": "ctrl+shift+x",
              "replay_step_forward": "j", "toggle_timeline": "f3", "show_full": "question_mark",
              }
    accepted, problems = validate_keymap(keymap)
    assert problems == [] and accepted == keymap
    # every id can be remapped, one at a time, to a free key
    assert all(check_keymap({a.id: "f24"}) == [] for a in ACTIONS)


def test_a_remap_refused_for_a_clash_with_a_refused_one_is_refused_too():
    # approve takes `s` only if stop leaves it; stop's new key is not a key, so stop keeps `s`
    accepted, problems = validate_keymap({"stop": "ctrl+nonsense", "approve": "s"})
    assert accepted == {} and len(problems) == 2
    assert any("'s'" in p and "approve" in p and "stop" in p for p in problems)


async def test_the_app_warns_and_keeps_the_default_keys(server, make_config, tmp_path):
    server.load([Rule(agent="coder", reply="Hi."), Rule(agent="user", reply="ok")])
    app = make_app(pair_config(make_config), "pair", "Task", tmp_path,
                   keymap={"approve": "q", "stop": "ctrl+nonsense", "toggle_timeline": "f3"})
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        notes = [n.message for n in app._notifications]
        assert any("'q'" in n and "approve" in n and "quit" in n for n in notes), notes
        assert any("'ctrl+nonsense'" in n and "stop" in n for n in notes), notes
        assert app.keymap_overrides == {"toggle_timeline": "f3"}
        await pilot.press("a")  # approve kept its key
        await wait_until(pilot, lambda: [m for m in app.cockpit.run.transcript if m.sender == "coder"],
                         what="approved with a")
