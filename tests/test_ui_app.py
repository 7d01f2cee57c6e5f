"""Pilot tests of the app around the controls: start screens, keymap, palette, help, bell, themes,
tabs, timeline, streaming, human input, inert text, bad input and a too-small terminal."""

from __future__ import annotations

from textual.widgets import TabbedContent, TextArea
from ui_support import (
    SIZE,
    group_config,
    make_app,
    pair_config,
    screen_text,
    wait_until,
    waiting,
)

from tuiagents.engine.decisions import RequestKind
from tuiagents.testing import Fault, Rule
from tuiagents.testing.script import Reply
from tuiagents.app.tui import build_app
from tuiagents.ui.app import TuiAgentsApp
from tuiagents.ui.screens.help_screen import HelpScreen
from tuiagents.ui.screens.prompt_screens import TextPromptScreen
from tuiagents.ui.screens.start_screens import ProblemScreen, TaskScreen
from tuiagents.ui.settings import UIOptions


async def test_no_task_asks_for_one_then_starts(server, make_config, tmp_path):
    server.load([Rule(agent="coder", reply="On it.")])
    config = pair_config(make_config)
    from tuiagents.app.launch import prepare_run

    app = TuiAgentsApp(run_factory=lambda team, task: prepare_run(config, team, task, session_path=tmp_path / "s.jsonl"),
                       options=UIOptions(bell=False), team="pair")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, TaskScreen), what="task screen")
        await pilot.press("ctrl+s")
        assert "Type a task for the team first" in screen_text(app)
        app.screen.query_one(TextArea).text = "Write a haiku"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="the run")
        assert app.cockpit.run.task == "Write a haiku"


async def test_a_typed_task_the_context_cannot_fill_is_said_on_the_task_screen_and_can_be_fixed(
        server, make_config, tmp_path):
    """A template error in the task a person types stays on the task screen, with what to fix; the
    app does not end on it (it showed a dialog whose only way out was quitting)."""
    server.load([Rule(agent="coder", reply="On it.")])
    config = pair_config(make_config).model_copy(update={"context": {"city": "Oslo"}})
    from tuiagents.app.launch import prepare_run

    app = TuiAgentsApp(run_factory=lambda team, task: prepare_run(config, team, task, session_path=tmp_path / "s.jsonl"),
                       options=UIOptions(bell=False), team="pair", config=config)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, TaskScreen), what="task screen")
        app.screen.query_one(TextArea).text = "Weather in {citty} and {city"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, TaskScreen)
        assert "Fix the task and start again" in screen_text(app)
        app.screen.query_one(TextArea).text = "Weather in {city}"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="the run")
        assert app.cockpit.run.task == "Weather in Oslo"


async def test_no_model_says_what_to_set(tmp_path):
    from tuiagents.config import parse_config

    app = build_app(parse_config({}), None, None, None)  # a config file without models
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ProblemScreen), what="problem screen")
        shown = screen_text(app)
        assert "No model configured" in shown and "[[models]]" in shown and "api_key_env" in shown
        await pilot.press("q")
    assert app.return_code == 0


async def test_unknown_team_is_explained(server, make_config):
    app = build_app(pair_config(make_config), None, "nope", "task")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ProblemScreen), what="problem screen")
        assert "no team named 'nope'" in screen_text(app) and "pair" in screen_text(app)


async def test_keymap_remaps_by_id_and_reports_unknown_ids(server, make_config, tmp_path):
    server.load([Rule(agent="coder", reply="Hi."), Rule(agent="user", reply="ok")])
    app = make_app(pair_config(make_config), "pair", "Task", tmp_path,
                   keymap={"approve": "ctrl+y", "no_such_binding": "x"})
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        assert any("no_such_binding" in n.message for n in app._notifications)
        await wait_until(pilot, lambda: "Approve [ctrl+y]" in screen_text(app), what="button shows the new key")
        await pilot.press("a")
        await pilot.pause(0.2)
        assert waiting(app, RequestKind.MESSAGE) is not None  # `a` no longer approves
        await pilot.press("ctrl+y")
        await wait_until(pilot, lambda: [m for m in app.cockpit.run.transcript if m.sender == "coder"],
                         what="approved with ctrl+y")


