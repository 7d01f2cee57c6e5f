"""The cockpit's controls: every binding's action, which ones apply now, and the palette entries.

Controls that answer a request act on the *current* request (the oldest pending one unless you
picked another in the queue). Dialog results are applied to the request that was current when
the dialog opened; if it was answered meanwhile (e.g. the run stopped), you are told so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.message import Message
from textual.screen import ModalScreen

from tuiagents.engine.decisions import (
    ApprovalRule,
    Decision,
    DecisionKind,
    RequestKind,
    Scope,
    Sender,
    person_words,
)
from tuiagents.engine.events import DecisionRequested
from tuiagents.engine.handle import (
    Answered, CancelCode, Control, ControlDone, ForceNextSpeaker, InjectMessage, PauseRun, ResumeRun, RunHandle, StopRun,
)
from tuiagents.engine.tool_args import compact_arguments
from tuiagents.ui.actions import COCKPIT_BY_NAME, Where, palette
from tuiagents.ui.safe_text import one_line
from tuiagents.ui.screens.answered_elsewhere import show_answered_elsewhere
from tuiagents.ui.screens.edit_screen import EditScreen
from tuiagents.ui.screens.inject_screen import InjectRequest, InjectScreen
from tuiagents.ui.screens.prompt_screens import PickScreen, TextPromptScreen
from tuiagents.ui.screens.tool_args_screen import ToolArgsScreen
from tuiagents.ui.state import RUNNING_CODE, CockpitState

#: Requests answered by picking an agent: who speaks next, and where a handoff goes.
_PICKS = (RequestKind.SPEAKER, RequestKind.HANDOFF)

def code_for_edit(request: Any) -> tuple[str, str | None]:
    """The text to edit for a code request, and its language (None when several blocks are fenced)."""
    blocks = [b for b in request.code_blocks if b.runnable]
    if len(blocks) == 1:
        return blocks[0].code, blocks[0].language
    return "\n\n".join(f"```{b.language}\n{b.code.rstrip()}\n```" for b in blocks), None


class AnswerRefused(Message):
    """The run refused an answer after the view showed it (see `RunHandle.answer`)."""

    def __init__(self, answered: Answered) -> None:
        super().__init__()
        self.answered = answered


class ControlRefused(Message):
    """The run did not apply a control after the view took it as sent (see `RunHandle.control`)."""

    def __init__(self, done: ControlDone) -> None:
        super().__init__()
        self.done = done


class CockpitActions:
    """Mixin of the cockpit's actions; the screen it is mixed into provides what is declared here."""

    # Declared, not defined: `CockpitScreen` sets them (this module does not import it, which
    # would be an import circle).
    run: Any
    handle: RunHandle | None
    sender: Sender
    state: CockpitState
    panes: dict[str, Any]
    timeline: Any
    current_request_id: str | None
    #: request id -> the dialog open to answer it (edit, reject, reply, pick)
    answer_dialogs: dict[str, ModalScreen[Any]]
    current_request: Callable[[], DecisionRequested | None]
    refresh_chrome: Callable[[], None]
    #: a stop of the whole run this view sent, taken as given until the run refuses it (its
    #: StopRequested may not have come back yet)
    stop_sent: bool = False
    post_message: Callable[[Message], bool]
    show_answer_first: Callable[[], None]
    _reveal: Callable[[str], None]

    # -- what applies now -------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide controls that do not apply to the run or the current request (the registry says which)."""
        spec = COCKPIT_BY_NAME.get(action)
        if spec is None:
            return True
        live = self.handle is not None and not self.state.stopped
        current = self.current_request() if live else None
        if spec.needs_request:
            return current is not None and spec.answers_request(current.request)
        if spec.needs_live_run and not live:
            return False
        if action == "next_speaker":
            return self.state.is_group or (current is not None and current.request.kind in _PICKS)
        if action == "cancel_execution":
            return any(a.state == RUNNING_CODE for a in self.state.agents.values())
        if action == "detach":  # only a run in its own process can go on without this view
            return self.handle is not None and not self.handle.local
        return True

    def command_entries(self) -> list[tuple[str, str, str]]:
        """Palette entries (action, title, help) for the controls that apply now."""
        return [(a.name, a.title or a.label, a.text) for a in palette(Where.COCKPIT)
                if self.check_action(a.name, ()) is True]

    # -- answering --------------------------------------------------------------------------------
    def _answer(self, event: DecisionRequested | None, decision: Decision) -> bool:
        if event is None:
            self.notify("Nothing is waiting for you right now.", severity="warning")
            return False
        if self.handle is None:
            self.notify("This is a replay: decisions cannot be changed.", severity="warning")
            return False
        # a run in another process may refuse the answer after it shows (another view's crossed
        # it): it then comes back as `AnswerRefused`, posted from the handle's reader thread
        answered = self.handle.answer(event.request.id, decision, self.sender,
                                      on_refused=lambda late: self.post_message(AnswerRefused(late)))
        if not answered.accepted:
            self.notify(f"Not sent: {answered.reason}.", severity="warning")
            return False
        self.show_answer_first()
        self.refresh_chrome()
        return True

    def _answer_with(self, current: DecisionRequested, dialog: ModalScreen[Any],
                     decide: Callable[[Any], Decision]) -> None:
        """Open `dialog` for the request `current`; what it returns answers it (None: cancelled).

        Should the request be answered meanwhile (another view, a stop), the dialog says so at once
        (`mark_dialogs_answered`) and stays open, so no key typed for it lands in the cockpit.
        """
        rid = current.request.id
        self.answer_dialogs[rid] = dialog

        def done(result: Any) -> None:
            if self.answer_dialogs.get(rid) is dialog:
                del self.answer_dialogs[rid]
            if result is not None:
                self._answer(current, decide(result))

        self.app.push_screen(dialog, done)

    def mark_dialogs_answered(self) -> None:
        """Tell each open answer dialog whose request is no longer open what became of it."""
        if self.handle is None:
            return
        for rid, dialog in list(self.answer_dialogs.items()):
            if self.handle.is_open(rid) or not dialog.is_attached:
                continue
            what = self.closed_words(rid)
            show_answered_elsewhere(dialog, f"{what[0].upper()}{what[1:]}. Nothing sent from here is taken; Esc closes.")
            del self.answer_dialogs[rid]

    def closed_words(self, request_id: str) -> str:
        """What closed `request_id`, for this viewer: another answer ("answered already: rejected:
        …, by ann"), or a stop ("the run stopped: stopped by ann"). A stop closes every open
        request with a STOP decision, which is not an answer to speak of as one."""
        decision = self.handle.answer_of(request_id) if self.handle is not None else None
        if decision is not None and decision.kind != DecisionKind.STOP:
            return f"answered already: {one_line(decision.describe(self.state.viewer), 160)}"
        if self.state.stopped:
            words = self.state.stop_words()
        elif decision is not None:
            words = f"stopped by {person_words(decision.sender, self.state.viewer)}"
        else:
            words = self.stopping_words()
        return f"the run stopped: {one_line(words or 'no answer is taken', 160)}"

    def on_answer_refused(self, message: AnswerRefused) -> None:
        """The run refused an answer this view showed as given: say so, and show the request as it is."""
        self.notify(f"Not sent: {message.answered.reason}.", severity="warning")
        self.refresh_chrome()

    def action_approve(self) -> None:
        """Approve the current request as it is."""
        self._answer(self.current_request(), Decision.approve())

    def action_run_code(self) -> None:
        """Run the proposed code."""
        self._answer(self.current_request(), Decision.approve())

    def action_approve_session(self) -> None:
        """Approve for the session; for code: always allow this agent and language."""
        current = self.current_request()
        if current is None:
            return self.notify("Nothing is waiting for you right now.", severity="warning")
        request = current.request
        if request.kind == RequestKind.CODE:
            language = next(iter(sorted(request.languages)), None)
            rule = ApprovalRule(kind=RequestKind.CODE, agent=request.agent, language=language)
            self._answer(current, Decision.approve(scope=Scope.RULE, rule=rule))
        else:
            self._answer(current, Decision.approve(scope=Scope.SESSION))

    def action_skip(self) -> None:
        """Do not run the code or tool."""
        self._answer(self.current_request(), Decision.skip())

    def action_edit(self) -> None:
        """Edit the draft (or the code, or a tool call's arguments, then run it); the diff is shown
        before sending."""
        current = self.current_request()
        if current is None:
            return self.notify("Nothing to edit: no draft is waiting.", severity="warning")
        request = current.request
        if request.kind == RequestKind.TOOL_CALL and len(request.tool_calls) == 1:
            call = request.tool_calls[0]
            title = (f"Edit the arguments of {one_line(request.agent, 20)}'s call of {one_line(call.name, 40)}, "
                     f"then run it")
            screen = ToolArgsScreen(call.arguments, request.tool_info, call.name, title)
            # sent as a model sends arguments: the JSON on one line (the editor checked it)
            self._answer_with(current, screen, lambda text: Decision.edit(compact_arguments(text)))
            return
        if request.kind == RequestKind.CODE:
            text, language = code_for_edit(request)
            title = f"Edit {one_line(request.agent, 20)}'s code, then run it"
            screen = EditScreen(text, title, language=language, send_label="Run edited code")
        else:
            screen = EditScreen(request.content, f"Edit {one_line(request.agent, 20)}'s draft",
                                send_label="Send edited message")
        self._answer_with(current, screen, Decision.edit)

    def action_reject(self) -> None:
        """Reject the draft (or refuse a handoff); your feedback goes back to the agent."""
        current = self.current_request()
        if current is None:
            return self.notify("Nothing to reject: no draft is waiting.", severity="warning")
        agent = one_line(current.request.agent, 20)
        if current.request.kind == RequestKind.HANDOFF:
            screen = TextPromptScreen(f"Refuse {agent}'s handoff", hint=f"{agent} keeps the conversation and reads why.",
                                      empty_error="Feedback is empty: tell the agent why, or press Esc.",
                                      send_label="Refuse the handoff")
            self._answer_with(current, screen, Decision.reject)
            return
        screen = TextPromptScreen(f"Reject {agent}'s draft", hint=f"Your feedback goes back to {agent}, which writes a new reply.",
                                  empty_error="Feedback is empty: tell the agent what to change, or press Esc.",
                                  send_label="Reject with feedback")
        self._answer_with(current, screen, Decision.reject)

    def action_reply(self) -> None:
        """Write the reply yourself."""
        current = self.current_request()
        if current is None:
            return self.notify("Nobody is waiting for your reply.", severity="warning")
        agent = one_line(current.request.agent, 20)
        screen = TextPromptScreen(f"Reply as you, in {agent}'s turn", hint=one_line(current.request.prompt, 200),
                                  empty_error="The reply is empty: type it, or press Esc.", send_label="Send reply")
        self._answer_with(current, screen, Decision.reply)

    # -- controls at any time ------------------------------------------------------------------
    def action_inject(self) -> None:
        """Send your message to an agent or to all, queued for the next turn or now."""
        if self.handle is None:
            return
        current = self.current_request()
        hint = "Queued: delivered before the next turn. Now: delivered at once"
        if current is not None and current.request.kind == RequestKind.MESSAGE:
            hint += f" ({one_line(current.request.agent, 20)} then rewrites its pending draft)"
        focused = self.state.agent(self.focused_agent())  # a user proxy is you: default to everyone then
        target = focused.name if focused is not None and focused.info.kind != "user_proxy" else "all"
        self.app.push_screen(InjectScreen(list(self.state.agents), target=target, hint=hint + "."),
                             lambda result: result is not None and self._inject(result, current))

    def _inject(self, result: InjectRequest, current: DecisionRequested | None) -> None:
        if self.handle is None or self.state.stopped:
            return self.notify("The run has stopped; nothing can be injected.", severity="warning")
        if (result.now and current is not None and self.handle is not None and self.handle.is_open(current.request.id)
                and current.request.kind == RequestKind.MESSAGE
                and DecisionKind.INJECT in (current.request.allowed or [DecisionKind.INJECT])):
            self._answer(current, Decision.inject(result.text, target=result.target, now=True))
            return
        if not self._control(InjectMessage(text=result.text, target=result.target, now=result.now)):
            return
        # the engine announces the message (MessageQueued, or MessageDelivered when now): shown from there
        self.notify(f"Message for {result.target} {'delivered now' if result.now else 'queued for the next turn'}.")

    def action_next_speaker(self) -> None:
        """Choose who speaks next (answers a speaker request, or overrides the next selection)."""
        current = self.current_request()
        if current is not None and current.request.kind in _PICKS:
            request = current.request
            options = [(c, c + ("  (asked for)" if c == request.target else "")) for c in request.candidates]
            title = "Hand the conversation to…" if request.kind == RequestKind.HANDOFF else "Who speaks next?"
            self._answer_with(current, PickScreen(title, options, current=request.target,
                                                  hint=one_line(request.prompt, 200)), Decision.choose)
            return
        if self.handle is None:
            return
        options = [(n, f"{n}  ({v.info.description or v.info.kind})") for n, v in self.state.agents.items()]
        self.app.push_screen(PickScreen("Who speaks next?", options, current=self.state.next_speaker,
                                        hint="Overrides the selection method for the next round."),
                             self._set_next_speaker)

    def _set_next_speaker(self, name: str | None) -> None:
        if name is None or self.handle is None:
            return
        self._control(ForceNextSpeaker(agent=name))
        # the engine announces the pick (NextSpeakerForced): the status bar shows it from there

    def action_pause(self) -> None:
        """Pause before the next turn, or resume."""
        pausing = not self.state.paused
        if self.handle is None or not self._control(PauseRun() if pausing else ResumeRun()):
            return
        # the engine announces it (RunPaused / RunResumed), which the status bar shows, live and in replay
        self.notify("Paused: the run holds before its next turn (p resumes)." if pausing else "Resumed.")

    def action_stop(self) -> None:
        """Stop the run."""
        if self.handle is None or self.state.stopped:
            return
        if self._control(StopRun()):  # announced by the engine as StopRequested, shown from there
            self.notify("Stopping the run…")  # at once: a run whose process is busy says so later

    def stopping_words(self) -> str | None:
        """Who asked the run to stop, for this viewer ("you asked it to stop"), once a stop of the
        whole run was asked and the run has not ended yet; None otherwise.

        A stop asked while code runs ends the run only once the block is killed: until then the run
        is not stopped, but it is not going on either."""
        if self.state.stopped:
            return None
        asked = self.state.controls.stop_requested
        if asked is not None:
            who = person_words(asked.sender, self.state.viewer)
        elif self.stop_sent:
            who = "you"
        else:
            return None
        return f"{who} asked it to stop"

    def action_detach(self) -> None:
        """Leave the run going in its own process and close this view (a run asked to stop is not
        said to go on: it ends in its own process)."""
        if self.handle is None or self.handle.local:
            return self.notify("This run lives in this app's process (a resumed run or the demo): it cannot go "
                               "on without it. Start runs with `tuiagents run --detach` to leave them.",
                               severity="warning")
        run_id = self.handle.run_id
        stopping = self.stopping_words()
        if stopping is not None:
            self.app.exit_note = (f"Run {run_id} is stopping ({stopping}): it ends in its own process, with "
                                  "nothing to come back to. `tuiagents sessions` shows how it ended.")
        else:
            self.app.exit_note = f"Run {run_id} goes on in its own process. Come back with: tuiagents attach {run_id}"
        self.app.exit(0)

    def action_cancel_execution(self) -> None:
        """Kill the running code block."""
        if self._control(CancelCode()):  # announced by the engine as CodeCancelRequested
            self.notify("Cancelling the running code…")

    def _control(self, control: Control) -> bool:
        """Send `control` through the run's handle; say why when the run does not take it."""
        if self.handle is None:
            self.notify("This is a replay: the run cannot be steered.", severity="warning")
            return False
        # a run in another process may refuse it after this returns: `ControlRefused` then says why
        done = self.handle.control(control, self.sender,
                                   on_refused=lambda late: self.post_message(ControlRefused(late)))
        if not done.applied:
            self.notify(f"Not done: {done.reason}.", severity="warning")
        elif isinstance(control, StopRun):
            self.stop_sent = True
        return done.applied

    def on_control_refused(self, message: ControlRefused) -> None:
        """The run did not apply a control this view took as sent: say why."""
        if message.done.control == StopRun().type:
            self.stop_sent = False
        self.notify(f"Not done: {message.done.reason}.", severity="warning")
        self.refresh_chrome()

    def action_select_request(self, request_id: str) -> None:
        """Make a queued request the current one."""
        self.current_request_id = request_id
        self.refresh_chrome()

    # -- views and focus ------------------------------------------------------------------------
    def action_toggle_timeline(self) -> None:
        """Switch between the agent panes and the merged timeline."""
        from textual.widgets import ContentSwitcher

        switcher = self.query_one("#views", ContentSwitcher)
        switcher.current = "timeline" if switcher.current == "panes-host" else "panes-host"
        if switcher.current == "timeline":
            self.timeline.focus()

    def focused_agent(self) -> str | None:
        """The agent whose pane has focus, if any."""
        for name, pane in self.panes.items():
            if self.focused is not None and (self.focused is pane.transcript or pane in self.focused.ancestors):
                return name
        return None

    def _focus_pane(self, step: int) -> None:
        names = list(self.panes)
        if not names:
            return
        current = self.focused_agent()
        i = (names.index(current) + step) % len(names) if current in names else 0
        self._reveal(names[i])
        self.panes[names[i]].transcript.focus()

    def action_focus_next_pane(self) -> None:
        """Focus the next agent's pane."""
        self._focus_pane(1)

    def action_focus_previous_pane(self) -> None:
        """Focus the previous agent's pane."""
        self._focus_pane(-1)
