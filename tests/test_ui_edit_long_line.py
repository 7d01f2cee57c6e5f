"""The edit dialog on a draft holding one huge line (a model's 2 MB reply on a single line).

Wrapped, such a line made every key in the dialog cost seconds: each key rewrapped the whole
line and each visible row cut its piece from the whole line again. The dialog turns wrapping off
for such a text and says why; every character of the draft still reaches the run.
"""

from __future__ import annotations

from textual.widgets import TextArea
from ui_support import SIZE, make_app, pair_config, screen_text, wait_until, waiting

from tuiagents.engine.decisions import RequestKind
from tuiagents.testing import Rule
from tuiagents.ui.screens.edit_screen import EditScreen

BIG = "BIG " + "x" * 2_000_000 + " END"


async def test_edit_of_a_2_mb_line_draft_turns_wrapping_off_and_sends_every_character(server, make_config, tmp_path):
    server.load([Rule(agent="coder", reply=BIG), Rule(agent="user", reply="ok")])
    app = make_app(pair_config(make_config), "pair", "Answer", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), timeout=60, what="coder's draft")
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, EditScreen), timeout=30, what="editor")
        area = app.screen.query_one(TextArea)
        assert area.text == BIG
        assert not area.soft_wrap
        assert "wrapping is off" in screen_text(app).lower()
        await pilot.press("ctrl+end", "!", "ctrl+s")
        await wait_until(pilot, lambda: app.screen.reviewing, timeout=30, what="the diff")
        shown = screen_text(app)
        assert "END!" in shown  # the diff shows where the line changed
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: [m for m in app.cockpit.run.transcript if m.sender == "coder"],
                         timeout=30, what="edited delivery")
        message = next(m for m in app.cockpit.run.transcript if m.sender == "coder")
        assert message.human_edited and message.content == BIG + "!"
        assert message.original == BIG


async def test_edit_of_a_short_draft_keeps_wrapping_on(server, make_config, tmp_path):
    server.load([Rule(agent="coder", reply="A short draft. " * 40), Rule(agent="user", reply="ok")])
    app = make_app(pair_config(make_config), "pair", "Answer", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, EditScreen), what="editor")
        assert app.screen.query_one(TextArea).soft_wrap
        assert "wrapping is off" not in screen_text(app).lower()


def test_the_diff_of_a_long_line_shows_the_change_in_its_context_and_says_what_it_left_out():
    from tuiagents.ui.screens.edit_screen import DIFF_CONTEXT, diff_text

    old = "a" * 50_000 + "OLD" + "b" * 50_000
    new = "a" * 50_000 + "NEW" + "b" * 50_000
    shown = diff_text(old, new).plain
    assert "-" + f"…({50_000 - DIFF_CONTEXT:,} characters)…" + "a" * DIFF_CONTEXT + "OLD" in shown
    assert "+" + f"…({50_000 - DIFF_CONTEXT:,} characters)…" + "a" * DIFF_CONTEXT + "NEW" in shown
    assert len(shown) < 2_000
    # a line added alone shows its two ends
    added = diff_text("x", "x\n" + "S" + "c" * 20_000 + "E").plain
    assert "+S" in added and "E\n" in added and "characters)…" in added
    # short lines are shown whole
    assert "-short old" in diff_text("short old", "short new").plain


def test_the_tab_fast_path_answers_as_textual_does():
    import textual.expand_tabs as textual_tabs

    from tuiagents.ui.widgets import long_lines

    for line in ["", "abc", "a\tb", "\t", "日本\tx\t", "x" * 5000, "ab\t\tc", "é\t"]:
        for size in (2, 4, 8):
            assert long_lines.tab_widths(line, size) == long_lines._textual_tab_widths(line, size)
            assert long_lines.expand_tabs_inline(line, size) == "".join(
                part + width * " " for part, width in long_lines._textual_tab_widths(line, size))
    assert textual_tabs.get_tab_widths is long_lines._textual_tab_widths  # textual's own is kept as is


def test_a_long_removed_line_that_starts_like_a_header_is_still_cut():
    from tuiagents.ui.screens.edit_screen import diff_text

    old = "-- " + "q" * 30_000
    shown = diff_text(old, "-- " + "q" * 29_999 + "!").plain
    assert len(shown) < 2_000 and "!" in shown