async def test_every_control_is_in_the_command_palette(server, make_config, tmp_path):
    server.load([Rule(agent="coder", reply="Hi."), Rule(agent="user", reply="ok")])
    app = make_app(pair_config(make_config), "pair", "Task", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        titles = {c.title for c in app.get_system_commands(app.cockpit)}
        assert {"Approve", "Approve for this session", "Edit", "Reject with feedback", "Inject a message",
                "Pause / resume", "Stop the run", "Toggle timeline", "Code style", "Theme"} <= titles
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"Approve")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_until(pilot, lambda: [m for m in app.cockpit.run.transcript if m.sender == "coder"],
                         what="approved from the palette")


async def test_f1_lists_bindings_with_ids(server, make_config, tmp_path):
    server.load([Rule(agent="coder", reply="Hi.")])
    app = make_app(pair_config(make_config), "pair", "Task", tmp_path, keymap={"stop": "ctrl+x"})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        await pilot.pause()
        shown = screen_text(app)
        for binding_id in ("approve", "approve_session", "edit", "reject", "inject", "next_speaker", "pause",
                           "toggle_timeline", "run_code", "skip", "cancel_execution"):
            assert binding_id in shown
        assert "ctrl+x" in shown  # the remapped key
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, HelpScreen), what="help closed")


async def test_bell_rings_when_the_app_waits_for_you(server, make_config, tmp_path):
    server.load([Rule(agent="coder", reply="Hi.")])
    for enabled, expected in ((True, 1), (False, 0)):
        app = make_app(pair_config(make_config), "pair", "Task", tmp_path / str(enabled), bell=enabled)
        rings = []
        app.bell = lambda: rings.append(1)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
            await pilot.pause(0.1)
        assert len(rings) == expected


async def test_themes_are_registered_and_chosen_from_config(server, make_config, tmp_path):
    server.load([Rule(agent="coder", reply="Hi.")])
    app = make_app(pair_config(make_config), "pair", "Task", tmp_path, theme="tuiagents-light",
                   code_style="no-such-style")
    async with app.run_test(size=SIZE) as pilot:
        assert {"tuiagents-dark", "tuiagents-light", "tuiagents-high-contrast"} <= set(app.available_themes)
        assert app.theme == "tuiagents-light"
        assert app.options.code_style == "monokai"
        assert any("code_style 'no-such-style'" in n.message for n in app._notifications)
        app.theme = "tuiagents-high-contrast"
        await pilot.pause()
        app.set_code_style("friendly")
        assert app.cockpit.code_style == "friendly"


async def test_five_agents_get_tabs_with_status_badges(server, make_config, tmp_path):
    names = ["a1", "a2", "a3", "a4", "a5"]
    server.load([Rule(agent=n, reply=f"I am {n}.") for n in names])
    app = make_app(group_config(make_config, names), "group", "Roll call", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="a2's draft")
        tabs = app.cockpit.query_one(TabbedContent)
        assert tabs.active == "tab-1"  # the waiting agent's tab is brought forward
        await wait_until(pilot, lambda: "◉ a2 ⏳" in screen_text(app), what="badge")
        assert "○ a3" in screen_text(app)


