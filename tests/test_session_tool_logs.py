"""Logs and tool calls: a log written before each call had its own request (one request for two
calls, approved for the session) still reads, replays, exports and restores its rule with the
meaning it had; a log with edited arguments exports and replays the edit."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

from conftest import ScriptedHuman, finish
from test_ui_tool_edit import tool_config
from ui_support import wait_until

from tuiagents.app.launch import prepare_run
from tuiagents.app.replay import ReplayApp
from tuiagents.engine.decisions import Decision, RequestKind
from tuiagents.engine.events import DecisionRequested
from tuiagents.engine.factory import build_run
from tuiagents.engine.restore import restore_state
from tuiagents.engine.view import fold
from tuiagents.headless import ConsolePrinter
from tuiagents.session.export import export_session
from tuiagents.session.reader import read_session
from tuiagents.testing import Reply, Rule
from tuiagents.ui.screens.replay_screen import ReplayScreen
from tuiagents.ui.settings import UIOptions

#: Written by tuiagents before per-call decisions: two calls in one request, approved for the session.
BATCHED = Path(__file__).parent / "fixtures" / "session_format2_tools.jsonl"


def test_a_log_with_calls_decided_together_reads_exports_and_restores_its_rule(tmp_path, make_config):
    path = tmp_path / BATCHED.name
    shutil.copyfile(BATCHED, path)
    log = read_session(path)
    assert log.header.format_version == 2 and log.notice is None and log.finished
    [request] = [e.request for e in log.events if isinstance(e, DecisionRequested)
                 and e.request.kind == RequestKind.TOOL_CALL]
    assert [c.name for c in request.tool_calls] == ["add", "weather"] and request.tool_info is None

    view = fold(log.events)
    assert [t.result.content for t in view.tools.values()] == ["5", "Oslo: 21 C"]
    markdown = export_session(log, "md")
    assert "assistant's tool call: approved by human (for this session)" in markdown
    assert "Oslo: 21 C" in export_session(log, "html")
    out = io.StringIO()
    printer = ConsolePrinter(out)
    for event in log.events:
        printer(event)
    assert "  · tool_call of assistant: approved for this session (by you)" in out.getvalue().splitlines()

    # its session approval covered every tool of the agent then, and a resume keeps that meaning
    cfg = make_config(agents=[{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER"},
                              {"name": "assistant", "kind": "assistant", "model": "default"}],
                      teams=[{"name": "pair", "agents": ["user", "assistant"], "max_turns": 3}])
    run = build_run(cfg, "pair", "again", approve="ask", work_dir=tmp_path)
    restore_state(run, log.events)
    rules = [(r.agent, r.tool) for r in run.supervisor.rules if r.kind == RequestKind.TOOL_CALL]
    assert rules == [("assistant", None)]


async def test_the_replay_of_calls_decided_together_shows_both_results(tmp_path):
    app = ReplayApp(BATCHED, options=UIOptions(bell=False), autoplay=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ReplayScreen) and app.screen.is_mounted,
                         what="the replay screen")
        await pilot.press("end")
        await wait_until(pilot, lambda: "↳ weather: Oslo: 21 C" in app.screen.timeline.text(), what="the results")
        timeline = app.screen.timeline.text()
        assert "↳ add: 5" in timeline and "approved for this session (by you)" in timeline


async def test_exports_of_a_log_with_edited_arguments_show_both(server, make_config, tmp_path):
    server.load([Rule(agent="coder", turn=0, reply=Reply.tool("add", {"a": 2, "b": 3})),
                 Rule(agent="coder", reply="Sum is 9."), Rule(agent="user", reply="ok")])
    path = tmp_path / "edited.jsonl"
    run = prepare_run(tool_config(make_config), "pair", "Add", approve="ask", session_path=path)
    human = ScriptedHuman(default=Decision.approve())
    human.attach(run)
    human.queue(RequestKind.TOOL_CALL, Decision.edit('{"a": 2, "b": 7}'))
    await finish(run)

    edit = 'arguments {"a": 2, "b": 3} → {"a": 2, "b": 7}'
    assert edit in export_session(path, "md")
    assert edit.replace('"', "&quot;") in export_session(path, "html")
    entries = json.loads(export_session(path, "json"))["transcript"]["entries"]
    [decided] = [e["decision"] for e in entries if e.get("decision", {}).get("kind") == "edit"]
    assert (json.loads(decided["original"]), json.loads(decided["content"])) == ({"a": 2, "b": 3}, {"a": 2, "b": 7})
