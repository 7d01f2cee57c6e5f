"""The supervisor gate: where the engine emits a request and awaits the Decision that answers it."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from tuiagents.engine.control import RunStop
from tuiagents.engine.agent import ConversableAgent
from tuiagents.engine.bus import EventBus
from tuiagents.engine.control import RunControl
from tuiagents.engine.decisions import (
    DecidedBy, Decision, DecisionKind, DecisionRequest, RequestKind, Sender,
)
from tuiagents.engine.events import DecisionRecorded, DecisionRequested, Notice, StopKind
from tuiagents.engine.supervisor import ALLOWED, InvalidDecision, Supervisor
from tuiagents.engine.termination import StopInfo

#: Given the decision that approved (or edited) code, the sha256 of each block it will run.
CodeHashes = Callable[[Decision], list[str]]


class DecisionGate:
    """Asks a policy, else a person, for each decision; checks, remembers and records it.

    The requests waiting for an answer are `pending` (their futures are resolved by whoever
    supervises, through `DecisionRequested.resolve`). A STOP decision calls
    `on_stop(reason, kind, sender)`: a person's stops the run as theirs (their note, if any, as its
    words), any other's with the decision's note as the reason.
    """

    def __init__(self, supervisor: Supervisor, agents: Mapping[str, ConversableAgent], bus: EventBus,
                 control: RunControl, on_stop: Callable[[str, StopKind, Sender | None], None]) -> None:
        self.supervisor = supervisor
        self.pending: list[DecisionRequested] = []
        self._agents = agents
        self._bus = bus
        self._control = control
        self._on_stop = on_stop
        #: why the chat this gate decides for was stopped alone (RunCore.chat_stopped), if it was
        self._chat_stopped: Callable[[], StopInfo | None] = lambda: None

    def for_agents(self, agents: Mapping[str, ConversableAgent],
                   chat_stopped: Callable[[], StopInfo | None] | None = None) -> "DecisionGate":
        """The same gate for a chat inside the run with other agents: pending requests, rules,
        bus and controls are shared; decisions are checked against `agents`. A stop answered
        while `chat_stopped()` says the chat was stopped alone ends only that chat."""
        gate = DecisionGate(self.supervisor, agents, self._bus, self._control, self._on_stop)
        gate.pending = self.pending
        if chat_stopped is not None:
            gate._chat_stopped = chat_stopped
        return gate

    def _check(self) -> None:
        self._control.check()
        info = self._chat_stopped()
        if info is not None:
            raise RunStop(info)

    def answer_all(self, reason: str, by: DecidedBy, sender: Sender | None = None) -> None:
        """Answer every pending request with a stop (the run is stopping), as the stopper's."""
        for event in list(self.pending):
            event.resolve(Decision.stop(note=reason, by=by, sender=sender))

    async def decide(self, request: DecisionRequest, code_hashes: CodeHashes | None = None) -> Decision:
        """Get a decision from a policy or, failing that, from a person; record it.

        ``code_hashes(decision)``, for code requests, gives the sha256 of the blocks an
        approval or edit will run; they are recorded with the decision.
        """
        self._check()
        request.allowed = request.allowed or list(ALLOWED[request.kind])
        decision = self.supervisor.policy_decision(request)
        while decision is None:
            candidate = await self._ask(request)
            try:
                self.supervisor.check(request, candidate, self._agents)
                decision = candidate
            except InvalidDecision as exc:
                await self._bus.emit(Notice(text=str(exc), level="warning", agent=request.agent,
                                            chat=request.chat))
        if code_hashes is not None and decision.kind in (DecisionKind.APPROVE, DecisionKind.EDIT):
            decision = decision.model_copy(update={"code_sha256": code_hashes(decision)})
        if decision.kind == DecisionKind.EDIT and request.kind == RequestKind.TOOL_CALL and request.tool_calls:
            decision = decision.model_copy(update={"original": request.tool_calls[0].arguments})
        rule = self.supervisor.remember(request, decision)
        if rule is not None and decision.rule is None:
            # recorded with the decision: a resumed run restores exactly this rule
            decision = decision.model_copy(update={"rule": rule})
        if rule is not None:
            await self._bus.emit(Notice(text=f"approved for this session: {rule.describe()}", agent=request.agent,
                                        chat=request.chat))
        await self._bus.emit(DecisionRecorded(request_id=request.id, request_kind=request.kind,
                                              agent=request.agent, decision=decision, chat=request.chat))
        if decision.kind == DecisionKind.STOP:
            info = self._control.stop_info
            chat_info = self._chat_stopped()
            if info is None and chat_info is not None:  # this chat was stopped alone: the run goes on
                raise RunStop(chat_info)
            if info is not None:
                self._on_stop(info.reason, info.kind, None)
            elif decision.by == DecidedBy.HUMAN:
                self._on_stop(decision.note, StopKind.STOPPED_BY_USER, decision.sender)
            else:  # a supervisor that cannot ask any more (its input ended) says why in the note
                self._on_stop(decision.note or f"stopped by {decision.by.words()}", StopKind.EXTERNAL, None)
            self._control.check()
        return decision

    async def _ask(self, request: DecisionRequest) -> Decision:
        """Emit the request and wait for its answer (a stop answers it at once)."""
        event = DecisionRequested.awaiting(request, self._agents)
        self.pending.append(event)
        try:
            await self._bus.emit(event)
            info = self._control.stop_info or self._chat_stopped()
            if info is not None:
                event.resolve(Decision.stop(note=info.reason))
            return await event.future
        finally:
            self.pending.remove(event)
