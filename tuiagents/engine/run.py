"""TeamRun: one run of a two-agent chat or a group chat, from the task to the stop reason.

The run owns the shared transcript, the supervisor gate (`decide`), the human controls a UI
calls at any time (stop, inject, pause, next speaker, cancel code) and the event stream.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from tuiagents.engine.agent import ConversableAgent
from tuiagents.engine.bus import EventBus
from tuiagents.engine.decisions import DecidedBy, Decision, DecisionKind, DecisionRequest
from tuiagents.engine.events import (
    DecisionRecorded, DecisionRequested, MessageDelivered, MessageQueued, Notice, RunStarted, RunStopped, StopKind,
    TurnStarted, UsageRecorded,
)
from tuiagents.engine.messages import Message
from tuiagents.engine.speaker import SpeakerFunction, make_rng
from tuiagents.engine.supervisor import ALLOWED, InvalidDecision, Supervisor, inject_problem
from tuiagents.engine.termination import StopInfo, TerminationCondition, enforced_timeout
from tuiagents.engine.usage import Usage


class RunStop(Exception):
    """Raised inside a turn to end the run with `info`."""

    def __init__(self, info: StopInfo) -> None:
        super().__init__(info.reason)
        self.info = info


@dataclass
class RunResult:
    """What a finished run hands back: history, summary, usage and why it stopped."""

    run_id: str
    chat_history: list[Message]
    summary: str
    stop_reason: str
    stop_kind: StopKind
    usage: Usage
    usage_by_agent: dict[str, Usage] = field(default_factory=dict)


class TeamRun:
    """Runs a team on a task and emits every step as an event."""

    def __init__(
        self,
        agents: list[ConversableAgent],
        task: str,
        *,
        kind: Literal["two_agent", "group_chat"] = "two_agent",
        team_name: str = "team",
        max_turns: int | None = None,
        max_rounds: int = 12,
        speaker_selection: str | SpeakerFunction = "auto",
        allow_repeat_speaker: bool = True,
        allowed_transitions: dict[str, list[str]] | None = None,
        disallowed_transitions: dict[str, list[str]] | None = None,
        selector_llm: Any = None,
        selector_model: str | None = None,
        termination: TerminationCondition | None = None,
        supervisor: Supervisor | None = None,
        summary_method: Literal["last_msg", "reflection"] = "last_msg",
        run_id: str | None = None,
        bus: EventBus | None = None,
        seed: int | None = None,
    ) -> None:
        if kind == "two_agent" and len(agents) != 2:
            raise ValueError("a two-agent chat needs exactly two agents")
        self.agents: dict[str, ConversableAgent] = {a.name: a for a in agents}
        if len(self.agents) != len(agents):
            raise ValueError("agent names must be unique")
        self.task = task
        self.team_kind = kind
        self.team_name = team_name
        self.max_turns = max_turns
        self.max_rounds = max_rounds
        self.speaker_selection = speaker_selection
        self.allow_repeat_speaker = allow_repeat_speaker
        self.allowed_transitions = allowed_transitions
        self.disallowed_transitions = disallowed_transitions
        self.selector_llm = selector_llm or next((a.llm for a in agents if a.llm), None)
        self.selector_model = selector_model or next((a.model for a in agents if a.llm), None)
        self.selector_attempts = 3
        self.termination = termination
        self.supervisor = supervisor or Supervisor()
        self.summary_method = summary_method
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.bus = bus or EventBus()
        if self.bus.on_required_failure is None:
            self.bus.on_required_failure = self._record_lost
        self.rng = make_rng(seed)
        # state, rebuilt from a log on resume
        self.transcript: list[Message] = []
        self.round = 0
        self.agent_turns = 0
        self.usage = Usage()
        self.usage_by_agent: dict[str, Usage] = {}
        self.resumed = False
        # human controls
        self.pending: list[DecisionRequested] = []
        self.queued: list[Message] = []
        self._unannounced: list[Message] = []
        self._deliveries: set[asyncio.Task] = set()  # `inject(now=True)` deliveries in flight
        self.forced_next: tuple[str, str] | None = None
        self.current_speaker: str | None = None
        self.started_at = time.monotonic()
        self._stop: StopInfo | None = None
        self._running = asyncio.Event()
        self._running.set()
        self._turn_task: asyncio.Task | None = None
        self._cancel_exec: asyncio.Event | None = None
        self.stopped: RunStopped | None = None
        # resources built by the factory, released by aclose()
        self.executors: list[Any] = []
        self.work_dir: Any = None
        self.llm: Any = None
        self.session_path: Any = None
        # told right after RunStarted (e.g. "resumed from ..."); a Notice keeps its level and agent
        self.startup_notices: list[str | Notice] = []
        self.session_writer: Any = None

    # -- state other parts read ------------------------------------------------------------
    @property
    def last_speaker(self) -> str | None:
        """The agent who sent the last agent message (human injections do not count)."""
        for m in reversed(self.transcript):
            if m.sender in self.agents:
                return m.sender
        return None

    @property
    def total_tokens(self) -> int:
        """Tokens used so far (for budgets)."""
        return self.usage.total_tokens

    @property
    def total_cost(self) -> float:
        """USD spent so far (for budgets)."""
        return self.usage.cost

    @property
    def paused(self) -> bool:
        """True while the run waits for `resume()` before its next turn."""
        return not self._running.is_set()

    # -- human controls (call from the UI at any time) ---------------------------------------
    def request_stop(self, reason: str = "stopped by you", kind: StopKind = StopKind.STOPPED_BY_USER) -> None:
        """End the run as soon as possible: answers pending requests, kills running code."""
        if self._stop is None:
            self._stop = StopInfo(kind, reason)
        # a person's stop is theirs; a time limit or another program's stop is not
        by = DecidedBy.HUMAN if kind == StopKind.STOPPED_BY_USER else DecidedBy.POLICY
        for ev in list(self.pending):
            ev.resolve(Decision.stop(note=reason, by=by))
        # Running code is stopped through its cancel flag, not by cancelling the turn: the
        # executor then kills it, cleans up and reports how it ended (ExecutionFinished).
        executing = self._cancel_exec is not None and not self._cancel_exec.is_set()
        if self._cancel_exec is not None:
            self._cancel_exec.set()
        self._running.set()
        if self._turn_task is not None and not self._turn_task.done() and not self.pending and not executing:
            self._turn_task.cancel()

    def _record_lost(self, error: Exception) -> None:
        """A required subscriber (the session log) failed: stop rather than go on unrecorded."""
        self.request_stop(f"{error}; the run stopped so that it does not go on unrecorded", StopKind.ERROR)

    def inject(self, text: str, target: str = "all", now: bool = False) -> Message:
        """Add a human message for `target` (an agent or "all"), now or before the next turn."""
        problem = inject_problem(text, target, self.agents)
        if problem:
            raise ValueError(problem)
        message = Message(sender="human", content=text, origin="human",
                          recipient=None if target == "all" else target)
        if now:
            self._spawn(self.deliver(message))
        else:
            self.queued.append(message)
            self._unannounced.append(message)
            self._spawn(self.announce_queued())
        return message

    async def queue(self, message: Message) -> None:
        """Hold a human message for the next turn, and say so."""
        self.queued.append(message)
        await self.emit(MessageQueued(message=message))

    async def announce_queued(self) -> None:
        """Emit MessageQueued for messages `inject` queued; always before they are delivered."""
        while self._unannounced:
            await self.emit(MessageQueued(message=self._unannounced.pop(0)))

    def _spawn(self, coro: Any) -> None:
        # Keep a reference until it ran: the event loop holds tasks only weakly, so an
        # unreferenced delivery could be garbage-collected before the message is delivered.
        task = asyncio.get_running_loop().create_task(coro)
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    def pause(self) -> None:
        """Hold the run before its next turn."""
        self._running.clear()

    def resume(self) -> None:
        """Let a paused run go on."""
        self._running.set()

    def set_next_speaker(self, name: str) -> None:
        """Make `name` speak next (group and two-agent chats), overriding the usual order once."""
        if name not in self.agents:
            raise ValueError(f"no agent named {name!r}; choose one of: {', '.join(self.agents)}")
        self.forced_next = (name, "picked by you")

    def cancel_execution(self) -> bool:
        """Kill the code block that is running, if any."""
        if self._cancel_exec is not None and not self._cancel_exec.is_set():
            self._cancel_exec.set()
            return True
        return False

    # -- engine internals used by turns --------------------------------------------------------
    async def emit(self, event: Any) -> Any:
        """Send an event to the bus."""
        return await self.bus.emit(event)

    async def notice(self, text: str, level: str = "info", agent: str | None = None) -> None:
        """Tell whoever watches something worth knowing."""
        await self.emit(Notice(text=text, level=level, agent=agent))

    async def deliver(self, message: Message) -> Message:
        """Append a message to the conversation and announce it."""
        self.transcript.append(message)
        await self.emit(MessageDelivered(message=message, round=self.round))
        return message

    async def record_usage(self, agent: str, completion: Any) -> None:
        """Count an LLM call's tokens and cost, for the run and the agent."""
        for u in (self.usage, self.usage_by_agent.setdefault(agent, Usage())):
            u.add(completion.prompt_tokens, completion.completion_tokens, completion.cost, completion.cached)
        await self.emit(UsageRecorded(agent=agent, model=completion.model,
                                      prompt_tokens=completion.prompt_tokens,
                                      completion_tokens=completion.completion_tokens,
                                      cost=completion.cost, cached=completion.cached,
                                      estimated=getattr(completion, "usage_estimated", False)))

    def check_stop(self) -> None:
        """Raise RunStop when someone asked the run to stop."""
        if self._stop is not None:
            raise RunStop(self._stop)

    async def decide(self, request: DecisionRequest, code_hashes: Any = None) -> Decision:
        """Get a decision from a policy or, failing that, from a person; record it.

        ``code_hashes(decision)``, for code requests, gives the sha256 of the blocks an
        approval or edit will run; they are recorded with the decision.
        """
        self.check_stop()
        request.allowed = request.allowed or list(ALLOWED[request.kind])
        decision = self.supervisor.policy_decision(request)
        while decision is None:
            event = DecisionRequested(request=request)
            future: asyncio.Future = asyncio.get_running_loop().create_future()
            event._future = future
            self.pending.append(event)
            try:
                await self.emit(event)
                if self._stop is not None:
                    event.resolve(Decision.stop(note=self._stop.reason))
                candidate = await future
            finally:
                self.pending.remove(event)
            try:
                self.supervisor.check(request, candidate, self.agents)
                decision = candidate
            except InvalidDecision as exc:
                await self.notice(str(exc), "warning", request.agent)
        if code_hashes is not None and decision.kind in (DecisionKind.APPROVE, DecisionKind.EDIT):
            decision = decision.model_copy(update={"code_sha256": code_hashes(decision)})
        rule = self.supervisor.remember(request, decision)
        if rule is not None:
            await self.notice(f"approved for this session: {rule.describe()}", agent=request.agent)
        await self.emit(DecisionRecorded(request_id=request.id, request_kind=request.kind,
                                         agent=request.agent, decision=decision))
        if decision.kind == DecisionKind.STOP:
            self.request_stop(self._stop.reason if self._stop else "stopped by you")
            self.check_stop()
        return decision

    def check_termination(self, message: Message | None) -> None:
        """Raise RunStop when the team's termination condition fires."""
        if self.termination is not None:
            info = self.termination.check(self, message)
            if info:
                raise RunStop(info)

    # -- the run ---------------------------------------------------------------------------------
    def started_event(self) -> RunStarted:
        """The RunStarted event describing this run."""
        return RunStarted(run_id=self.run_id, team=self.team_name, team_kind=self.team_kind,
                          task=self.task, agents=[a.info for a in self.agents.values()],
                          speaker_selection=self.speaker_selection if isinstance(self.speaker_selection, str)
                          else "custom",
                          max_rounds=self.max_rounds if self.team_kind == "group_chat" else None,
                          max_turns=self.max_turns if self.team_kind == "two_agent" else None,
                          resumed=self.resumed)

    async def run(self) -> RunResult:
        """Run until a stop condition; always ends with a RunStopped event."""
        from tuiagents.engine.loop import run_loop, summarize

        self.started_at = time.monotonic()
        await self.emit(self.started_event())
        for item in self.startup_notices:  # a Notice keeps its level and agent (shown in that pane)
            await (self.emit(item) if isinstance(item, Notice) else self.notice(item))
        limit = enforced_timeout(self.termination)
        timer = None
        if limit is not None:  # also stop mid-turn (slow model, unanswered request), see Timeout
            stop = limit.stop_info()
            timer = asyncio.get_running_loop().call_later(limit.seconds, self.request_stop, stop.reason, stop.kind)
        try:
            info = await run_loop(self)
        except Exception as exc:  # noqa: BLE001 - any failure must still end the run cleanly
            info = StopInfo(StopKind.ERROR, f"run failed: {type(exc).__name__}: {exc}")
            await self.notice(info.reason, "error")
        finally:
            if timer is not None:
                timer.cancel()
        summary = await summarize(self)
        self.stopped = await self.emit(RunStopped(reason=info.reason, kind=info.kind, summary=summary))
        return RunResult(run_id=self.run_id, chat_history=list(self.transcript), summary=summary,
                         stop_reason=info.reason, stop_kind=info.kind, usage=self.usage,
                         usage_by_agent=dict(self.usage_by_agent))

    async def aclose(self) -> None:
        """Release executors (their containers) and the model client; safe to call twice."""
        for executor in self.executors:
            try:
                await executor.close()
            except Exception as exc:  # noqa: BLE001 - cleanup must reach every executor
                await self.notice(f"could not clean up the {executor.kind} executor: {exc}", "warning")
        self.executors = []
        if self.llm is not None and hasattr(self.llm, "aclose"):
            await self.llm.aclose()
        if self.session_writer is not None:
            self.session_writer.close()

    async def start_turn(self, agent: ConversableAgent) -> None:
        """Announce a turn."""
        self.current_speaker = agent.name
        await self.emit(TurnStarted(agent=agent.name, round=self.round))

    def on_turn(self, task: asyncio.Task | None) -> None:
        """Remember the running turn so a stop can cancel it."""
        self._turn_task = task

    def new_cancel_event(self) -> asyncio.Event:
        """A fresh cancel flag for a code block about to run."""
        self._cancel_exec = asyncio.Event()
        if self._stop is not None:
            self._cancel_exec.set()
        return self._cancel_exec

    async def wait_running(self) -> None:
        """Block while paused."""
        await self._running.wait()


