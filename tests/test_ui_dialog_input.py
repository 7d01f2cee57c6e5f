"""Dialogs where a person writes or edits text: ctrl+s sends exactly what was typed before it,
one Esc cancels, and the editor never hands a model's control characters or a key to the terminal."""

from __future__ import annotations

from textual import events
from textual.app import App
from textual.widgets import Static, TextArea

from tuiagents.secrets import register
from tuiagents.ui.screens.edit_screen import EditScreen
from tuiagents.ui.screens.inject_screen import InjectScreen


class _Host(App):
    def __init__(self, screen) -> None:
        super().__init__()
        self.dialog = screen
        self.result = "unset"

    def on_mount(self) -> None:
        def done(value) -> None:
            self.result = value
        self.push_screen(self.dialog, done)


def _type_fast(app: App, text: str, then: str) -> None:
    """Keys as a terminal delivers a paste or a fast typist: all queued before any is handled."""
    for ch in text:
        app.post_message(events.Key(ch, ch))
    app.post_message(events.Key(then, None))


async def test_inject_sends_everything_typed_before_ctrl_s():
    app = _Host(InjectScreen(["coder", "critic"]))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        app.screen.query_one(TextArea).focus()
        await pilot.pause()
        _type_fast(app, "also print the overall mean.", "ctrl+s")
        for _ in range(20):
            await pilot.pause()
        assert app.result != "unset", "ctrl+s did not send"
        assert app.result.text == "also print the overall mean."


async def test_one_escape_cancels_the_edit_dialog_even_with_the_cursor_in_the_editor():
    app = _Host(EditScreen("draft text", "Edit coder's message"))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert app.screen.query_one(TextArea).has_focus
        await pilot.press("escape")
        await pilot.pause()
        assert app.result is None and not isinstance(app.screen, EditScreen)


async def test_the_editor_shows_control_characters_and_keys_as_symbols_and_sends_what_it_shows():
    key = "sk-proj-EDITKEY1234567890abcdefghijklmnopqrstuv"
    register(key)
    draft = f"Clip:\x1b]52;c;cHduZWQ=\x1b\\ Title:\x1b]2;OWNED\x07 key: {key} done."
    app = _Host(EditScreen(draft, "Edit coder's message"))
    async with app.run_test(size=(160, 30)) as pilot:
        await pilot.pause()
        shown = app.screen.query_one(TextArea).text
        assert "\x1b" not in shown and "\x07" not in shown and key not in shown
        assert "␛]52;c;cHduZWQ=␛\\" in shown and "sk-…" in shown
        note = str(app.screen.query_one("#edit-note", Static).render())
        assert "shown as symbols" in note
        app.screen.query_one(TextArea).text = shown + " Edited."
        await pilot.press("ctrl+s")  # review the diff
        await pilot.press("ctrl+s")  # send
        await pilot.pause()
        assert app.result == shown + " Edited."
        assert key not in app.result and "\x1b" not in app.result
