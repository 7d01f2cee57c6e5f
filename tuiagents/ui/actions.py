"""Every action of the app, described once: id, keys, label, help, where it applies, what it answers.

The key bindings (`tuiagents.ui.bindings`), the command palette, F1 help, the request panel's
buttons, the replay (which refuses live controls) and `[keymap]` remapping all read `ACTIONS`.
Adding a control means one `ActionSpec` here and its `action_<name>` method on the screen.

`[keymap]` in config.toml remaps an action by id (Textual's `App.set_keymap`), e.g.::

    [keymap]
    approve = "ctrl+y"
    toggle_timeline = "f3"
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from textual.binding import Binding

from tuiagents.engine.decisions import DecisionKind, DecisionRequest, RequestKind

D, K = DecisionKind, RequestKind


class Where(str, Enum):
    """Where an action's keys work (the F1 table's last column)."""

    COCKPIT = "cockpit"
    APP = "everywhere"
    REPLAY = "replay"
    SESSIONS = "sessions"
    TRANSCRIPT = "panes"
    DIALOG = "dialogs"


class InReplay(str, Enum):
    """What a cockpit action does in a replay."""

    WORKS = "works"  # same as live (the timeline toggle, moving between panes)
    HIDDEN = "hidden"  # works, differently, and is left out of the footer (p plays/pauses)
    REFUSED = "refused"  # a live control: pressing it explains that this is a replay


@dataclass(frozen=True)
class ActionSpec:
    """One action: its binding id (what `[keymap]` names), keys, words, and when it applies."""

    id: str
    keys: str
    label: str  # the footer's word
    where: Where
    help: str = ""  # F1, tooltips and the palette ("" : the label says it all)
    action: str = ""  # the Textual action (`action_<name>`); "" : the id
    title: str | None = None  # the command palette's title; None: not in the palette
    dialog: str = ""  # for Where.DIALOG: which dialog's bindings these are
    needs_live_run: bool = False  # only while a run is going on (not in a replay, not once stopped)
    needs_request: bool = False  # only while a request it answers waits
    answers: frozenset[DecisionKind] = frozenset()  # the decisions it sends for a request
    kinds: frozenset[RequestKind] | None = None  # the requests it answers (None: every kind)
    in_replay: InReplay = InReplay.WORKS
    button: str = ""  # the request panel's button label ("" : no button)
    variant: str = "default"  # the button's look
    key_display: str | None = None
    show: bool = True
    priority: bool = False
    #: How long the key stays in a footer too narrow for all: 0 always, higher ranks are hidden first.
    footer_rank: int = 2

    @property
    def name(self) -> str:
        """The Textual action name."""
        return self.action or self.id

    @property
    def text(self) -> str:
        """What it does, in a sentence (the help, else the label)."""
        return self.help or self.label

    def answers_request(self, request: DecisionRequest) -> bool:
        """True when this action can answer `request` (its kind, and a decision the request allows)."""
        if not self.answers or (self.kinds is not None and request.kind not in self.kinds):
            return False
        allowed = set(request.allowed) if request.allowed else set(DecisionKind)
        return bool(self.answers & allowed)

    def binding(self) -> Binding:
        """The Textual binding of this action."""
        return Binding(self.keys, self.name, self.label, id=self.id, key_display=self.key_display, show=self.show,
                       priority=self.priority, tooltip=self.help)


_C, _R = Where.COCKPIT, Where.REPLAY
_LIVE = dict(needs_live_run=True, in_replay=InReplay.REFUSED)
_ANSWER = dict(needs_request=True, in_replay=InReplay.REFUSED)
# what a person needs to decide, get help and leave stays in a narrow footer; other answers next
_KEEP, _NEXT = dict(footer_rank=0), dict(footer_rank=1)

ACTIONS: tuple[ActionSpec, ...] = (
    # -- the cockpit -------------------------------------------------------------------------------
    ActionSpec("approve", "a", "Approve", _C, "Approve the pending request as it is", title="Approve",
               answers=frozenset({D.APPROVE}), kinds=frozenset(set(K) - {K.CODE}),  # y / Enter run code
               button="Approve", variant="success", **_ANSWER, **_KEEP),
    ActionSpec("approve_session", "A", "Approve for session", _C,
               "Approve, and approve the same kind of request from this agent from now on "
               "(code: this language; a tool: this tool)", title="Approve for this session",
               answers=frozenset({D.APPROVE}), button="Approve for session", variant="primary", **_ANSWER, **_NEXT),
    ActionSpec("edit", "e", "Edit", _C, "Edit the draft, the code or a tool call's arguments", title="Edit",
               answers=frozenset({D.EDIT}), kinds=frozenset({K.MESSAGE, K.CODE, K.TOOL_CALL}), button="Edit",
               **_ANSWER, **_KEEP),
    ActionSpec("reject", "r", "Reject", _C, "Reject the draft with feedback for the agent",
               title="Reject with feedback", answers=frozenset({D.REJECT}), button="Reject…", variant="warning",
               **_ANSWER, **_KEEP),
    ActionSpec("run_code", "y,enter", "Run code", _C, "Run the proposed code", title="Run code", key_display="y",
               answers=frozenset({D.APPROVE}), kinds=frozenset({K.CODE}), button="Run", variant="success",
               **_ANSWER, **_KEEP),
    ActionSpec("skip", "x", "Skip", _C, "Do not run the code or tool; the agent is told", title="Skip code / tool",
               answers=frozenset({D.SKIP}), button="Skip", variant="warning", **_ANSWER, **_KEEP),
    ActionSpec("reply", "w", "Reply", _C, "Write the reply yourself", title="Reply yourself",
               answers=frozenset({D.REPLY}), button="Reply…", variant="primary", **_ANSWER, **_KEEP),
    ActionSpec("inject", "i", "Inject", _C, "Send a message to an agent or to all", title="Inject a message",
               answers=frozenset({D.INJECT}), kinds=frozenset({K.MESSAGE}), button="Inject…", **_LIVE, **_NEXT),
    ActionSpec("next_speaker", "n", "Next speaker", _C, "Choose who speaks next (or where a handoff goes)",
               title="Choose the next speaker",
               answers=frozenset({D.CHOOSE_SPEAKER}), kinds=frozenset({K.SPEAKER, K.HANDOFF}), button="Choose speaker…",
               variant="primary", **_LIVE, **_NEXT),
    ActionSpec("pause", "p", "Pause/resume", _C, "Pause before the next turn, or resume", title="Pause / resume",
               needs_live_run=True, in_replay=InReplay.HIDDEN),
    ActionSpec("stop", "s", "Stop", _C, "Stop the run", title="Stop the run", answers=frozenset({D.STOP}),
               button="Stop run", variant="error", **_LIVE, **_KEEP),
    ActionSpec("detach", "d", "Detach", _C, "Close this view and leave the run going in its own process "
               "(`tuiagents attach ID` comes back to it)", title="Detach from the run", **_LIVE, **_NEXT),
    ActionSpec("cancel_execution", "c", "Cancel code", _C, "Kill the running code", title="Cancel running code",
               **_LIVE, **_NEXT),
    ActionSpec("stages", "o", "Stages", _C, "Open the stages of a sequence: each one's summary and messages",
               title="Open the stages", show=False),
    ActionSpec("toggle_timeline", "t", "Timeline", _C, "Switch between the agent panes and the merged timeline",
               title="Toggle timeline"),
    ActionSpec("focus_next_pane", "tab", "Next pane", _C, show=False),
    ActionSpec("focus_previous_pane", "shift+tab", "Previous pane", _C, show=False),
    # -- everywhere --------------------------------------------------------------------------------
    ActionSpec("help", "f1", "Keys", Where.APP, "Every key, its id for [keymap], and what it does", action="show_bindings",
               title="Key bindings", **_KEEP),
    ActionSpec("interrupt", "ctrl+c", "Stop & quit", Where.APP, "Press twice to stop the run and quit",
               show=False, priority=True),
    ActionSpec("quit", "q", "Quit", Where.APP, "Quit (once the run has stopped)", action="quit_app", **_KEEP),
    ActionSpec("command_palette", "ctrl+p", "Commands", Where.APP,
               "Open the command palette (every control, themes, code styles)", show=False, priority=True),
    ActionSpec("sessions", "f2", "Sessions", Where.APP, "Live runs to attach to, and saved sessions: replay, resume, fork or delete one",
               action="open_sessions", title="Sessions", show=False),
    # -- the replay (priority, so a focused pane does not take the arrows) -------------------------
    ActionSpec("replay_play", "space", "Play/pause", _R, "Play the replay from here, or pause it",
               action="replay_toggle", title="Replay: play / pause", priority=True, **_KEEP),
    ActionSpec("replay_step_back", "left", "Step back", _R, "Un-show the last event", action="replay_back",
               title="Replay: step back", key_display="←", priority=True, **_NEXT),
    ActionSpec("replay_step_forward", "right", "Step", _R, "Show the next event", action="replay_forward",
               title="Replay: step forward", key_display="→", priority=True, **_NEXT),
    ActionSpec("replay_slower", "minus", "Slower", _R, "Play slower (down to 0.5x)", title="Replay: slower",
               key_display="-", priority=True),
    ActionSpec("replay_faster", "plus,equals_sign", "Faster", _R, "Play faster (up to 16x, then max)",
               title="Replay: faster", key_display="+", priority=True),
    ActionSpec("replay_jump", "g", "Jump to turn", _R, "Jump to turn N", title="Replay: jump to turn…"),
    ActionSpec("replay_start", "home", "Start", _R, "Jump to the start of the replay",
               title="Replay: jump to the start", show=False, priority=True),
    ActionSpec("replay_end", "end", "End", _R, "Jump to the end of the replay", title="Replay: jump to the end",
               show=False, priority=True),
    ActionSpec("replay_close", "escape", "Close replay", _R, "Close the replay and go back to the session list",
               title="Close the replay", **_KEEP),
    # -- the session browser (F2) ------------------------------------------------------------------
    ActionSpec("sessions_replay", "enter,v", "Replay", Where.SESSIONS,
               "Replay the selected session (no model or code is run)", action="replay", key_display="enter", **_KEEP),
    # "a" shows as Enter, which the focused live runs list takes first (as "v" does for Replay)
    ActionSpec("sessions_attach", "enter,a", "Attach", Where.SESSIONS,
               "Attach the cockpit to the highlighted live run", action="attach", key_display="enter", **_KEEP),
    ActionSpec("sessions_resume", "r", "Resume", Where.SESSIONS, "Continue the selected session live",
               action="resume", **_KEEP),
    ActionSpec("sessions_fork", "f", "Fork at…", Where.SESSIONS, "Start a new session from event N of this one",
               action="fork", **_NEXT),
    ActionSpec("sessions_delete", "d,delete", "Delete…", Where.SESSIONS, "Delete the selected session (asks first)",
               action="delete", key_display="d", **_NEXT),
    ActionSpec("sessions_live", "tab", "Live runs", Where.SESSIONS,
               "Go to the live runs (↑ on the first saved session does too)", action="focus_live", **_KEEP),
    ActionSpec("sessions_saved", "tab", "Saved sessions", Where.SESSIONS,
               "Go to the saved sessions (↓ on the last live run does too)", action="focus_saved", **_KEEP),
    ActionSpec("sessions_other_list", "shift+tab", "Other list", Where.SESSIONS,
               "Switch between the live runs and the saved sessions", action="other_list", show=False),
    ActionSpec("sessions_refresh", "ctrl+r", "Refresh", Where.SESSIONS, "List the sessions again",
               action="refresh", show=False),
    ActionSpec("sessions_close", "escape", "Close", Where.SESSIONS, "Back to where you were", action="close", **_KEEP),
    # -- a focused transcript (agent panes, the timeline, the full view of a long message) ---------
    ActionSpec("show_full", "v", "See all", Where.TRANSCRIPT,
               "Show all of a long message or code block that is cut on screen", action="show_full_visible",
               show=False),
    ActionSpec("toggle_fold", "z", "Fold", Where.TRANSCRIPT,
               "Fold or unfold the nested chat on screen (a click on its header does too)",
               action="toggle_fold_visible", show=False),
    # -- the dialogs -------------------------------------------------------------------------------
    # ctrl+s is not a priority key: it must wait behind the keys typed before it (a fast typist, a
    # paste), or it would send the text as it was a moment earlier.
    ActionSpec("edit_review", "ctrl+s", "Review diff / send", Where.DIALOG, action="review", dialog="edit"),
    ActionSpec("edit_external", "ctrl+o", "Open in $EDITOR", Where.DIALOG, action="external", dialog="edit"),
    # priority: the editor would take the first Esc to move the focus instead of cancelling.
    ActionSpec("edit_cancel", "escape", "Back / cancel", Where.DIALOG,
               "In the diff: back to editing; in the editor: close without sending", action="cancel",
               dialog="edit", priority=True),
    ActionSpec("prompt_send", "ctrl+s", "Send", Where.DIALOG, action="send", dialog="prompt"),
    ActionSpec("prompt_cancel", "escape", "Cancel", Where.DIALOG, action="cancel", dialog="prompt"),
    ActionSpec("inject_send", "ctrl+s", "Send", Where.DIALOG, action="send", dialog="inject"),
    ActionSpec("inject_cancel", "escape", "Cancel", Where.DIALOG, action="cancel", dialog="inject"),
    ActionSpec("pick_cancel", "escape", "Cancel", Where.DIALOG, action="cancel", dialog="pick"),
    ActionSpec("number_cancel", "escape", "Cancel", Where.DIALOG, action="cancel", dialog="number"),
    ActionSpec("confirm_yes", "y", "Yes", Where.DIALOG, action="confirm", dialog="confirm"),
    ActionSpec("confirm_no", "n,escape", "No", Where.DIALOG, action="cancel", dialog="confirm"),
    ActionSpec("full_text_close", "escape,q", "Close", Where.DIALOG, "Close the full view of a long message",
               action="close", dialog="full_text", key_display="escape"),
    ActionSpec("help_close", "escape,q,f1", "Close", Where.DIALOG, "Close the key bindings", action="dismiss_help",
               dialog="help"),
    ActionSpec("task_start", "ctrl+s", "Start", Where.DIALOG, "Start the run on the task", action="start",
               dialog="task"),
    ActionSpec("problem_quit", "q,escape", "Quit", Where.DIALOG, action="app.quit", dialog="problem"),
    ActionSpec("sandbox_skip", "n,escape", "Go on without code", Where.DIALOG, action="without_code",
               dialog="sandbox"),
    ActionSpec("setup_save", "ctrl+s", "Write config", Where.DIALOG, action="save", dialog="setup", priority=True),
    ActionSpec("setup_probe", "ctrl+t", "Test the server", Where.DIALOG, action="probe", dialog="setup",
               priority=True),
    ActionSpec("setup_keep", "escape", "Keep it", Where.DIALOG, action="keep", dialog="setup_keep"),
    ActionSpec("replay_loading_cancel", "escape", "Back", Where.DIALOG, action="cancel", dialog="replay_loading"),
)

#: The actions by id (the `[keymap]` names).
BY_ID: dict[str, ActionSpec] = {a.id: a for a in ACTIONS}
#: The cockpit's actions by Textual action name (what `check_action` is asked about).
COCKPIT_BY_NAME: dict[str, ActionSpec] = {a.name: a for a in ACTIONS if a.where is Where.COCKPIT}


def actions_of(where: Where, dialog: str = "") -> list[ActionSpec]:
    """The actions of one place (one dialog's, for `Where.DIALOG`), in registry order."""
    return [a for a in ACTIONS if a.where is where and (not dialog or a.dialog == dialog)]


def bindings_of(where: Where, dialog: str = "") -> list[Binding]:
    """The Textual bindings of one place, for a screen's or widget's `BINDINGS`."""
    return [a.binding() for a in actions_of(where, dialog)]


def refused_in_replay() -> list[ActionSpec]:
    """The cockpit's live controls: in a replay their keys only explain that it is a replay."""
    return [a for a in ACTIONS if a.where is Where.COCKPIT and a.in_replay is InReplay.REFUSED]


def palette(where: Where, *, replay: bool = False) -> list[ActionSpec]:
    """The command palette's entries of a place (in a replay: its own and the cockpit's that work there)."""
    out = [a for a in actions_of(where) if a.title]
    if replay:
        out += [a for a in actions_of(Where.COCKPIT) if a.title and a.in_replay is InReplay.WORKS]
    return out
