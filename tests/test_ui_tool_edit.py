"""Pilot test: a person edits a tool call's arguments with the keys they use (e, the editor's keys,
ctrl+s to the diff, ctrl+s to run), against the real engine and the scripted model server. The tool
runs with the edited arguments, the log holds both, and the replay of that log shows the edit."""

from __future__ import annotations

import json
from typing import Any

from textual.widgets import Static
from ui_support import make_app, screen_text, wait_until, waiting

from tuiagents.app.replay import ReplayApp
from tuiagents.engine.decisions import RequestKind
from tuiagents.testing import Rule, ToolCall
from tuiagents.testing.script import Reply
from tuiagents.ui.screens.replay_screen import ReplayScreen
from tuiagents.ui.screens.tool_args_screen import ToolArgsScreen
from tuiagents.ui.settings import UIOptions

SIZE = (120, 40)


def tool_config(make_config: Any) -> Any:
    agents = [{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER", "model": "default"},
              {"name": "coder", "kind": "assistant", "model": "default", "tools": ["ui_support:add"]}]
    return make_config(agents=agents, teams=[{"name": "pair", "kind": "two_agent", "agents": ["user", "coder"],
                                              "max_turns": 2}])


REMOVED: list[str] = []


def remove(path: str) -> str:
    """Remove a file."""
    REMOVED.append(path)
    return f"removed {path}"


def logged(path: Any) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()[1:]]


async def test_editing_a_tool_calls_arguments_runs_them_and_the_log_and_replay_keep_both(
        server, make_config, tmp_path):
    server.load([Rule(agent="coder", turn=0, reply=Reply.tool("add", {"a": 2, "b": 3})),
                 Rule(agent="coder", reply="Sum is 9."), Rule(agent="user", reply="ok")])
    app = make_app(tool_config(make_config), "pair", "Add", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        await pilot.press("a")
        await wait_until(pilot, lambda: waiting(app, RequestKind.TOOL_CALL), what="the tool call request")
        await pilot.pause()
        box = screen_text(app)
        # the tool's description and parameters are shown where the person decides
        assert "Add two integers" in box and "a: integer, required" in box
        assert "Edit arguments…" in box and "Always run add" in box

        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ToolArgsScreen), what="the arguments editor")
        await pilot.pause()
        editor = app.screen
        assert "Add two integers" in screen_text(app)
        # the cursor starts at the end, after "}": up to the line of "b", and change 3 into 7x
        await pilot.press("up", "end", "backspace", "7", "x", "ctrl+s")
        await pilot.pause()
        error = str(editor.query_one("#edit-error", Static).render())
        assert error.startswith("Cannot run: not valid JSON") and not editor.reviewing
        await pilot.press("backspace", "ctrl+s")
        await wait_until(pilot, lambda: editor.reviewing, what="the diff")
        diff = str(editor.query_one("#edit-diff", Static).render())
        assert '-  "b": 3' in diff and '+  "b": 7' in diff
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "↳ add:" in app.cockpit.timeline.text(), what="the tool's result")
        await wait_until(pilot, lambda: app.cockpit.state.stopped or waiting(app, RequestKind.MESSAGE),
                         what="the next draft")
        timeline = app.cockpit.timeline.text()
        assert 'edited the arguments {"a": 2, "b": 3} → {"a": 2, "b": 7}' in timeline
        assert "↳ add: [run with arguments edited by the human supervisor: {\"a\": 2, \"b\": 7}] 9" in timeline

    events = logged(tmp_path / "session.jsonl")
    [started] = [e for e in events if e["type"] == "tool_call_started"]
    assert json.loads(started["call"]["arguments"]) == {"a": 2, "b": 7}
    assert json.loads(started["original_arguments"]) == {"a": 2, "b": 3}
    [decided] = [e for e in events if e["type"] == "decision_recorded" and e["request_kind"] == "tool_call"]
    assert decided["decision"]["kind"] == "edit"
    assert json.loads(decided["decision"]["original"]) == {"a": 2, "b": 3}
    assert json.loads(decided["decision"]["content"]) == {"a": 2, "b": 7}
    [finished] = [e for e in events if e["type"] == "tool_call_finished"]
    assert finished["result"]["content"].endswith("\n9")

    replay = ReplayApp(tmp_path / "session.jsonl", options=UIOptions(bell=False), autoplay=False)
    async with replay.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(replay.screen, ReplayScreen) and replay.screen.is_mounted,
                         what="the replay screen")
        await pilot.press("end")
        await wait_until(pilot, lambda: "↳ add:" in replay.screen.timeline.text(), what="the replayed result")
        assert 'edited the arguments {"a": 2, "b": 3} → {"a": 2, "b": 7}' in replay.screen.timeline.text()


async def test_always_run_approves_that_tool_only(server, make_config, tmp_path):
    REMOVED.clear()
    agents = [{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER", "model": "default"},
              {"name": "coder", "kind": "assistant", "model": "default",
               "tools": ["ui_support:add", "test_ui_tool_edit:remove"]}]
    config = make_config(agents=agents, teams=[{"name": "pair", "kind": "two_agent", "agents": ["user", "coder"],
                                                "max_turns": 4}])
    both = Reply(tool_calls=[ToolCall(name="add", arguments={"a": 1, "b": 1}),
                             ToolCall(name="remove", arguments={"path": "notes.txt"})])
    server.load([Rule(agent="coder", replies=[Reply.tool("add", {"a": 2, "b": 3}), both, "Done."]),
                 Rule(agent="user", reply="ok")])
    app = make_app(config, "pair", "Add", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's first draft")
        await pilot.press("a")
        await wait_until(pilot, lambda: waiting(app, RequestKind.TOOL_CALL), what="the call of add")
        await pilot.press("A")
        await wait_until(pilot, lambda: "↳ add: 5" in app.cockpit.timeline.text(), what="add's result")
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's second draft")
        await pilot.press("a")
        # add runs under the rule; remove is still asked about
        current = await wait_until(pilot, lambda: waiting(app, RequestKind.TOOL_CALL), what="the call of remove")
        assert [c.name for c in current.request.tool_calls] == ["remove"]
        assert "↳ add: 2" in app.cockpit.timeline.text()
        await pilot.press("x")
        await wait_until(pilot, lambda: "✗ remove: not run: skipped by the human supervisor"
                         in app.cockpit.timeline.text(), what="remove skipped")
    assert REMOVED == []
