"""RunView: the one fold of the event stream, which every reader of a run renders from.

`RunView.apply(event)` is the only place that turns events into state: the run's team and task,
turns and rounds, message entries by id (drafts being streamed, edits, rejections, discarded
drafts, queued and delivered human messages), pending requests by request id, agent states, code
proposals and their blocks by id, executions by id, tool calls by id, usage, the human controls
(paused, forced next speaker, stop requested, each with who did it) and the stop. The cockpit,
the console, transcripts and exports, resume and replay read it; they render, they never re-derive.

Ids, never content: a draft gets an id when its first token arrives (`d<seq>`), and the delivered
message it became is found by the message's own id; a code block is `<proposal id>.<index>`; an
execution is its `exec_id`; a request its request id.

Usage has one meaning everywhere (`engine.usage.Usage`): `calls` counts every LLM call, cache hits
included; tokens and cost count only billed calls.

Adding an event type means one handler in `_FOLD` (a test fails for an event type without one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from tuiagents.engine.decisions import CodeSnippet, DecidedBy, Decision, DecisionKind, RequestKind
from tuiagents.engine.events import (
    AgentInfo, CodeProposed, DecisionRecorded, DecisionRequested, DraftDiscarded, ExecutionFinished,
    ExecutionOutput, ExecutionStarted, MessageDelivered, MessageDrafted, MessageQueued, NextSpeakerForced,
    Notice, RunPaused, RunResumed, RunStarted, RunStopped, SpeakerSelected, StopRequested, TokenDelta,
    ToolCallFinished, ToolCallStarted, TurnStarted, UsageRecorded,
)
from tuiagents.engine.messages import Message, ToolCall, ToolResult
from tuiagents.engine.usage import Usage


class AgentState(str, Enum):
    """What an agent is doing, as every view shows it."""

    IDLE = "idle"
    THINKING = "thinking"
    STREAMING = "streaming"
    WAITING = "waiting for you"
    RUNNING_CODE = "running code"
    RUNNING_TOOL = "running a tool"
    DONE = "done"

    def __str__(self) -> str:
        return self.value

    def __hash__(self) -> int:  # equal to its text, so it hashes like it (dicts keyed by text)
        return str.__hash__(self.value)


class EntryStatus(str, Enum):
    """Where a message entry is in its life."""

    STREAMING = "streaming"  # tokens arriving
    DISCARDED = "discarded"  # the stream broke; its text is void
    DRAFTED = "drafted"  # complete, not yet decided
    WAITING = "waiting"  # a person is asked about it
    DECIDED = "decided"  # approved, edited, injected over: delivery follows
    REJECTED = "rejected"  # sent back with feedback
    NOT_DELIVERED = "not delivered"  # the run stopped before delivery
    INTERRUPTED = "interrupted"  # the run stopped mid-stream
    QUEUED = "queued"  # a human message held for the next turn
    DELIVERED = "delivered"


@dataclass
class AgentView:
    """One agent: its info, what it does now, and its usage."""

    info: AgentInfo
    state: AgentState = AgentState.IDLE
    usage: Usage = field(default_factory=Usage)

    @property
    def name(self) -> str:
        """The agent's name."""
        return self.info.name

    @property
    def prompt_tokens(self) -> int:
        """Billed prompt tokens."""
        return self.usage.prompt_tokens

    @property
    def completion_tokens(self) -> int:
        """Billed completion tokens."""
        return self.usage.completion_tokens

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens used by this agent."""
        return self.usage.total_tokens

    @property
    def cost(self) -> float:
        """USD spent by this agent."""
        return self.usage.cost


@dataclass(eq=False)
class MessageView:
    """A message entry: a draft while it streams or waits, then (maybe) a delivered message.

    `chunks` holds streamed text as it came; `content` joins it once, when read."""

    id: str
    sender: str
    seq: int = 0
    ts: float = 0.0
    status: EntryStatus = EntryStatus.STREAMING
    chunks: list[str] = field(default_factory=list)
    message: Message | None = None  # once delivered (or queued)
    message_id: str | None = None
    request_id: str | None = None
    decision: Decision | None = None
    decided_by: DecidedBy | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    discard_reason: str = ""
    round: int = 0
    queued_by: DecidedBy | None = None
    _joined: int = 0

    @property
    def content(self) -> str:
        """The text so far (joined lazily: a long stream costs linear time, not quadratic)."""
        if len(self.chunks) > 1:
            self.chunks[:] = ["".join(self.chunks)]
        return self.chunks[0] if self.chunks else ""

    def set_content(self, text: str) -> None:
        """Replace the text (a complete draft or a delivered message)."""
        self.chunks[:] = [text]

    @property
    def origin(self) -> str:
        """"agent", "human", "execution" or "tool"."""
        return self.message.origin if self.message is not None else "agent"

    @property
    def recipient(self) -> str | None:
        """Who the message is for (None: everyone)."""
        return self.message.recipient if self.message is not None else None


@dataclass(eq=False)
class BlockView:
    """One code block of a proposal: `id` is `<proposal id>.<index>`."""

    id: str
    proposal_id: str
    index: int
    agent: str
    snippet: CodeSnippet
    executor: str | None = None
    request_id: str | None = None
    decision: Decision | None = None
    exec_id: str | None = None
    status: str = "proposed"  # proposed, waiting, decided, running, finished, not run, skipped


@dataclass(eq=False)
class ProposalView:
    """Code blocks an agent proposed, as one CodeProposed event carried them."""

    id: str
    agent: str
    seq: int
    ts: float
    blocks: list[BlockView]
    executor: str | None = None
    open: bool = True  # blocks may still be decided or run


@dataclass(eq=False)
class ExecutionView:
    """One block that ran: its start, output chunks and end."""

    started: ExecutionStarted
    block_id: str | None = None
    chunks: list[str] = field(default_factory=list)
    finished: ExecutionFinished | None = None
    settled: bool = False  # its result reached the conversation, or the run stopped after it

    @property
    def output(self) -> str:
        """The output so far (joined lazily)."""
        if len(self.chunks) > 1:
            self.chunks[:] = ["".join(self.chunks)]
        return self.chunks[0] if self.chunks else ""


@dataclass(eq=False)
class ToolView:
    """A tool call and, once returned, its result."""

    agent: str
    call: ToolCall
    seq: int
    ts: float
    result: ToolResult | None = None


@dataclass
class Controls:
    """The human controls as the log says they were used: who paused, forced, asked to stop."""

    paused: bool = False
    paused_by: DecidedBy | None = None
    forced_next: str | None = None
    forced_by: DecidedBy | None = None
    stop_requested: StopRequested | None = None


@dataclass
class Leg:
    """Counters of the current leg (a resumed run starts a new one after a stop), for resume."""

    turns: int = 0
    round: int = 0
    settled: tuple[int, int] = (0, 0)  # (turns, round) when the last message was delivered


@dataclass
class RunView:
    """A run as every reader sees it, built by `apply(event)` from events alone (live or logged)."""

    run_id: str = ""
    team: str = ""
    team_kind: str = "two_agent"
    task: str = ""
    selection: str | None = None
    agents: dict[str, AgentView] = field(default_factory=dict)
    turns: int = 0
    rounds: int = 0
    round: int = 0
    speaker: str | None = None
    next_speaker: str | None = None
    next_note: str = ""
    entries: dict[str, MessageView] = field(default_factory=dict)
    by_message_id: dict[str, str] = field(default_factory=dict)  # message id -> entry id
    drafts: dict[str, str] = field(default_factory=dict)  # agent -> its open draft's entry id
    queued: dict[str, str] = field(default_factory=dict)  # message id -> entry id, not yet delivered
    messages: list[Message] = field(default_factory=list)  # delivered, in order
    requests: dict[str, DecisionRequested] = field(default_factory=dict)  # every request, by id
    waiting: dict[str, DecisionRequested] = field(default_factory=dict)  # requests not yet answered, by id
    decisions: list[DecisionRecorded] = field(default_factory=list)
    proposals: dict[str, ProposalView] = field(default_factory=dict)
    blocks: dict[str, BlockView] = field(default_factory=dict)
    executions: dict[str, ExecutionView] = field(default_factory=dict)
    tools: dict[str, ToolView] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    usage_by_agent: dict[str, Usage] = field(default_factory=dict)  # team agents and others (selector)
    usage_by_model: dict[str, Usage] = field(default_factory=dict)
    controls: Controls = field(default_factory=Controls)
    stopped_event: RunStopped | None = None
    leg: Leg = field(default_factory=Leg)
    legs: int = 0
    started_ts: float | None = None
    stopped_ts: float | None = None
    first_ts: float | None = None
    last_ts: float = 0.0
    #: Every event applied, in order (the timeline renderers walk), without token deltas.
    events: list[Any] = field(default_factory=list)
    keep_events: bool = True

    # -- the fold ------------------------------------------------------------------------------
    def apply(self, event: Any) -> None:
        """Fold one event into the view (an event type without a handler is an error)."""
        ts = getattr(event, "ts", 0.0) or 0.0
        if self.first_ts is None:
            self.first_ts = ts
        self.last_ts = max(self.last_ts, ts)
        _FOLD[type(event)](self, event)
        if self.keep_events and type(event) is not TokenDelta:
            self.events.append(event)

    def apply_all(self, events: Iterable[Any]) -> "RunView":
        """Fold many events; returns the view."""
        for event in events:
            self.apply(event)
        return self

    # -- what readers ask ------------------------------------------------------------------------
    @property
    def stop_reason(self) -> str | None:
        """Why the run stopped, or None while it runs (or when the log ends without a stop)."""
        return self.stopped_event.reason if self.stopped_event else None

    @property
    def stop_kind(self) -> str | None:
        """The stop's kind as text, or None."""
        return self.stopped_event.kind.value if self.stopped_event else None

    @property
    def stopped(self) -> bool:
        """True once the run has ended."""
        return self.stopped_event is not None

    @property
    def paused(self) -> bool:
        """True while the run holds before its next turn."""
        return self.controls.paused

    @property
    def stop_requested(self) -> bool:
        """True once a stop was asked for (RunStopped may not have come yet)."""
        return self.controls.stop_requested is not None

    @property
    def is_group(self) -> bool:
        """True for group chats."""
        return self.team_kind == "group_chat"

    @property
    def total_tokens(self) -> int:
        """Billed tokens of every call."""
        return self.usage.total_tokens

    @property
    def total_cost(self) -> float:
        """USD of every call."""
        return self.usage.cost

    @property
    def pending(self) -> list[DecisionRequested]:
        """Requests not yet recorded as answered, oldest first."""
        return list(self.waiting.values())

    def open_requests(self) -> list[DecisionRequested]:
        """Requests still waiting, oldest first; a live request answered a moment ago drops out
        at once (its future is done), before the engine records the decision."""
        return [p for p in self.waiting.values() if p.future is None or not p.future.done()]

    def agent(self, name: str | None) -> AgentView | None:
        """The view of `name`, or None."""
        return self.agents.get(name) if name else None

    def elapsed(self, now: float) -> float:
        """Seconds since the run started, frozen once it stopped."""
        if self.started_ts is None:
            return 0.0
        end = self.stopped_ts if self.stopped_ts is not None else now
        return max(0.0, end - self.started_ts)

    def draft_of(self, agent: str) -> MessageView | None:
        """`agent`'s open draft (streaming, drafted or waiting), if any."""
        entry_id = self.drafts.get(agent)
        return self.entries.get(entry_id) if entry_id else None

    def entry_for_message(self, message_id: str) -> MessageView | None:
        """The entry showing the message with this id."""
        entry_id = self.by_message_id.get(message_id)
        return self.entries.get(entry_id) if entry_id else None

    def open_blocks(self, agent: str) -> list[BlockView]:
        """Runnable blocks of `agent`'s open proposal that have not run yet."""
        proposal = self._open_proposal(agent)
        if proposal is None:
            return []
        return [b for b in proposal.blocks if b.snippet.runnable and b.exec_id is None
                and b.status not in ("skipped", "not run")]

    def unfinished_code(self) -> list[ExecutionView]:
        """Blocks whose result never reached the conversation: a crash cut them off, or came
        between their end and the execution message (after a stop nothing is open)."""
        return [x for x in self.executions.values() if not x.settled]

    # -- helpers ---------------------------------------------------------------------------------
    def _set(self, name: str | None, state: AgentState) -> None:
        view = self.agent(name)
        if view is not None:
            view.state = state

    def _other(self, name: str) -> str | None:
        others = [n for n in self.agents if n != name]
        return others[0] if len(others) == 1 else None

    def _open_proposal(self, agent: str) -> ProposalView | None:
        for proposal in reversed(self.proposals.values()):
            if proposal.agent == agent:
                return proposal if proposal.open else None
        return None

    def _new_draft(self, agent: str, event: Any) -> MessageView:
        entry = MessageView(id=f"d{event.seq or len(self.entries) + 1}", sender=agent, seq=event.seq, ts=event.ts)
        while entry.id in self.entries:  # events without seq (built by hand in tests)
            entry.id += "'"
        self.entries[entry.id] = entry
        self.drafts[agent] = entry.id
        return entry

    def _open_draft(self, agent: str) -> MessageView | None:
        entry = self.draft_of(agent)
        if entry is None or entry.status in (EntryStatus.DISCARDED, EntryStatus.REJECTED):
            return None
        return entry


