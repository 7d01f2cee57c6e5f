"""The headless console: runs a team without the UI, prints the conversation, asks on stdin.

Everything printed comes from the same typed events the UI renders, and every line goes through
:func:`say`, which makes it inert: no escape sequence, bidi control or invisible character reaches
the terminal live (they are shown as ``␛``, ``⟨RLO⟩``...). Messages are printed as sent, every
character and line break kept; where you approve something, a warning line names any invisible or
direction-changing characters in it.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import TYPE_CHECKING, Any, Callable, TextIO

from tuiagents.engine.decisions import (
    ApprovalRule, DecidedBy, Decision, DecisionKind, DecisionRequest, RequestKind, Scope,
)
from tuiagents.engine.events import (
    ChatEnded, ChatStarted, DecisionRecorded, DecisionRequested, ExecutionFinished, MessageDelivered, MessageQueued,
    Notice, RunStarted, RunStopped, SpeakerSelected,
)
from tuiagents.engine.handle import LocalRunHandle, local_sender
from tuiagents.engine.patterns import pattern_label
from tuiagents.engine.tool_args import (
    arguments_diff, arguments_problem, compact_arguments, parameters_summary, same_arguments,
)
from tuiagents.engine.view import CONTROL_EVENTS, RunView, control_words
from tuiagents.execution.base import EXIT_NOT_RUN
from tuiagents.text import hidden_warning, inert, one_line

if TYPE_CHECKING:
    from tuiagents.engine.run import TeamRun

RULE = "─" * 72


def say(text: str, out: TextIO, end: str = "\n") -> None:
    """Print `text` inert (the one way the console writes anything that came from a run)."""
    print(inert(text), end=end, file=out, flush=True)


class ConsolePrinter:
    """Prints events as a readable transcript (used by headless runs and headless replay).

    It folds each event into its run view (`RunView`, the one fold) and prints what the view says:
    a message's approval is printed under the message, found by the message's id."""

    def __init__(self, out: TextIO | None = None, show_output: bool = True, view: RunView | None = None) -> None:
        self.out = out or sys.stdout
        self.show_output = show_output
        self.view = view if view is not None else RunView()

    def _p(self, text: str = "") -> None:
        say(text, self.out)

    def _decision(self, kind: RequestKind, agent: str, decision: Decision) -> None:
        self._p(f"  · {kind.value} of {agent}: {decision.describe()}")

    def __call__(self, event: Any) -> None:
        """Fold one event, then print it (the event-bus subscriber interface)."""
        self.view.apply(event)
        show = _SHOW.get(type(event))
        if show is not None:
            show(self, event)

    def _started(self, event: RunStarted) -> None:
        names = ", ".join(f"{a.name} ({a.kind})" for a in event.agents)
        self._p(f"tuiagents · team {event.team} ({event.team_kind}) · {names}")
        if event.task or not event.stages:
            self._p(f"task: {event.task}")
        if event.stages:
            self._p("stages: " + " → ".join(f"{i} {team}" for i, team in enumerate(event.stages, start=1)))
        if event.context:
            self._p("context: " + " · ".join(f"{k}={v}" for k, v in event.context.items()))

    def _scope(self, chat: str) -> str:
        """Where a message was said, for a chat inside the run: "[stage 2: writing › critic] "."""
        path = self.view.chat_path(chat)
        return f"[{' › '.join(c.title for c in path)}] " if path else ""

    def _chat_started(self, event: ChatStarted) -> None:
        names = ", ".join(a.name for a in event.agents)
        again = " (resumed)" if event.resumed else ""
        self._p(RULE)
        self._p(f"▸ {self._scope(event.parent)}{event.title} begins{again}: {pattern_label(event.team_kind)} of {names}")
        self._p(f"  task: {event.task}")

    def _chat_ended(self, event: ChatEnded) -> None:
        self._p(f"◂ {self._scope(event.chat)}ended: {event.reason}")
        if event.summary:
            self._p(f"  summary: {event.summary}")

    def _delivered(self, event: MessageDelivered) -> None:
        m = event.message
        tag = " [edited by you]" if m.human_edited else ""
        to = f" → {m.recipient}" if m.recipient else ""
        self._p(RULE)
        self._p(f"{self._scope(event.chat)}{m.sender}{to}{tag}:")
        if m.content:
            self._p(m.content)
        for c in m.tool_calls:
            self._p(f"  ⚙ calls {c.name}({c.arguments})")
        for r in m.tool_results:
            mark = "✗" if r.is_error else "↳"
            self._p(f"  {mark} {r.name}: {r.content}")
        if m.handoff:
            self._p(f"  ⇢ {m.sender} hands the conversation to {m.handoff}")
        entry = self.view.entry_for_message(m.id)
        if entry is not None and entry.decision is not None and _under_message(entry.decision):
            self._decision(RequestKind.MESSAGE, entry.sender, entry.decision)

    def _recorded(self, event: DecisionRecorded) -> None:
        # a message's approval or edit is printed under the message it let through
        if not (event.request_kind == RequestKind.MESSAGE and _under_message(event.decision)):
            self._decision(event.request_kind, event.agent, event.decision)

    def _speaker(self, event: SpeakerSelected) -> None:
        note = f" ({event.note})" if event.note else ""
        self._p(f"  · next speaker: {event.agent} [{event.method}]{note}")

    def _finished(self, event: ExecutionFinished) -> None:
        if event.exit_code == EXIT_NOT_RUN:  # never started: there is no exit code to report
            self._p(f"  · code not run: {one_line(event.error or 'the executor could not start it', 200)}")
        else:
            how = "timed out" if event.timed_out else "cancelled" if event.cancelled else f"exit code {event.exit_code}"
            self._p(f"  · code ran: {how} in {event.duration:.1f} s")

    def _notice(self, event: Notice) -> None:
        self._p(f"  ! {event.level}: {event.text}")

    def _queued(self, event: MessageQueued) -> None:
        who, to = (event.by or DecidedBy.HUMAN).words(), event.message.recipient or "all"
        self._p(f"  · {who} queued a message for {to} for the next turn")

    def _control(self, event: Any) -> None:
        self._p(f"  · {control_words(event)}")

    def _stopped(self, event: RunStopped) -> None:
        self._p(RULE)
        self._p(f"Stopped: {self.view.stop_words() or event.reason}")


def _under_message(decision: Decision) -> bool:
    return decision.kind in (DecisionKind.APPROVE, DecisionKind.EDIT)


# Execution output is not printed as it streams: the full output arrives in the execution message.
_SHOW: dict[type, Callable[[ConsolePrinter, Any], None]] = {
    RunStarted: ConsolePrinter._started, MessageDelivered: ConsolePrinter._delivered,
    DecisionRecorded: ConsolePrinter._recorded, SpeakerSelected: ConsolePrinter._speaker,
    ExecutionFinished: ConsolePrinter._finished, Notice: ConsolePrinter._notice,
    MessageQueued: ConsolePrinter._queued, RunStopped: ConsolePrinter._stopped,
    ChatStarted: ConsolePrinter._chat_started, ChatEnded: ConsolePrinter._chat_ended,
    **{kind: ConsolePrinter._control for kind in CONTROL_EVENTS},
}


def _read(prompt: str, stdin: TextIO, out: TextIO) -> str | None:
    say(prompt, out, end="")
    line = stdin.readline()
    return None if line == "" else line.rstrip("\n")


def _read_block(prompt: str, stdin: TextIO, out: TextIO) -> str:
    say(f"{prompt} (end with a line holding a single '.')", out)
    lines: list[str] = []
    while True:
        line = stdin.readline()
        if line == "" or line.rstrip("\n") == ".":
            return "\n".join(lines)
        lines.append(line.rstrip("\n"))


def input_ended() -> Decision:
    """The stop a console supervisor answers with once stdin is at end of file: nobody can answer
    any more, which is not the person stopping the run, and the log and the console say so."""
    return Decision.stop(note="input ended (stdin at end of file)",
                         by=DecidedBy.POLICY)


#: The console's answers to a draft, and to code or a tool call: (key, label, what it decides).
_MESSAGE_MENU = (("a", "[a]pprove", DecisionKind.APPROVE), ("A", "[A] approve for session", DecisionKind.APPROVE),
                 ("e", "[e]dit", DecisionKind.EDIT), ("r", "[r]eject", DecisionKind.REJECT),
                 ("s", "[s]top", DecisionKind.STOP))
_RUN_MENU = (("y", "[y] run", DecisionKind.APPROVE), ("A", "[A] always for this agent", DecisionKind.APPROVE),
             ("e", "[e]dit", DecisionKind.EDIT), ("n", "[n] skip", DecisionKind.SKIP),
             ("s", "[s]top", DecisionKind.STOP))


def _menu(request: DecisionRequest) -> list[tuple[str, str]]:
    """(key, label) of the answers `request` allows (a sandbox that cannot start allows no edit)."""
    allowed = set(request.allowed) or {kind for *_, kind in _MESSAGE_MENU + _RUN_MENU}
    menu = _MESSAGE_MENU if request.kind == RequestKind.MESSAGE else _RUN_MENU
    if request.kind == RequestKind.TOOL_CALL and len(request.tool_calls) == 1:
        name = one_line(request.tool_calls[0].name, 40)
        menu = tuple((k, f"[A] always run {name}" if k == "A" else "[e]dit arguments" if k == "e" else label, kind)
                     for k, label, kind in _RUN_MENU)
    return [(key, label) for key, label, kind in menu if kind in allowed]


def _show_tool(request: DecisionRequest, out: TextIO) -> None:
    """Each call, then what its tool does and takes (its description and parameters)."""
    for call in request.tool_calls:
        warning = hidden_warning(call.name + call.arguments)
        if warning:
            say(f"  {warning}", out)
        say(f"  ⚙ {call.name}({call.arguments})", out)
    info = request.tool_info
    if info is not None:
        say(f"    {info.name}: {one_line(info.description, 300) or '(no description)'}", out)
        for line in parameters_summary(info.parameters):
            say(f"      {line}", out)


def _edit_arguments(request: DecisionRequest, stdin: TextIO, out: TextIO) -> Decision | None:
    """New arguments typed as JSON on one line, checked against the tool's schema, shown as a diff
    and confirmed: the edit, or None (choose again) when they do not fit or are not confirmed."""
    call = request.tool_calls[0]
    text = _read("new arguments, JSON on one line: ", stdin, out)
    if text is None:
        return None
    schema = request.tool_info.parameters if request.tool_info is not None else None
    problem = arguments_problem(text, schema, call.name)
    if problem is None and same_arguments(call.arguments, text):
        problem = "the arguments are unchanged; answer y to run the call as it is"
    if problem is not None:
        say(f"  cannot run: {problem}; choose again", out)
        return None
    for line in arguments_diff(call.arguments, text):
        say(f"    {line}", out)
    sure = _read(f"run {call.name} with these arguments? [y/n]: ", stdin, out)
    return Decision.edit(compact_arguments(text)) if (sure or "").strip() == "y" else None


def console_decide(request: DecisionRequest, stdin: TextIO, out: TextIO) -> Decision:
    """Ask on the console until the answer is valid for `request`; EOF stops the run, saying why."""
    kind = request.kind
    say(f"\n? {request.prompt}", out)
    if kind == RequestKind.CODE:
        for b in request.code_blocks:
            warning = hidden_warning(b.code)
            if warning:
                say(f"  {warning}", out)
            say(f"  ```{b.language}{' (guessed)' if b.guessed else ''}\n{b.code}\n  ```", out)
        say(f"  runs on: {request.executor}", out)
    elif kind == RequestKind.MESSAGE:
        warning = hidden_warning(request.content)
        if warning:
            say(f"  {warning}", out)
        say(request.content, out)
    elif kind == RequestKind.TOOL_CALL:
        _show_tool(request, out)
    while True:
        if kind == RequestKind.HANDOFF:
            decision = _handoff_answer(request, stdin, out)
            if decision is not None:
                return decision
            continue
        if kind == RequestKind.SPEAKER:
            for i, name in enumerate(request.candidates, 1):
                say(f"  {i}. {name}", out)
            answer = _read("speaker number (s = stop): ", stdin, out)
            if answer is None:
                return input_ended()
            if answer.strip() == "s":
                return Decision.stop()
            if answer.strip().isdigit() and 1 <= int(answer) <= len(request.candidates):
                return Decision.choose(request.candidates[int(answer) - 1])
            continue
        if kind == RequestKind.HUMAN_INPUT:
            empty = "end the run" if request.ends_run else "let the agent reply"
            answer = _read(f"your reply (empty = {empty}, 'exit' = stop): ", stdin, out)
            if answer is None:
                return input_ended()
            if answer.strip() == "exit":
                return Decision.stop()
            return Decision.reply(answer) if answer.strip() else Decision.approve()
        menu = _menu(request)
        answer = _read("  ".join(label for _, label in menu) + ": ", stdin, out)
        if answer is None:
            return input_ended()
        choice = answer.strip()
        if choice not in {key for key, _ in menu} and choice != "":
            say(f"  {choice!r} is not an option here", out)
            continue
        if choice == "s":
            return Decision.stop()
        if choice in ("a", "y", ""):
            return Decision.approve()
        if choice == "A":
            if kind == RequestKind.CODE:
                lang = next(iter(sorted(request.languages)), None)
                return Decision.approve(scope=Scope.RULE, rule=ApprovalRule(kind=kind, agent=request.agent,
                                                                            language=lang))
            return Decision.approve(scope=Scope.SESSION)
        if choice == "e" and kind in (RequestKind.MESSAGE, RequestKind.CODE):
            text = _read_block("new text", stdin, out)
            if text.strip():
                return Decision.edit(text)
            say("  an empty edit has nothing to send; choose again", out)
        elif choice == "e" and kind == RequestKind.TOOL_CALL and len(request.tool_calls) == 1:
            edited = _edit_arguments(request, stdin, out)
            if edited is not None:
                return edited
        elif choice == "r" and kind == RequestKind.MESSAGE:
            feedback = _read("feedback for the agent: ", stdin, out) or ""
            if feedback.strip():
                return Decision.reject(feedback)
            say("  feedback is empty; choose again", out)
        elif choice == "n" and kind != RequestKind.MESSAGE:
            return Decision.skip()


def _handoff_answer(request: DecisionRequest, stdin: TextIO, out: TextIO) -> Decision | None:
    """One answer to a handoff: approve, redirect by number, refuse with feedback, or stop (None: ask again)."""
    for i, name in enumerate(request.candidates, 1):
        say(f"  {i}. {name}{' (asked for)' if name == request.target else ''}", out)
    answer = _read(f"[a]pprove (hand to {request.target})  [1-{len(request.candidates)}] redirect  "
                   f"[r]efuse  [s]top: ", stdin, out)
    if answer is None:
        return input_ended()
    choice = answer.strip()
    if choice in ("a", ""):
        return Decision.approve()
    if choice == "s":
        return Decision.stop()
    if choice.isdigit() and 1 <= int(choice) <= len(request.candidates):
        return Decision.choose(request.candidates[int(choice) - 1])
    if choice == "r":
        feedback = _read(f"why {request.agent} should keep the conversation: ", stdin, out) or ""
        if feedback.strip():
            return Decision.reject(feedback)
        say("  feedback is empty; choose again", out)
        return None
    say(f"  {choice!r} is not an option here", out)
    return None


def console_supervisor(handle: LocalRunHandle, stdin: TextIO | None = None,
                       out: TextIO | None = None) -> Callable[[Any], Any]:
    """A bus subscriber that asks on the console about each request the run waits on, and answers
    it through the run's handle (as `you (console)`)."""
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    sender = local_sender("console")

    def on_event(event: Any) -> None:
        if not isinstance(event, DecisionRequested) or not handle.is_open(event.request.id):
            return
        loop = asyncio.get_running_loop()

        def ask() -> None:
            decision = console_decide(event.request, stdin, out)
            loop.call_soon_threadsafe(handle.answer, event.request.id, decision, sender)

        # A daemon thread, not the loop's executor: when the run stops while the prompt waits
        # (a time limit, Ctrl+C), nothing has to wait for someone to press Enter.
        threading.Thread(target=ask, name=f"ask-{event.request.id}", daemon=True).start()

    return on_event


async def run_headless(run: "TeamRun", *, ask: bool, out: TextIO | None = None) -> int:
    """Run `run` printing its events; return the exit code (0 finished, 1 failed, 2 when the config
    asks for tools its MCP servers do not have).

    A run that continues a log (resume, fork) prints the conversation so far first, from the
    events it holds, folded and printed like the live ones."""
    from tuiagents.engine.events import StopKind

    printer = ConsolePrinter(out)
    printer.view.viewer = local_sender("console")  # this console's own stop reads "stopped by you"
    for event in list(run.bus.history):
        printer(event)
    run.bus.subscribe(printer)
    if ask:
        run.bus.subscribe(console_supervisor(LocalRunHandle(run), out=out))
    try:
        result = await run.run()
    finally:
        await run.aclose()
    if run.session_path:
        say(f"Session log: {run.session_path}", out or sys.stdout)
    if getattr(run.start_error, "bad_config", False):  # e.g. a tool an MCP server does not have
        return 2
    return 1 if result.stop_kind == StopKind.ERROR else 0
