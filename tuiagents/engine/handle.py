"""The run boundary: the one typed, serialisable interface through which a view reaches a run.

A view (the cockpit, the headless console, later a cockpit attached over a socket or a browser)
reads a run's events since a sequence number, answers a request by its id and sends typed
controls, each saying who sent it. The engine keeps its own futures: a view never resolves one,
and whether a request is answered it learns from the handle's answer and then from the events.
Every value that crosses the boundary is a pydantic model, so another transport can carry it.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Literal, Protocol, Union, runtime_checkable

from pydantic import BaseModel, Field

from tuiagents.engine.decisions import DecidedBy, Decision, DecisionKind, Sender
from tuiagents.engine.events import DecisionRecorded, DecisionRequested, Event
from tuiagents.engine.supervisor import InvalidDecision

if TYPE_CHECKING:
    from tuiagents.engine.run import TeamRun

__all__ = ["Answered", "CancelCode", "Control", "ControlDone", "ForceNextSpeaker", "InjectMessage",
           "LocalRunHandle", "PauseRun", "ResumeRun", "RunHandle", "Sender", "StopChat", "StopRun",
           "local_sender"]


def local_sender(client: str) -> Sender:
    """Who is at this terminal: the OS user and the kind of view (`client`: "cockpit", "console")."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        user = "unknown"
    return Sender(user=user, client=client, where=terminal_name())


def terminal_name() -> str:
    """Which view this process is, for people: its terminal ("pts/3"), else (a browser tab's app,
    a script) its process ("process 4242"); it tells apart two views of one user."""
    for fd in (0, 1, 2):
        try:
            return os.ttyname(fd).removeprefix("/dev/")
        except OSError:
            continue
    return f"process {os.getpid()}"


# -- controls ---------------------------------------------------------------------------------------
class PauseRun(BaseModel):
    """Hold the run before its next turn."""

    type: Literal["pause"] = "pause"


class ResumeRun(BaseModel):
    """Let a paused run go on."""

    type: Literal["resume"] = "resume"


class StopRun(BaseModel):
    """End the run as soon as possible."""

    type: Literal["stop"] = "stop"
    #: the stopper's own words ("" for none: the run then says who stopped it)
    reason: str = ""


class StopChat(BaseModel):
    """End one chat inside the run (a stage of a sequence), not the run: `chat` by id, else the
    innermost one running now. The sequence goes on with its next stage."""

    type: Literal["stop_chat"] = "stop_chat"
    chat: str | None = None
    #: the stopper's own words ("" for none)
    reason: str = ""


class InjectMessage(BaseModel):
    """A human message for one agent or all, delivered now or before the next turn."""

    type: Literal["inject"] = "inject"
    text: str
    target: str = "all"
    now: bool = False


class ForceNextSpeaker(BaseModel):
    """`agent` speaks next, overriding the usual order once."""

    type: Literal["next_speaker"] = "next_speaker"
    agent: str


class CancelCode(BaseModel):
    """Kill the code block that is running."""

    type: Literal["cancel_code"] = "cancel_code"


Control = Annotated[Union[PauseRun, ResumeRun, StopRun, StopChat, InjectMessage, ForceNextSpeaker, CancelCode],
                    Field(discriminator="type")]


# -- what comes back --------------------------------------------------------------------------------
class Answered(BaseModel):
    """What became of an answer: taken, or why not (already answered, and by whom)."""

    request_id: str
    accepted: bool
    #: for people: why it was not taken ("answered already by ann (cockpit)")
    reason: str = ""
    #: who answered first, when it was not this answer
    answered_by: Sender | None = None


class ControlDone(BaseModel):
    """What became of a control: applied, or why not."""

    control: str
    applied: bool
    reason: str = ""