# -- one handler per event type ------------------------------------------------------------------
def _run_started(v: RunView, e: RunStarted) -> None:
    if not v.run_id:
        v.run_id, v.team, v.team_kind, v.task = e.run_id, e.team, e.team_kind, e.task
    v.team_kind = e.team_kind
    v.selection = e.speaker_selection
    for info in e.agents:
        v.agents.setdefault(info.name, AgentView(info=info)).info = info
    v.started_ts = e.ts
    v.stopped_event = v.stopped_ts = None  # a resumed run goes on after an earlier stop
    v.controls = Controls()
    v.legs += 1


def _turn_started(v: RunView, e: TurnStarted) -> None:
    v.turns += 1
    v.rounds = max(v.rounds, e.round)
    v.leg.turns += 1
    v.leg.round = max(v.leg.round, e.round)
    v.speaker, v.round = e.agent, e.round
    v._set(e.agent, AgentState.THINKING)
    if v.team_kind == "two_agent":
        v.next_speaker, v.next_note = v._other(e.agent), ""
    elif v.selection == "round_robin" and e.agent in v.agents:
        names = list(v.agents)
        v.next_speaker, v.next_note = names[(names.index(e.agent) + 1) % len(names)], "round robin"
    elif v.next_speaker == e.agent:
        v.next_speaker, v.next_note = None, ""
    if v.controls.forced_next == e.agent:
        v.controls.forced_next = v.controls.forced_by = None
    entry = v.draft_of(e.agent)
    if entry is not None and entry.status in (EntryStatus.DISCARDED, EntryStatus.REJECTED):
        v.drafts.pop(e.agent, None)