async def test_timeline_toggle_shows_the_whole_conversation(server, make_config, tmp_path):
    server.load([Rule(agent="coder", reply="From coder."), Rule(agent="user", reply="From user.")])
    app = make_app(pair_config(make_config), "pair", "The task", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        await pilot.press("a")
        await wait_until(pilot, lambda: (w := waiting(app, RequestKind.MESSAGE)) and w.request.agent == "user",
                         what="user's draft")
        await pilot.press("t")
        await pilot.pause()
        shown = screen_text(app)
        assert "The task" in shown and "From coder." in shown and "message of coder: approved" in shown
        await pilot.press("t")
        await pilot.pause()
        assert "coder  default" in screen_text(app)  # back to the panes


async def test_tokens_stream_into_the_pane(server, make_config, tmp_path):
    words = " ".join(f"word{i}" for i in range(40))
    server.load([Rule(agent="coder", reply=words, fault=Fault(kind="slow", chunk_delay=0.03))])
    app = make_app(pair_config(make_config), "pair", "Talk", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.cockpit.panes["coder"]
        await wait_until(pilot, lambda: app.cockpit.state.agents["coder"].state == "streaming", what="streaming state")
        await wait_until(pilot, lambda: "◑ streaming" in screen_text(app), what="streaming in the pane header")
        await wait_until(pilot, lambda: "word3 " in pane.transcript.text(), what="partial text")
        assert "word39" not in pane.transcript.text()
        assert "streaming…" in pane.transcript.text()
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="final draft")
        assert "word39" in pane.transcript.text() and "streaming…" not in pane.transcript.text()


async def test_human_input_request_takes_your_reply(server, make_config, tmp_path):
    server.load([Rule(agent="user", reply="ok")])
    app = make_app(pair_config(make_config, coder_mode="ALWAYS"), "pair", "Ask me", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.HUMAN_INPUT), what="human input request")
        await wait_until(pilot, lambda: "Reply… [w]" in screen_text(app), what="reply button")
        await pilot.press("w")
        await wait_until(pilot, lambda: isinstance(app.screen, TextPromptScreen), what="reply prompt")
        app.screen.query_one(TextArea).text = "I answer myself."
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: [m for m in app.cockpit.run.transcript if m.content == "I answer myself."],
                         what="human reply delivered")
        message = [m for m in app.cockpit.run.transcript if m.content == "I answer myself."][0]
        assert message.sender == "coder" and message.origin == "human"


