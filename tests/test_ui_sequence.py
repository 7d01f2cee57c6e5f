"""Supervising a sequence in the cockpit (real app under Pilot, real engine, scripted server): the
stages strip above the panes, the current stage's panes shown, a draft approved inside stage 2,
"stop: this stage or everything", and the earlier stages opened to their summaries and messages;
then the same log replayed shows the stages too."""

from __future__ import annotations

from textual.widgets import OptionList

from tests.test_engine_sequence import SCRIPT, TASKS
from tests.ui_support import make_app, screen_text, wait_until, waiting
from tuiagents.engine.decisions import RequestKind
from tuiagents.engine.events import ChatEnded, StopKind, parse_event
from tuiagents.testing import Rule
from tuiagents.ui.screens.prompt_screens import PickScreen
from tuiagents.ui.screens.stages_screen import StagesScreen
from tuiagents.ui.widgets.stage_strip import StageStrip


def _config(make_config):
    agents = [{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER", "default_auto_reply": "go on"},
              {"name": "researcher", "kind": "assistant"}, {"name": "writer", "kind": "assistant"},
              {"name": "critic", "kind": "assistant"}]
    teams = [{"name": "research", "agents": ["user", "researcher"], "max_turns": 1},
             {"name": "writing", "agents": ["user", "writer"], "max_turns": 1},
             {"name": "review", "agents": ["user", "critic"], "max_turns": 1},
             {"name": "pipeline", "kind": "sequence", "stages": [
                 {"team": "research", "task": TASKS[0]},
                 {"team": "writing", "task": TASKS[1], "max_turns": 3},  # the writer drafts twice
                 {"team": "review", "task": TASKS[2]}]}]
    return make_config(agents=agents, teams=teams)


def _strip(app) -> str:
    return str(app.cockpit.query_one(StageStrip).render())


def _current(app, chat: str, agent: str):
    current = waiting(app, RequestKind.MESSAGE)
    return current if current is not None and current.chat == chat and current.request.agent == agent else None


async def test_stages_strip_approve_inside_stage_two_stop_that_stage_only_then_everything(
        server, make_config, tmp_path):
    server.load([Rule(agent="writer", replies=["First draft.", "Second draft."]), *SCRIPT])
    app = make_app(_config(make_config), "pipeline", "", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:  # the smallest terminal the README promises
        cockpit = app.cockpit
        await wait_until(pilot, lambda: _current(app, "root/stage1", "researcher"), what="the researcher's draft")
        assert "1 research ▶ · 2 writing ○ · 3 review ○" in _strip(app)
        await pilot.press("a")
        await wait_until(pilot, lambda: _current(app, "root/stage2", "writer"), what="the writer's first draft")
        await pilot.pause()
        assert "1 research ✓ · 2 writing ▶ · 3 review ○" in _strip(app)
        assert "stage 2 · turn 1" in screen_text(app)  # the status bar counts the stage's turns
        # the current stage's panes: the researcher's folded away with stage 1
        assert cockpit.panes["writer"].display and cockpit.panes["user"].display
        assert not cockpit.panes["researcher"].display and not cockpit.panes["critic"].display
        await pilot.press("a")  # approve the draft inside stage 2
        await wait_until(pilot, lambda: _current(app, "root/stage2", "writer") and "Second draft." in
                         _current(app, "root/stage2", "writer").request.content, what="the second draft")
        assert [m.content for m in cockpit.state.messages_in("root/stage2") if m.sender == "writer"] == ["First draft."]

        await pilot.press("s")  # during a stage, stop asks: this stage or everything
        await wait_until(pilot, lambda: isinstance(app.screen, PickScreen), what="the stop dialog")
        assert "This stage only (stage 2: writing)" in screen_text(app) and "Everything" in screen_text(app)
        await pilot.press("enter")  # this stage only (the choice offered first)
        await wait_until(pilot, lambda: _current(app, "root/stage3", "critic"), what="stage 3's draft")
        await pilot.pause()
        assert "2 writing ■ · 3 review ▶" in _strip(app)
        assert not cockpit.state.stopped
        stage2 = cockpit.state.chats["root/stage2"]
        assert stage2.ended.kind == StopKind.CHAT_STOPPED and stage2.summary == "go on"  # its last message

        # the finished stages open from the strip: summary, task and messages
        await pilot.click(StageStrip)
        await wait_until(pilot, lambda: isinstance(app.screen, StagesScreen), what="the stages")
        await pilot.press("up")  # from stage 3 (the one running) to stage 2
        await pilot.pause()
        shown = screen_text(app)
        assert "Stage 2: writing · stopped alone" in shown and "Summary handed on:" in shown
        assert "writer: First draft." in shown
        await pilot.press("up")
        await pilot.pause()
        assert "Stage 1: research · done" in screen_text(app)
        assert "researcher: facts: pollen, dance, hive" in screen_text(app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is cockpit, what="back to the cockpit")

        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, PickScreen), what="the stop dialog")
        app.screen.query_one(OptionList).highlighted = 1
        await pilot.press("enter")  # everything
        await wait_until(pilot, lambda: cockpit.state.stopped, what="the run stopped")
        assert cockpit.state.stopped_event.kind == StopKind.STOPPED_BY_USER
        assert cockpit.state.chats["root/stage3"].ended.kind == StopKind.STOPPED_BY_USER
        assert "3 review ✗" in _strip(app)

    # the log, replayed, shows the same stages
    from tuiagents.ui.app import TuiAgentsApp
    from tuiagents.ui.settings import UIOptions

    lines = (tmp_path / "session.jsonl").read_text().splitlines()[1:]
    events = [parse_event(line) for line in lines]
    assert [e.chat for e in events if isinstance(e, ChatEnded)] == ["root/stage1", "root/stage2", "root/stage3"]
    replay = TuiAgentsApp(events=events, options=UIOptions(bell=False))
    async with replay.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "1 research ✓ · 2 writing ■ · 3 review ✗" in _strip(replay), _strip(replay)
        await pilot.press("o")
        await wait_until(pilot, lambda: isinstance(replay.screen, StagesScreen), what="the stages in the replay")
        assert "Stage 3: review · cut off by a stop" in screen_text(replay)


async def test_a_sequence_starts_from_the_app_without_a_task(server, make_config, tmp_path):
    """Its stages have their tasks: the task screen lets it start with none (a task typed there
    would be the first stage's context)."""
    from textual.widgets import TextArea

    from tuiagents.app.tui import build_app
    from tuiagents.ui.screens.start_screens import TaskScreen

    server.load([Rule(agent="writer", replies=["First draft.", "Second draft."]), *SCRIPT])
    app = build_app(_config(make_config), None, "pipeline", None, "ask", str(tmp_path / "s.jsonl"))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, TaskScreen), what="the task screen")
        assert app.screen.query_one(TextArea).text == ""
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: _current(app, "root/stage1", "researcher"), what="stage 1's draft")
        assert app.cockpit.state.chats["root/stage1"].started.task == TASKS[0]
