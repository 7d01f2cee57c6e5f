"""Every key binding of the app, with a stable id and a description.

`[keymap]` in config.toml remaps a binding by id (Textual's `App.set_keymap`), e.g.::

    [keymap]
    approve = "ctrl+y"
    toggle_timeline = "f2"

F1 lists them all with their current keys.
"""

from __future__ import annotations

from textual.binding import Binding

#: The cockpit's controls; the action name is the binding id.
COCKPIT_BINDINGS: list[Binding] = [
    Binding("a", "approve", "Approve", id="approve", tooltip="Approve the pending request as it is"),
    Binding("A", "approve_session", "Approve for session", id="approve_session",
            tooltip="Approve, and approve the same kind of request from this agent from now on "
                    "(code: always allow this agent and language)"),
    Binding("e", "edit", "Edit", id="edit", tooltip="Edit the draft (or the code, then run it)"),
    Binding("r", "reject", "Reject", id="reject", tooltip="Reject the draft with feedback for the agent"),
    Binding("y,enter", "run_code", "Run code", id="run_code", key_display="y", tooltip="Run the proposed code"),
    Binding("x", "skip", "Skip", id="skip", tooltip="Do not run the code or tool; the agent is told"),
    Binding("w", "reply", "Reply", id="reply", tooltip="Write the reply yourself"),
    Binding("i", "inject", "Inject", id="inject", tooltip="Send a message to an agent or to all"),
    Binding("n", "next_speaker", "Next speaker", id="next_speaker", tooltip="Choose who speaks next"),
    Binding("p", "pause", "Pause/resume", id="pause", tooltip="Pause before the next turn, or resume"),
    Binding("s", "stop", "Stop", id="stop", tooltip="Stop the run"),
    Binding("c", "cancel_execution", "Cancel code", id="cancel_execution", tooltip="Kill the running code"),
    Binding("t", "toggle_timeline", "Timeline", id="toggle_timeline",
            tooltip="Switch between the agent panes and the merged timeline"),
    Binding("tab", "focus_next_pane", "Next pane", id="focus_next_pane", show=False),
    Binding("shift+tab", "focus_previous_pane", "Previous pane", id="focus_previous_pane", show=False),
]

#: App-wide bindings.
APP_BINDINGS: list[Binding] = [
    Binding("f1", "show_bindings", "Keys", id="help", tooltip="Show every key binding and its id"),
    Binding("ctrl+c", "interrupt", "Stop & quit", id="interrupt", show=False, priority=True,
            tooltip="Press twice to stop the run and quit"),
    Binding("q", "quit_app", "Quit", id="quit", tooltip="Quit (once the run has stopped)"),
    Binding("ctrl+p", "command_palette", "Commands", id="command_palette", show=False, priority=True,
            tooltip="Open the command palette (every control, themes, code styles)"),
]



def dialog_bindings() -> list[Binding]:
    """The bindings of the dialogs (edit, prompts, inject, pick), which have ids too."""
    from tuiagents.ui.screens.edit_screen import EditScreen
    from tuiagents.ui.screens.inject_screen import InjectScreen
    from tuiagents.ui.screens.prompt_screens import PickScreen, TextPromptScreen

    out: list[Binding] = []
    for screen in (EditScreen, TextPromptScreen, InjectScreen, PickScreen):
        out += [b for b in screen.BINDINGS if isinstance(b, Binding) and b.id]
    return out


def all_bindings() -> list[Binding]:
    """Every binding with an id: the cockpit's, the app's, then the dialogs'."""
    return [*COCKPIT_BINDINGS, *APP_BINDINGS, *dialog_bindings()]


def known_ids() -> set[str]:
    """Ids a `[keymap]` entry may name."""
    return {b.id for b in all_bindings() if b.id}


def check_keymap(keymap: dict[str, str]) -> list[str]:
    """Problems with a `[keymap]` table, as sentences (unknown ids, empty keys)."""
    problems = []
    ids = known_ids()
    for bid, keys in keymap.items():
        if bid not in ids:
            problems.append(f"[keymap] {bid!r} is not a binding id; known ids: {', '.join(sorted(ids))}")
        elif not str(keys).strip():
            problems.append(f"[keymap] {bid!r} has no key; give one such as \"ctrl+y\"")
    return problems
