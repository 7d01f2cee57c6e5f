"""Pilot tests at 80×24, the smallest terminal the project promises to serve whole: the footer keeps
the keys a person needs to decide, the code gate keeps where the code runs and its buttons in view
while the code scrolls, F2's columns give way by priority, F1 keeps each key on one line."""

from __future__ import annotations

from typing import Any

from textual.widgets import TextArea
from ui_support import make_app, pair_config, screen_text, wait_until, waiting

from tuiagents.engine.decisions import RequestKind
from tuiagents.testing import Rule

SMALL = (80, 24)


def gate(app: Any) -> str:
    """The rows of the request box (from its title down)."""
    lines = screen_text(app).splitlines()
    start = next(i for i, line in enumerate(lines) if "Waiting for you" in line)
    return "\n".join(lines[start:])


def footer(app: Any) -> str:
    """The footer row (the terminal's last line)."""
    return screen_text(app).splitlines()[-1]


async def test_the_footer_at_80_columns_keeps_approve_edit_reject_stop_help_quit(server, make_config, tmp_path):
    server.load([Rule(agent="coder", reply="One.")])
    app = make_app(pair_config(make_config), "pair", "Task", tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        await wait_until(pilot, lambda: "a Approve" in footer(app), what="the footer")
        line = footer(app)
        for key in ("a Approve", "e Edit", "r Reject", "s Stop", "f1 Keys", "q Quit"):
            assert key in line, (key, line)
        assert "Approve for session" not in line  # the rest goes first
        # at full width nothing needs to go
        await pilot.resize_terminal(200, 40)
        await wait_until(pilot, lambda: "Approve for session" in footer(app), what="the wide footer")
        assert "p Pause/resume" in footer(app) and "s Stop" in footer(app)
        await pilot.press("s")
        await wait_until(pilot, lambda: app.cockpit.state.stopped, what="the stop")


async def test_the_code_gate_at_80x24_shows_where_it_runs_and_its_decision_while_the_code_scrolls(
        server, make_config, tmp_path):
    code = "\n".join(f"print({i})" for i in range(60))
    server.load([Rule(agent="coder", reply=f"Here:\n```python\n{code}\n```")])
    app = make_app(pair_config(make_config, code="local"), "pair", "Count", tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        await pilot.press("a")
        await wait_until(pilot, lambda: waiting(app, RequestKind.CODE), what="the code request")
        await wait_until(pilot, lambda: "Run [y]" in screen_text(app), what="the code gate")
        shown = screen_text(app)
        assert "Runs on: local" in shown
        assert "Skip [x]" in shown and "Stop run [s]" in shown
        for key in ("y Run code", "x Skip", "e Edit", "s Stop", "f1 Keys", "q Quit"):
            assert key in footer(app), (key, footer(app))
        assert "print(59)" not in gate(app)  # the code scrolls, the decision does not
        scroll = app.cockpit.query_one("#request-scroll")
        assert scroll.max_scroll_y > 0
        scroll.scroll_end(animate=False)
        await wait_until(pilot, lambda: "print(59)" in gate(app), what="the end of the code")
        assert "Runs on: local" in gate(app) and "Run [y]" in gate(app)
        await pilot.press("s")
        await wait_until(pilot, lambda: app.cockpit.state.stopped, what="the stop")


async def test_f2_at_80_columns_gives_way_by_priority_keeping_task_and_status(make_config, tmp_path):
    from test_ui_sessions import browser, cockpit_app, folder_config
    from textual.widgets import DataTable

    from tuiagents.session.sample import write_sample_session

    folder = tmp_path / "sessions"
    folder.mkdir()
    write_sample_session(folder / "one.jsonl", 2)
    app = cockpit_app(folder_config(make_config, folder))
    async with app.run_test(size=(200, 30)) as pilot:
        screen = await browser(pilot)
        table = screen.query_one(DataTable)
        assert [str(c.label) for c in table.columns.values()] == ["Date", "Team", "Task", "Turns", "Cost", "Status"]
        assert table.virtual_size.width <= table.size.width
        await pilot.resize_terminal(*SMALL)
        await wait_until(pilot, lambda: "Turns" not in [str(c.label) for c in table.columns.values()],
                         what="the narrow columns")
        labels = [str(c.label) for c in table.columns.values()]
        assert "Task" in labels and "Status" in labels and "Date" in labels
        assert table.virtual_size.width <= table.size.width  # no sideways scrolling
        await pilot.pause()
        row = next(line for line in screen_text(app).splitlines() if "Plot the first" in line)
        assert "…" in row and "■" in row  # the task and the outcome, cut with an ellipsis
        assert "Close [esc]" in screen_text(app)


async def test_f1_at_80x24_keeps_each_key_on_one_line_as_a_person_reads_it(make_config):
    from textual.widgets import DataTable

    from tuiagents.ui.app import TuiAgentsApp
    from tuiagents.ui.screens.help_screen import HelpScreen
    from tuiagents.ui.settings import UIOptions

    app = TuiAgentsApp(events=[], options=UIOptions(bell=False))
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        table = app.screen.query_one(DataTable)
        faster = next(i for i in range(table.row_count) if table.get_row_at(i)[1] == "replay_faster")
        table.move_cursor(row=faster)
        await pilot.pause()
        line = next(line for line in screen_text(app).splitlines() if "replay_faster" in line)
        assert "+, =" in line
        assert "equals_sign" not in screen_text(app)
        key_column = next(iter(table.columns.values()))
        assert all(table.get_row_at(i)[0].cell_len <= key_column.width for i in range(table.row_count))


async def test_the_edit_dialogs_diff_goes_back_to_editing_with_esc_and_the_cursor_starts_at_the_end(
        server, make_config, tmp_path):
    from tuiagents.ui.screens.edit_screen import EditScreen

    draft = "\n".join(f"Line {i} of the draft." for i in range(30))
    server.load([Rule(agent="coder", reply=draft), Rule(agent="user", reply="ok")])
    app = make_app(pair_config(make_config), "pair", "Answer", tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, EditScreen), what="editor")
        screen = app.screen
        area = screen.query_one(TextArea)
        await pilot.pause()
        assert area.cursor_location == area.document.end  # where a person adds to a draft
        assert "Line 29 of the draft." in screen_text(app)  # and scrolled there
        await pilot.press("end", "!")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: screen.reviewing, what="the diff")
        await pilot.pause()
        assert "+Line 29 of the draft.!" in screen_text(app)
        assert "Back to editing [esc]" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen and not screen.reviewing  # back to editing, the edit kept
        assert area.text.endswith("Line 29 of the draft.!") and area.has_focus
        assert "Cancel [esc]" in screen_text(app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, EditScreen), what="the edit cancelled")
        assert waiting(app, RequestKind.MESSAGE)
        await pilot.press("s")
        await wait_until(pilot, lambda: app.cockpit.state.stopped, what="the stop")


async def test_the_cancel_button_in_the_diff_still_cancels(server, make_config, tmp_path):
    from tuiagents.ui.screens.edit_screen import EditScreen

    server.load([Rule(agent="coder", reply="Draft."), Rule(agent="user", reply="ok")])
    app = make_app(pair_config(make_config), "pair", "Answer", tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, EditScreen), what="editor")
        screen = app.screen
        screen.query_one(TextArea).text = "Changed."
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: screen.reviewing, what="the diff")
        await pilot.click("#edit-cancel")
        await wait_until(pilot, lambda: not isinstance(app.screen, EditScreen), what="the edit cancelled")
        assert waiting(app, RequestKind.MESSAGE)
        await pilot.press("s")
        await wait_until(pilot, lambda: app.cockpit.state.stopped, what="the stop")