@runtime_checkable
class RunHandle(Protocol):
    """What every view uses to reach a run, wherever it runs (this process, or behind a socket).

    `LocalRunHandle` serves a run of this process; `session.run_client.RemoteRunHandle` one in its
    own process. A view written against this protocol works on both with no second path.
    """

    @property
    def run_id(self) -> str:
        """The run's id."""

    @property
    def local(self) -> bool:
        """True when the run lives in this process (closing the view then ends it)."""

    def sync(self) -> None:
        """Have the run's events so far at hand (a remote handle fetches them: may block a while)."""

    def events_since(self, seq: int) -> list[Event]:
        """The run's events after `seq` (-1: all), without token deltas."""

    def subscribe(self, callback: Callable[[Event], object], after: int | None = None) -> None:
        """Call `callback` with every new event, in order; with `after`, the kept events after
        that seq first, with no gap and no repeat before the live ones."""

    def answer_of(self, request_id: str) -> Decision | None:
        """The decision `request_id` got, if any."""

    def is_open(self, request_id: str) -> bool:
        """True while `request_id` waits for an answer."""

    def answer(self, request_id: str, decision: Decision, sender: Sender | None = None, *,
               on_refused: Callable[[Answered], object] | None = None) -> Answered:
        """Answer a request; the first answer wins, a later one is told who gave it.

        Without `on_refused` the run's verdict is returned. With it, a handle whose run is far
        may return "accepted" at once, shown as given, and later call `on_refused` (on any thread)
        should the run refuse it after all (another view's answer crossed it on the way). A
        verdict already returned is never changed otherwise.
        """

    def control(self, control: Control, sender: Sender | None = None, *,
                on_refused: Callable[[ControlDone], object] | None = None) -> ControlDone:
        """Apply a typed control; `on_refused` as for `answer` (a far run's later "not applied")."""