def _token_delta(v: RunView, e: TokenDelta) -> None:
    entry = v.draft_of(e.agent)
    if entry is None or entry.status != EntryStatus.STREAMING:
        entry = v._new_draft(e.agent, e)
    entry.chunks.append(e.text)
    v._set(e.agent, AgentState.STREAMING)


def _draft_discarded(v: RunView, e: DraftDiscarded) -> None:
    entry = v.draft_of(e.agent)
    if entry is not None and entry.status == EntryStatus.STREAMING:
        entry.status, entry.discard_reason = EntryStatus.DISCARDED, e.reason  # stays the agent's draft
    v._set(e.agent, AgentState.THINKING)  # asking again


def _message_drafted(v: RunView, e: MessageDrafted) -> None:
    entry = v._open_draft(e.agent)
    if entry is None:
        entry = v._new_draft(e.agent, e)
    entry.set_content(e.content)
    entry.status, entry.tool_calls = EntryStatus.DRAFTED, list(e.tool_calls)
    v._set(e.agent, AgentState.IDLE)


def _decision_requested(v: RunView, e: DecisionRequested) -> None:
    request = e.request
    v.requests[request.id] = e
    v.waiting[request.id] = e
    if request.kind == RequestKind.MESSAGE:
        entry = v._open_draft(request.agent)
        if entry is not None:
            entry.status, entry.request_id = EntryStatus.WAITING, request.id
    elif request.kind == RequestKind.CODE:
        for block in v.open_blocks(request.agent):
            block.status, block.request_id = "waiting", request.id
    v._set(request.agent, AgentState.WAITING)
    if v.speaker and not v.stopped:
        v._set(v.speaker, AgentState.WAITING)  # e.g. the proxy that will run the coder's code


