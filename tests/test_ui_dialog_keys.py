"""Text typed right after a key that opens a dialog lands in the dialog, whole and in order.

A paste, a fast typist or an app busy for a moment delivers the dialog's key and the text after
it to the app together. Each test posts them the way the terminal driver does (all queued before
the first is handled), on the real app and engine against the scripted model server, for each
dialog a letter opens: inject (i), reject (r), edit (e) and reply (w). The tmux tests in
`tests/test_e2e_keys_tmux.py` do the same through a real terminal.
"""

from __future__ import annotations

import time

import pytest
from textual import events
from textual.widgets import TextArea
from ui_support import SIZE, make_app, pair_config, wait_until, waiting

from tuiagents.engine.decisions import RequestKind
from tuiagents.testing import Rule
from tuiagents.ui.screens.edit_screen import EditScreen
from tuiagents.ui.screens.inject_screen import InjectScreen
from tuiagents.ui.screens.prompt_screens import TextPromptScreen

TYPED = "hello world, every key"  # has e, r, w and i: keys the cockpit would take as controls
DRAFT = "Draft."
#: key -> (the request it needs, coder's human_input_mode, the dialog it opens)
DIALOGS = {
    "i": (RequestKind.MESSAGE, None, InjectScreen),
    "r": (RequestKind.MESSAGE, None, TextPromptScreen),
    "e": (RequestKind.MESSAGE, None, EditScreen),
    "w": (RequestKind.HUMAN_INPUT, "ALWAYS", TextPromptScreen),
}


def _key(ch: str) -> events.Key:
    """The Key event the terminal driver makes of one typed character."""
    names = {" ": "space", ",": "comma"}
    return events.Key(names.get(ch, ch), ch)


async def _type_after_dialog_key(server, make_config, tmp_path, key: str, stall: float | None) -> None:
    kind, mode, dialog = DIALOGS[key]
    server.load([Rule(agent="coder", reply=DRAFT), Rule(agent="user", reply="ok")])
    app = make_app(pair_config(make_config, coder_mode=mode), "pair", "Say hello", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        request = await wait_until(pilot, lambda: waiting(app, kind), what=f"a {kind.value} request")
        await pilot.pause()
        if stall is not None:
            app.call_later(lambda: time.sleep(0.4))  # the app frozen as the dialog key comes in
        for ch in key + TYPED:
            app.post_message(_key(ch))
            if stall is not None:
                app.call_later(lambda: time.sleep(stall))  # and busy again between the keys
        await wait_until(pilot, lambda: isinstance(app.screen, dialog) and TYPED[-3:] in
                         app.screen.query_one(TextArea).text, timeout=10, what="the typed text in the dialog")
        for _ in range(5):
            await pilot.pause()
        area = app.screen.query_one(TextArea)
        expected = DRAFT + TYPED if key == "e" else TYPED
        assert area.text == expected
        assert area.has_focus
        assert app.screen_stack[-2] is app.cockpit, "one dialog over the cockpit, no other opened by the text"
        assert waiting(app, kind) is request and not request.future.done(), "the typed text answered nothing"


@pytest.mark.parametrize("key", list(DIALOGS))
async def test_text_typed_with_the_dialog_key_in_one_read_lands_in_the_dialog(server, make_config, tmp_path, key):
    await _type_after_dialog_key(server, make_config, tmp_path, key, stall=None)


@pytest.mark.parametrize("key", list(DIALOGS))
async def test_text_typed_while_the_app_is_busy_lands_in_order(server, make_config, tmp_path, key):
    await _type_after_dialog_key(server, make_config, tmp_path, key, stall=0.03)


async def test_what_is_typed_after_ctrl_p_is_the_palettes_search(server, make_config, tmp_path):
    # The same rule for every screen a key opens: Textual's command palette too.
    from textual.command import CommandInput, CommandPalette

    server.load([Rule(agent="coder", reply=DRAFT), Rule(agent="user", reply="ok")])
    app = make_app(pair_config(make_config), "pair", "Say hello", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        app.post_message(events.Key("ctrl+p", None))
        for ch in "timeline":
            app.post_message(_key(ch))
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette)
                         and app.screen.query_one(CommandInput).value == "timeline", timeout=10,
                         what="the typed search in the palette")