class LocalRunHandle:
    """The run boundary for a run in this process; other transports serve the same methods."""

    #: the run lives in this process
    local = True

    def __init__(self, run: "TeamRun") -> None:
        self._run = run
        #: request id -> the last answer taken through this handle, and who gave it
        self._answered: dict[str, tuple[Sender | None, Decision]] = {}

    # -- reading --------------------------------------------------------------------------------
    @property
    def run_id(self) -> str:
        """The run's id."""
        return self._run.run_id

    def events_since(self, seq: int) -> list[Event]:
        """The run's events after `seq` (token deltas are not kept: they stream to subscribers)."""
        history = self._run.bus.history
        lo, hi = 0, len(history)
        while lo < hi:  # events are in seq order: find the first after `seq`
            mid = (lo + hi) // 2
            if history[mid].seq <= seq:
                lo = mid + 1
            else:
                hi = mid
        return history[lo:]

    def sync(self) -> None:
        """Nothing to fetch: the run's events are in this process."""

    @property
    def run(self) -> "TeamRun":
        """The run itself, for what hosts it (the run server); views use the methods."""
        return self._run

    def subscribe(self, callback: Callable[[Event], object], after: int | None = None) -> None:
        """Call `callback` with every event from now on, token deltas included; with `after`, the
        kept events after that seq first (same loop: nothing can come between them)."""
        if after is not None:
            for event in self.events_since(after):
                callback(event)
        self._run.bus.subscribe(callback)

    def answer_of(self, request_id: str) -> Decision | None:
        """The decision given to `request_id` through this handle or recorded by the run, if any."""
        if request_id in self._answered:
            return self._answered[request_id][1]
        recorded = self._recorded(request_id)
        return recorded.decision if recorded is not None else None

    def is_open(self, request_id: str) -> bool:
        """True while `request_id` waits for an answer (again, after an answer it could not take)."""
        return self._pending(request_id) is not None

    # -- answering -------------------------------------------------------------------------------
    def answer(self, request_id: str, decision: Decision, sender: Sender | None = None, *,
               on_refused: Callable[[Answered], object] | None = None) -> Answered:
        """Answer the request `request_id`; the first answer wins, a later one is told who gave it.

        The run is in this process: the verdict returned is final, and `on_refused` is never called.
        """
        event = self._pending(request_id)
        if event is None and request_id in self._answered:
            sender, first = self._answered[request_id]
            return answered_already(request_id, first.model_copy(update={"sender": sender}))
        if event is None:
            recorded = self._recorded(request_id)
            if recorded is not None:
                return answered_already(request_id, recorded.decision)
            return Answered(request_id=request_id, accepted=False, reason="no such request waits in this run")
        try:  # what cannot answer it is refused here, with why, not asked again in the run
            self._run.supervisor.check(event.request, decision, event.agents)
        except InvalidDecision as exc:
            return Answered(request_id=request_id, accepted=False, reason=str(exc))
        if sender is not None and decision.by == DecidedBy.HUMAN:
            decision = decision.model_copy(update={"sender": sender})
        if not event.resolve(decision):  # a stop answered it a moment ago
            return Answered(request_id=request_id, accepted=False, reason="the run is stopping")
        self._answered[request_id] = (sender, decision)
        return Answered(request_id=request_id, accepted=True)

    # -- controls --------------------------------------------------------------------------------
    def control(self, control: Control, sender: Sender | None = None, *,
                on_refused: Callable[[ControlDone], object] | None = None) -> ControlDone:
        """Apply a typed control; the run announces it as an event saying who sent it. The verdict
        is final (`on_refused` is never called)."""
        run = self._run
        name = control.type
        if run.stopped is not None:
            return ControlDone(control=name, applied=False, reason="the run has stopped")
        try:
            if isinstance(control, PauseRun):
                if run.paused:
                    return ControlDone(control=name, applied=False, reason="the run is paused already")
                run.pause(sender=sender)
            elif isinstance(control, ResumeRun):
                if not run.paused:
                    return ControlDone(control=name, applied=False, reason="the run is not paused")
                run.resume(sender=sender)
            elif isinstance(control, StopRun):
                run.request_stop(control.reason, sender=sender)
            elif isinstance(control, StopChat):
                run.stop_chat(control.chat, control.reason, sender=sender)
            elif isinstance(control, InjectMessage):
                run.inject(control.text, target=control.target, now=control.now, sender=sender)
            elif isinstance(control, ForceNextSpeaker):
                run.set_next_speaker(control.agent, sender=sender)
            elif isinstance(control, CancelCode):
                if not run.cancel_execution(sender=sender):
                    return ControlDone(control=name, applied=False, reason="no code is running")
        except ValueError as exc:  # a control the run refuses (an unknown agent, an empty message)
            return ControlDone(control=name, applied=False, reason=str(exc))
        return ControlDone(control=name, applied=True)

    # -- helpers ---------------------------------------------------------------------------------
    def _pending(self, request_id: str) -> DecisionRequested | None:
        """The engine's request `request_id` while nobody has answered it: a request the gate asks
        again (its answer did not fit) is open again under the same id."""
        return next((e for e in self._run.pending if e.request.id == request_id
                     and e.future is not None and not e.future.done()), None)

    def _recorded(self, request_id: str) -> DecisionRecorded | None:
        return next((e for e in reversed(self._run.bus.history)
                     if isinstance(e, DecisionRecorded) and e.request_id == request_id), None)


def answered_already(request_id: str, first: Decision) -> Answered:
    """The refusal of an answer to `request_id`, which `first` answered already (says by whom):
    a stop (of the run, or of its chat) is said as one, not as an answer."""
    who = _by(first.sender) if first.sender is not None else f" by {first.by.words('a person')}"
    what = "it was stopped" if first.kind == DecisionKind.STOP else "it was answered already"
    return Answered(request_id=request_id, accepted=False, answered_by=first.sender, reason=f"{what}{who}")


def _by(sender: Sender | None) -> str:
    return f" by {sender.words()}" if sender is not None else ""