def _decision_recorded(v: RunView, e: DecisionRecorded) -> None:
    v.decisions.append(e)
    v.waiting.pop(e.request_id, None)
    d = e.decision
    if not any(p.request.agent == e.agent for p in v.waiting.values()):
        v._set(e.agent, AgentState.IDLE)
    speaker = v.agent(v.speaker)
    if speaker is not None and speaker.state == AgentState.WAITING and not v.waiting:
        speaker.state = AgentState.THINKING
    if d.kind == DecisionKind.CHOOSE_SPEAKER and d.target:
        v.next_speaker, v.next_note = d.target, "chosen by you"
    if e.request_kind == RequestKind.MESSAGE:
        entry = v._open_draft(e.agent)
        if entry is not None:
            entry.decision, entry.decided_by, entry.request_id = d, d.by, e.request_id
            entry.status = {DecisionKind.REJECT: EntryStatus.REJECTED,
                            DecisionKind.STOP: EntryStatus.NOT_DELIVERED}.get(d.kind, EntryStatus.DECIDED)
    elif e.request_kind == RequestKind.CODE:
        proposal = v._open_proposal(e.agent)
        for block in v.open_blocks(e.agent):
            block.decision, block.request_id = d, e.request_id
            block.status = "decided" if d.kind in (DecisionKind.APPROVE, DecisionKind.EDIT) else "skipped"
        if proposal is not None and d.kind not in (DecisionKind.APPROVE, DecisionKind.EDIT):
            proposal.open = False


