"""The edit dialog says when the text being edited holds invisible or direction-changing
characters: the TextArea shows them raw, so the person must be told before sending."""

from __future__ import annotations

from textual.app import App
from textual.widgets import Static, TextArea

from tuiagents.ui.screens.edit_screen import EditScreen

TRICK = 'access = "user\u202e \u2066# admin\u2069 \u2066"'


class _Host(App):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def on_mount(self) -> None:
        self.push_screen(EditScreen(self.text, "Edit coder's code", language="python"))


def _warning(app: App) -> Static:
    return app.screen.query_one("#edit-hidden", Static)


async def test_edit_dialog_warns_about_hidden_characters_and_follows_edits():
    app = _Host(TRICK)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        warning = _warning(app)
        assert warning.display
        shown = str(warning.render())
        assert "⟨RLO⟩" in shown and "read differently" in shown
        app.screen.query_one(TextArea).text = "access = 'user'"
        await pilot.pause()
        assert not _warning(app).display


async def test_edit_dialog_without_hidden_characters_shows_no_warning():
    app = _Host("print('hello')")
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert not _warning(app).display
        app.screen.query_one(TextArea).text = "print('he\u200bllo')"
        await pilot.pause()
        assert _warning(app).display and "⟨ZWSP⟩" in str(_warning(app).render())
