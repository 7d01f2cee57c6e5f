"""Every key binding of the app, with a stable id and a description.

`[keymap]` in config.toml remaps a binding by id (Textual's `App.set_keymap`), e.g.::

    [keymap]
    approve = "ctrl+y"
    toggle_timeline = "f3"

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
    Binding("f2", "open_sessions", "Sessions", id="sessions", show=False,
            tooltip="Browse saved sessions: replay, resume, fork or delete one"),
]

#: The replay's controls (`tuiagents replay`); priority, so a focused pane does not take the arrows.
REPLAY_BINDINGS: list[Binding] = [
    Binding("space", "replay_toggle", "Play/pause", id="replay_play", priority=True,
            tooltip="Play the replay from here, or pause it"),
    Binding("left", "replay_back", "Step back", id="replay_step_back", key_display="←", priority=True,
            tooltip="Un-show the last event"),
    Binding("right", "replay_forward", "Step", id="replay_step_forward", key_display="→", priority=True,
            tooltip="Show the next event"),
    Binding("minus", "replay_slower", "Slower", id="replay_slower", key_display="-", priority=True,
            tooltip="Play slower (down to 0.5x)"),
    Binding("plus,equals_sign", "replay_faster", "Faster", id="replay_faster", key_display="+", priority=True,
            tooltip="Play faster (up to 16x, then max)"),
    Binding("g", "replay_jump", "Jump to turn", id="replay_jump", tooltip="Jump to turn N"),
    Binding("home", "replay_start", "Start", id="replay_start", show=False, priority=True,
            tooltip="Jump to the start of the replay"),
    Binding("end", "replay_end", "End", id="replay_end", show=False, priority=True,
            tooltip="Jump to the end of the replay"),
    Binding("escape", "replay_close", "Close replay", id="replay_close",
            tooltip="Close the replay and go back to the session list"),
]

#: The session browser's controls (F2).
SESSIONS_BINDINGS: list[Binding] = [
    Binding("enter,v", "replay", "Replay", id="sessions_replay", key_display="enter",
            tooltip="Replay the selected session (no model or code is run)"),
    Binding("r", "resume", "Resume", id="sessions_resume", tooltip="Continue the selected session live"),
    Binding("f", "fork", "Fork at…", id="sessions_fork", tooltip="Start a new session from event N of this one"),
    Binding("d,delete", "delete", "Delete…", id="sessions_delete", key_display="d",
            tooltip="Delete the selected session (asks first)"),
    Binding("ctrl+r", "refresh", "Refresh", id="sessions_refresh", show=False, tooltip="List the sessions again"),
    Binding("escape", "close", "Close", id="sessions_close", tooltip="Back to where you were"),
]

#: A focused transcript's controls (agent panes, the timeline, the full view of a long message).
TRANSCRIPT_BINDINGS: list[Binding] = [
    Binding("v", "show_full_visible", "See all", id="show_full", show=False,
            tooltip="Show all of a long message or code block that is cut on screen"),
]


def dialog_bindings() -> list[Binding]:
    """The bindings of the dialogs (edit, prompts, inject, pick), which have ids too."""
    from tuiagents.ui.screens.edit_screen import EditScreen
    from tuiagents.ui.screens.full_text_screen import FullTextScreen
    from tuiagents.ui.screens.inject_screen import InjectScreen
    from tuiagents.ui.screens.prompt_screens import PickScreen, TextPromptScreen
    from tuiagents.ui.screens.replay_dialogs import ConfirmScreen, NumberPromptScreen

    out: list[Binding] = []
    for screen in (EditScreen, TextPromptScreen, InjectScreen, PickScreen, NumberPromptScreen, ConfirmScreen,
                   FullTextScreen):
        out += [b for b in screen.BINDINGS if isinstance(b, Binding) and b.id]
    return out


def all_bindings() -> list[Binding]:
    """Every binding with an id: the cockpit's, the app's, the replay's, the session browser's, the dialogs'."""
    return [*COCKPIT_BINDINGS, *APP_BINDINGS, *REPLAY_BINDINGS, *SESSIONS_BINDINGS, *TRANSCRIPT_BINDINGS,
            *dialog_bindings()]


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