def _message_delivered(v: RunView, e: MessageDelivered) -> None:
    m = e.message
    v.messages.append(m)
    v.leg.settled = (v.leg.turns, v.leg.round)
    entry = v.entries.get(v.queued.pop(m.id, "")) if m.id in v.queued else None
    if entry is None and m.origin == "human" and m.sender == "human" and v.queued:
        # a log written before messages had ids: queued messages are delivered in order
        oldest = next(iter(v.queued))
        queued = v.entries.get(v.queued.pop(oldest))
        if queued is not None and queued.recipient == m.recipient:
            entry = queued
    if entry is None and m.origin == "agent":
        entry = v._open_draft(m.sender)
        v.drafts.pop(m.sender, None)
    if entry is None:
        entry = MessageView(id=m.id, sender=m.sender, seq=e.seq, ts=e.ts)
        v.entries[entry.id] = entry
    entry.message, entry.message_id, entry.round = m, m.id, e.round
    entry.set_content(m.content)
    entry.tool_calls = list(m.tool_calls)
    entry.status = EntryStatus.DELIVERED
    v.by_message_id[m.id] = entry.id
    view = v.agent(m.sender)
    if view is not None and view.state in (AgentState.THINKING, AgentState.STREAMING):
        view.state = AgentState.IDLE
    if m.origin == "execution":
        for x in v.executions.values():
            if x.started.agent == m.sender:
                x.settled = True
        for proposal in v.proposals.values():
            proposal.open = False