async def test_model_text_is_shown_inert(server, make_config, tmp_path):
    nasty = "[bold red]BOOM[/] \x1b[31mred\x1b[0m\x07 and [link=http://x]y[/link]"
    server.load([Rule(agent="coder", reply=nasty), Rule(agent="user", reply="ok")])
    app = make_app(pair_config(make_config), "pair", "Talk", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        await pilot.pause()
        shown = screen_text(app)
        assert "[bold red]BOOM[/] ␛[31mred␛[0m␇ and [link=http://x]y[/link]" in shown
        assert "\x1b" not in shown and "\x07" not in shown
        await pilot.press("a")
        await wait_until(pilot, lambda: "approved by you" in app.cockpit.panes["coder"].transcript.text(),
                         what="delivered")
        assert "[bold red]BOOM[/]" in screen_text(app)


async def test_too_small_terminal_is_explained(server, make_config, tmp_path):
    server.load([Rule(agent="coder", reply="Hi.")])
    app = make_app(pair_config(make_config), "pair", "Talk", tmp_path)
    async with app.run_test(size=(50, 12)) as pilot:
        await pilot.pause(0.2)
        assert "The terminal is too small (50×12)" in screen_text(app)
        await pilot.resize_terminal(*SIZE)
        await pilot.pause(0.2)
        assert "too small" not in screen_text(app)


async def test_tool_call_request_shows_the_call(server, make_config, tmp_path):
    agents = [{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER", "model": "default"},
              {"name": "coder", "kind": "assistant", "model": "default", "tools": ["ui_support:add"]}]
    config = make_config(agents=agents, teams=[{"name": "pair", "kind": "two_agent", "agents": ["user", "coder"],
                                               "max_turns": 2}])
    server.load([Rule(agent="coder", turn=0, reply=Reply.tool("add", {"a": 2, "b": 3})),
                 Rule(agent="coder", reply="Sum is 5."), Rule(agent="user", reply="ok")])
    app = make_app(config, "pair", "Add", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        assert "⚙ calls add" in screen_text(app)
        await pilot.press("a")
        request = await wait_until(pilot, lambda: waiting(app, RequestKind.TOOL_CALL), what="tool request")
        assert request.request.tool_calls[0].name == "add"
        await pilot.pause()
        assert "⚙ add" in screen_text(app) and "Run tool [a]" in screen_text(app)
        await pilot.press("a")
        await wait_until(pilot, lambda: "↳ add: 5" in app.cockpit.timeline.text(), what="tool result")


async def test_pending_requests_queue_visibly_and_can_be_picked():
    from ui_support import code_request, conversation, fixed_clock, message_request

    events = conversation(["user", "planner", "coder"]) + message_request("planner", "My draft.") + \
        code_request("coder", "user", "print(1)")
    app = TuiAgentsApp(events=events, options=UIOptions(bell=False), clock=fixed_clock())
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "Waiting for you (1 of 2)" in screen_text(app), what="queue")
        shown = screen_text(app)
        assert "message from planner" in shown and "Queued (1):" in shown and "coder: code" in shown
        assert "⏳ 2 waiting for you" in shown
        await pilot.click("#request-queue Button")
        await wait_until(pilot, lambda: "Waiting for you (2 of 2) · code from coder" in screen_text(app),
                         what="picked request")
        assert "planner: message" in screen_text(app)


async def test_queued_message_from_a_log_is_shown_as_queued():
    from ui_support import conversation, fixed_clock

    from tuiagents.engine.events import MessageQueued
    from tuiagents.engine.messages import Message

    note = Message(sender="human", content="Use the median, not the mean.", origin="human", recipient="coder")
    events = conversation(["user", "planner", "coder"]) + [MessageQueued(message=note)]
    app = TuiAgentsApp(events=events, options=UIOptions(bell=False), clock=fixed_clock())
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "Use the median" in screen_text(app), what="queued note")
        assert "queued for the next turn" in screen_text(app)


async def test_palette_shows_our_key_bindings_entry_whole_and_not_textuals_keys(server, make_config, tmp_path):
    server.load([Rule(agent="coder", reply="Hi.")])
    app = make_app(pair_config(make_config), "pair", "Task", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        assert "Keys" not in {c.title for c in app.get_system_commands(app.cockpit)}
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"Key bindings")
        await wait_until(pilot, lambda: "Every key, its id for [keymap], and what it does" in screen_text(app),
                         what="the palette entry's help, [keymap] included")


async def test_f1_wraps_descriptions_at_whole_words_at_80x24(server, make_config, tmp_path):
    from tuiagents.ui.bindings import COCKPIT_BINDINGS

    server.load([Rule(agent="coder", reply="Hi.")])
    app = make_app(pair_config(make_config), "pair", "Task", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        await pilot.pause()
        lines = screen_text(app).splitlines()
        header = next(line for line in lines if "What it does" in line)
        start, end = header.index("What it does"), header.index("Where")
        for binding in COCKPIT_BINDINGS[:4]:  # approve_session has the longest description
            row = next(i for i, line in enumerate(lines) if f" {binding.id} " in line)
            cell = [lines[row][start:end].strip()]
            for line in lines[row + 1:]:
                if line[start - 25:start].strip():  # the next binding's key or id
                    break
                cell.append(line[start:end].strip())
            assert " ".join(c for c in cell if c) == binding.tooltip, cell


async def test_at_80x24_the_cockpit_keeps_totals_every_button_and_who_waits(tmp_path):
    from ui_support import code_request, conversation, fixed_clock, message_request

    from tuiagents.ui.settings import UIOptions

    for request in (message_request("planner", "Plan:\n1. a\n2. b"),
                    code_request("coder", "user", "print(1)\n" * 30)):
        events = conversation(["user", "planner", "coder", "critic"]) + request
        app = TuiAgentsApp(events=events, options=UIOptions(bell=False), clock=fixed_clock())
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.3)
            lines = screen_text(app).splitlines()
            headers = lines[:3]
            assert all(line.count("tok") == 4 and line.count("$") == 4 for line in headers[2:3]), headers
            assert headers[1].count("○") + headers[1].count("◉") == 4  # every agent's state
            assert "◉ waiting for you" in headers[1] or "waiting for you" in " ".join(headers)
            text = "\n".join(lines)
            assert "Stop run [s]" in text, text
            status = lines[-2]
            assert "⏳ 1 waiting for you" in status and "⏱" in status, status
            for button in app.cockpit.query("#request-buttons Button"):
                assert button.region.right <= 80 and button.region.bottom <= 22, (button.label, button.region)
                assert str(button.label) in text  # shown whole: label and key
