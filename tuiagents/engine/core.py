"""RunCore: what a turn works with — the team, the run's state, its gate, its controls and its events.

The loop, the turns and speaker selection take a RunCore; `TeamRun` (run.py) builds on it with the
human controls and the run itself. Keeping them apart is what lets loop, turns and speaker be
imported by run.py without importing it back.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from tuiagents.engine.agent import ConversableAgent
from tuiagents.engine.bus import EventBus
from tuiagents.engine.control import RunControl, RunStop
from tuiagents.engine.decisions import ROOT_CHAT, DecidedBy, Decision, DecisionRequest, Sender, stopped_by
from tuiagents.engine.events import (
    DecisionRequested, Event, MessageDelivered, MessageQueued, Notice, StopKind, StopRequested, TurnStarted,
    UsageRecorded,
)
from tuiagents.engine.gate import CodeHashes, DecisionGate
from tuiagents.engine.messages import Message
from tuiagents.engine.settings import RunSettings
from tuiagents.engine.state import RunState
from tuiagents.engine.supervisor import Supervisor
from tuiagents.engine.termination import AnyOf, StopInfo, TerminationCondition
from tuiagents.engine.usage import Usage

if TYPE_CHECKING:
    from tuiagents.llm.client import Completion, LLMClient


class RunCore:
    """A team on a task with its state (`state`), gate (`gate`), controls (`control`) and `bus`."""

    def __init__(self, agents: Sequence[ConversableAgent], task: str, settings: RunSettings | None = None, *,
                 termination: TerminationCondition | None = None, supervisor: Supervisor | None = None,
                 selector_llm: "LLMClient | None" = None, run_id: str | None = None,
                 bus: EventBus | None = None) -> None:
        self.settings = settings or RunSettings()
        self.agents: dict[str, ConversableAgent] = {a.name: a for a in agents}
        if len(self.agents) != len(agents):
            raise ValueError("agent names must be unique")
        self.task = task
        self.termination = termination
        self.selector_llm = selector_llm or next((a.llm for a in agents if a.llm), None)
        self.selector_model = self.settings.selector_model or next((a.model for a in agents if a.llm), None)
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.bus = bus or EventBus()
        if self.bus.on_required_failure is None:
            self.bus.on_required_failure = self._record_lost
        self.rng = random.Random(self.settings.seed)
        #: the chat this core's events and requests belong to (see events._Event.chat)
        self.chat = ROOT_CHAT
        self.state = RunState()
        self.control = RunControl()
        # held by `hold`, MessageQueued not yet emitted: each message with who sent it
        self._unannounced: list[tuple[Message, Sender | None]] = []
        self._announcing: set[asyncio.Task] = set()  # control events emitted from sync calls
        # what controls asked before `run()` started must do once it has (None: it has started)
        self._kept: list[Callable[[], Awaitable[Any]]] | None = []
        self.gate = DecisionGate(supervisor or Supervisor(), self.agents, self.bus, self.control,
                                 on_stop=self.request_stop)
        #: the chat this one runs inside (None for the run's root chat)
        self.parent: RunCore | None = None
        #: chats inside this one that run now, innermost last (see `open_chat`, `innermost`)
        self.open_chats: list[RunCore] = []
        #: why this chat (not the run) must end: a person stopped this stage only (`end_chat`)
        self.chat_stop: StopInfo | None = None

    def open_chat(self, chat: str, agents: Sequence[ConversableAgent], task: str,
                  settings: RunSettings, termination: TerminationCondition | None = None) -> "RunCore":
        """A chat inside this one (a stage, a nested chat) with its own id, transcript and counters.

        It shares what belongs to the whole run: the bus, the controls (a stop stops it too), the
        gate's pending requests and granted rules, the usage (budgets count every chat), the
        termination condition (with `termination`, the chat's own, added) and the random source.
        Its turns are given by `run_chat` (engine/chats.py), which also announces it."""
        if termination is not None and self.termination is not None:
            termination = AnyOf([self.termination, termination])
        child = RunCore(agents, task, settings, termination=termination or self.termination,
                        supervisor=self.supervisor, selector_llm=self.selector_llm, run_id=self.run_id, bus=self.bus)
        child.chat, child.parent, child.rng, child.control = chat, self, self.rng, self.control
        child.gate = self.gate.for_agents(child.agents, chat_stopped=child.chat_stopped)
        child.state.usage, child.state.usage_by_agent = self.state.usage, self.state.usage_by_agent
        child.state.started_at = self.state.started_at
        child._kept = None  # it starts running at once
        child._announcing = self._announcing
        return child

    @property
    def root(self) -> "RunCore":
        """The run's own chat (this one, when it is not inside another)."""
        core = self
        while core.parent is not None:
            core = core.parent
        return core

    @property
    def innermost(self) -> "RunCore":
        """The chat that gives turns now: the deepest open chat inside this one, else this one.
        A person's inject and next-speaker pick go to it."""
        core = self
        while core.open_chats:
            core = core.open_chats[-1]
        return core

    # -- what other parts read ---------------------------------------------------------------
    @property
    def supervisor(self) -> Supervisor:
        """The approval policy and the rules the person granted."""
        return self.gate.supervisor

    @property
    def team_kind(self) -> str:
        """The kind of the team's pattern ("two_agent", "group_chat"; see patterns.py)."""
        return self.settings.kind

    @property
    def team_name(self) -> str:
        """The team's name in the config."""
        return self.settings.team_name

    @property
    def transcript(self) -> list[Message]:
        """Every delivered message, in order."""
        return self.state.transcript

    @property
    def round(self) -> int:
        """Turns given so far in this leg (group-chat rounds)."""
        return self.state.round

    @property
    def agent_turns(self) -> int:
        """Agent messages counted against max_turns (the task counts as one)."""
        return self.state.agent_turns

    @property
    def usage(self) -> Usage:
        """Tokens and cost of the whole run."""
        return self.state.usage

    @property
    def usage_by_agent(self) -> dict[str, Usage]:
        """Tokens and cost per agent (and the speaker selector)."""
        return self.state.usage_by_agent

    @property
    def resumed(self) -> bool:
        """True when the run continues a log."""
        return self.state.resumed

    @property
    def queued(self) -> list[Message]:
        """Human messages held for the next turn."""
        return self.state.queued

    @property
    def forced_next(self) -> tuple[str, str] | None:
        """(agent, note) who speaks next, when a person or a tool reply decided it."""
        return self.state.forced_next

    @property
    def pending(self) -> list[DecisionRequested]:
        """Requests waiting for a decision."""
        return self.gate.pending

    @property
    def paused(self) -> bool:
        """True while the run waits for `resume()` before its next turn."""
        return self.control.paused

    @property
    def started_at(self) -> float:
        """`time.monotonic()` when the run started (for time limits)."""
        return self.state.started_at

    @property
    def total_tokens(self) -> int:
        """Tokens used so far (for budgets)."""
        return self.state.total_tokens

    @property
    def total_cost(self) -> float:
        """USD spent so far (for budgets)."""
        return self.state.total_cost

    @property
    def last_speaker(self) -> str | None:
        """The agent who sent the last agent message (human injections do not count)."""
        return self.state.last_sender_among(self.agents)

    # -- stopping ------------------------------------------------------------------------------
    def request_stop(self, reason: str = "", kind: StopKind = StopKind.STOPPED_BY_USER,
                     sender: Sender | None = None) -> None:
        """End the run as soon as possible: answers pending requests, kills running code.

        `reason`: why, in the stopper's words ("" for a person who gave none: the run's reason then
        names them, "stopped by ann (attached on pts/3)", or says "stopped by you" when the run
        does not know who). The first request is announced as a
        `StopRequested` event (who asked, and their words)."""
        first = not self.control.stopping
        self.control.ask_stop(StopInfo(kind, reason or stopped_by(sender)))
        # a person's stop is theirs; a time limit or another program's stop is not
        by = DecidedBy.HUMAN if kind == StopKind.STOPPED_BY_USER else DecidedBy.POLICY
        if first:
            self.announce(StopRequested(reason=reason, kind=kind, by=by, sender=sender))
        self.gate.answer_all(reason, by, sender)
        self.control.interrupt(waiting_for_decision=bool(self.gate.pending))

    def _record_lost(self, error: Exception) -> None:
        """A required subscriber (the session log) failed: stop rather than go on unrecorded."""
        self.request_stop(f"{error}; the run stopped so that it does not go on unrecorded", StopKind.ERROR)

    def check_stop(self) -> None:
        """Raise RunStop when someone asked the run, or this chat or one it runs inside, to stop."""
        self.control.check()
        info = self.chat_stopped()
        if info is not None:
            raise RunStop(info)

    def chat_stopped(self) -> StopInfo | None:
        """Why this chat must end although the run goes on (it, or a chat it runs inside, was
        stopped alone: `end_chat`), or None."""
        core: RunCore | None = self
        while core is not None:
            if core.chat_stop is not None:
                return core.chat_stop
            core = core.parent
        return None

    def end_chat(self, reason: str = "", sender: Sender | None = None) -> None:
        """End this chat inside the run, not the run: its pending requests are answered with a stop,
        its running code is killed, a turn waiting on a model is cancelled; its loop then ends it
        with `StopKind.CHAT_STOPPED` (announced as a `StopRequested` in this chat)."""
        if self.parent is None:
            raise ValueError("this is the run's own chat: stop the run instead")
        if self.chat_stop is not None:
            return
        self.chat_stop = StopInfo(StopKind.CHAT_STOPPED, reason or stopped_by(sender) + " (this stage only)")
        self.announce(StopRequested(reason=reason, kind=StopKind.CHAT_STOPPED, by=DecidedBy.HUMAN, sender=sender))
        inside = self.chat + "/"
        answered = False
        for event in list(self.gate.pending):
            if event.request.chat == self.chat or event.request.chat.startswith(inside):
                answered = event.resolve(Decision.stop(note=reason, sender=sender)) or answered
        executing = self.control.cancel_code()
        turn = self.control.turn
        if turn is not None and not turn.done() and not answered and not executing and not self.gate.pending:
            turn.cancel()  # a turn waiting on a model; the loop of this chat (or one inside) ends it

    def check_termination(self, message: Message | None) -> None:
        """Raise RunStop when the team's termination condition fires."""
        if self.termination is not None:
            info = self.termination.check(self, message)
            if info:
                raise RunStop(info)

    # -- what turns do -------------------------------------------------------------------------
    async def emit(self, event: Event) -> Event:
        """Send an event to the bus, as this core's chat's unless it names its own."""
        if "chat" not in event.model_fields_set:
            event.chat = self.chat
        return await self.bus.emit(event)

    def announce(self, event: Event) -> None:
        """Emit a control event from sync code (a UI's key, a timer); `announced()` waits for it.

        Asked before the run started (a command line's `--task`, a library caller, a key pressed
        before the run's task began), it is kept and emitted once the run has started."""
        self.when_started(lambda: self.emit(event))

    def when_started(self, step: Callable[[], Awaitable[Any]], tasks: set[asyncio.Task] | None = None) -> None:
        """Run `step()` now, as a task of the running loop (kept in `tasks`, by default the ones
        `announced()` waits for), or, before `run()` started, in order once it has started."""
        if self._kept is not None:
            self._kept.append(step)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a library caller's thread, with no loop: nothing watches
            return
        tracked = self._announcing if tasks is None else tasks
        task = loop.create_task(step())
        tracked.add(task)
        task.add_done_callback(tracked.discard)

    async def release_kept(self) -> None:
        """The run has started: do what controls asked before it, in the order they were asked."""
        while self._kept:
            await self._kept.pop(0)()
        self._kept = None

    async def announced(self) -> None:
        """Wait until every announced control event is emitted (before the run's last event)."""
        while self._announcing:
            await asyncio.gather(*list(self._announcing), return_exceptions=True)

    async def notice(self, text: str, level: str = "info", agent: str | None = None) -> None:
        """Tell whoever watches something worth knowing."""
        await self.emit(Notice(text=text, level=level, agent=agent))

    async def decide(self, request: DecisionRequest, code_hashes: CodeHashes | None = None) -> Decision:
        """Get a decision through the gate (a policy, else a person); see `DecisionGate.decide`."""
        if "chat" not in request.model_fields_set:
            request.chat = self.chat
        return await self.gate.decide(request, code_hashes)

    async def deliver(self, message: Message, sender: Sender | None = None) -> Message:
        """Append a message to the conversation and announce it (`sender`: the person who wrote
        it, for a person's message)."""
        self.state.transcript.append(message)
        await self.emit(MessageDelivered(message=message, round=self.state.round, sender=sender))
        return message

    async def queue(self, message: Message, sender: Sender | None = None) -> None:
        """Hold a human message for the next turn, and say so (and who wrote it)."""
        self.state.queued.append(message)
        await self.emit(MessageQueued(message=message, by=DecidedBy.HUMAN, sender=sender))

    def hold(self, message: Message, sender: Sender | None = None) -> None:
        """Queue a human message for the next turn now; `announce_queued` says so later."""
        self.state.queued.append(message)
        self._unannounced.append((message, sender))

    async def announce_queued(self) -> None:
        """Emit MessageQueued for messages `hold` queued; always before they are delivered."""
        while self._unannounced:
            message, sender = self._unannounced.pop(0)
            await self.emit(MessageQueued(message=message, by=DecidedBy.HUMAN, sender=sender))

    async def record_usage(self, agent: str, completion: "Completion") -> None:
        """Count an LLM call's tokens and cost, for the run and the agent."""
        self.state.count_usage(agent, completion.prompt_tokens, completion.completion_tokens, completion.cost,
                               completion.cached)
        await self.emit(UsageRecorded(agent=agent, model=completion.model,
                                      prompt_tokens=completion.prompt_tokens,
                                      completion_tokens=completion.completion_tokens,
                                      cost=completion.cost, cached=completion.cached,
                                      estimated=completion.usage_estimated))

    async def start_turn(self, agent: ConversableAgent) -> None:
        """Announce a turn."""
        await self.emit(TurnStarted(agent=agent.name, round=self.state.round))