def _message_queued(v: RunView, e: MessageQueued) -> None:
    m = e.message
    entry = MessageView(id=m.id, sender=m.sender, seq=e.seq, ts=e.ts, status=EntryStatus.QUEUED,
                        message=m, message_id=m.id, queued_by=e.by)
    entry.set_content(m.content)
    v.entries.setdefault(entry.id, entry)
    v.queued[m.id] = entry.id
    v.by_message_id[m.id] = entry.id


def _tool_started(v: RunView, e: ToolCallStarted) -> None:
    v.tools[e.call.id] = ToolView(agent=e.agent, call=e.call, seq=e.seq, ts=e.ts)
    v._set(e.agent, AgentState.RUNNING_TOOL)


def _tool_finished(v: RunView, e: ToolCallFinished) -> None:
    tool = v.tools.get(e.result.call_id)
    if tool is None:  # a result without a start (a skipped call)
        tool = v.tools[e.result.call_id] = ToolView(agent=e.agent, seq=e.seq, ts=e.ts,
                                                    call=ToolCall(id=e.result.call_id, name=e.result.name))
    tool.result = e.result
    v._set(e.agent, AgentState.IDLE)


def _code_proposed(v: RunView, e: CodeProposed) -> None:
    for proposal in v.proposals.values():
        if proposal.agent == e.agent:
            proposal.open = False
    pid = f"c{e.seq or len(v.proposals) + 1}"
    while pid in v.proposals:
        pid += "'"
    blocks = [BlockView(id=f"{pid}.{i}", proposal_id=pid, index=i, agent=e.agent, snippet=b, executor=e.executor,
                        status="proposed" if b.runnable else "not runnable") for i, b in enumerate(e.blocks)]
    v.proposals[pid] = ProposalView(id=pid, agent=e.agent, seq=e.seq, ts=e.ts, blocks=blocks, executor=e.executor)
    for b in blocks:
        v.blocks[b.id] = b


def _execution_started(v: RunView, e: ExecutionStarted) -> None:
    run = ExecutionView(started=e)
    if e.source_agent is not None:
        waiting = v.open_blocks(e.source_agent)
    else:  # an older log that did not say whose code it was: the open proposal
        waiting = next((bs for p in reversed(v.proposals.values()) if (bs := v.open_blocks(p.agent))), [])
    block = next((b for b in waiting if b.index == e.block_index), None) or (waiting[0] if waiting else None)
    if block is not None:
        block.exec_id, block.status, run.block_id = e.exec_id, "running", block.id
    v.executions[e.exec_id] = run
    v._set(e.agent, AgentState.RUNNING_CODE)


def _execution_output(v: RunView, e: ExecutionOutput) -> None:
    run = v.executions.get(e.exec_id)
    if run is not None:
        run.chunks.append(e.text)


def _execution_finished(v: RunView, e: ExecutionFinished) -> None:
    run = v.executions.get(e.exec_id)
    if run is not None:
        run.finished = e
        block = v.blocks.get(run.block_id or "")
        if block is not None:
            block.status = "finished"
    v._set(e.agent, AgentState.IDLE)


def _speaker_selected(v: RunView, e: SpeakerSelected) -> None:
    v.next_speaker, v.next_note = e.agent, e.method


def _usage(v: RunView, e: UsageRecorded) -> None:
    view = v.agent(e.agent)
    targets = [v.usage, v.usage_by_agent.setdefault(e.agent, Usage()), v.usage_by_model.setdefault(e.model, Usage())]
    if view is not None:
        targets.append(view.usage)
    for u in targets:
        u.add_event(e)


def _notice(v: RunView, e: Notice) -> None:
    pass  # nothing to keep but the event itself (in `events`)


def _run_stopped(v: RunView, e: RunStopped) -> None:
    v.stopped_event, v.stopped_ts = e, e.ts
    v.waiting.clear()
    v.controls.paused = False
    for entry_id in v.drafts.values():
        entry = v.entries[entry_id]
        if entry.status == EntryStatus.STREAMING:
            entry.status = EntryStatus.INTERRUPTED
        elif entry.status in (EntryStatus.DRAFTED, EntryStatus.WAITING):
            entry.status = EntryStatus.NOT_DELIVERED
    v.drafts.clear()
    for proposal in v.proposals.values():
        if proposal.open:
            for block in proposal.blocks:
                if block.status in ("proposed", "waiting", "decided"):
                    block.status = "not run"
            proposal.open = False
    for view in v.agents.values():
        view.state = AgentState.DONE
    for run in v.executions.values():
        run.settled = True  # a stopped run already told its blocks' ends
    v.leg = Leg()


def _paused(v: RunView, e: RunPaused) -> None:
    v.controls.paused, v.controls.paused_by = True, e.by


def _resumed(v: RunView, e: RunResumed) -> None:
    v.controls.paused, v.controls.paused_by = False, None


def _forced(v: RunView, e: NextSpeakerForced) -> None:
    v.controls.forced_next, v.controls.forced_by = e.agent, e.by
    v.next_speaker, v.next_note = e.agent, "your pick" if e.by == DecidedBy.HUMAN else e.by.words()


def _stop_requested(v: RunView, e: StopRequested) -> None:
    v.controls.stop_requested = e


_FOLD: dict[type, Callable[[RunView, Any], None]] = {
    RunStarted: _run_started, TurnStarted: _turn_started, TokenDelta: _token_delta,
    DraftDiscarded: _draft_discarded, MessageDrafted: _message_drafted, DecisionRequested: _decision_requested,
    DecisionRecorded: _decision_recorded, MessageDelivered: _message_delivered, MessageQueued: _message_queued,
    ToolCallStarted: _tool_started, ToolCallFinished: _tool_finished, CodeProposed: _code_proposed,
    ExecutionStarted: _execution_started, ExecutionOutput: _execution_output,
    ExecutionFinished: _execution_finished, SpeakerSelected: _speaker_selected, UsageRecorded: _usage,
    Notice: _notice, RunStopped: _run_stopped, RunPaused: _paused, RunResumed: _resumed,
    NextSpeakerForced: _forced, StopRequested: _stop_requested,
}


def control_words(event: RunPaused | RunResumed | NextSpeakerForced | StopRequested) -> str:
    """A human control in words, the same on screen, on the console and in transcripts."""
    who = event.by.words()
    if isinstance(event, RunPaused):
        return f"⏸ paused by {who}: the run holds before its next turn"
    if isinstance(event, RunResumed):
        return f"▶ resumed by {who}"
    if isinstance(event, NextSpeakerForced):
        return f"→ {event.agent} speaks next (picked by {who})"
    return f"■ stop requested by {who}: {event.reason}"


CONTROL_EVENTS = (RunPaused, RunResumed, NextSpeakerForced, StopRequested)


def handled_event_types() -> set[type]:
    """The event types the fold handles (the exhaustiveness test compares it with `Event`)."""
    return set(_FOLD)


def fold(events: Iterable[Any]) -> RunView:
    """A view of `events` (a log's events, or any iterable)."""
    return RunView().apply_all(events)
