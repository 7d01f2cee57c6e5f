"""The parts of a run view: agent states, message entries, code blocks, executions, tool calls,
the human controls, and the words a control is said in (the screen, console and transcripts agree).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from enum import Enum

from tuiagents.engine.decisions import READER, ROOT_CHAT, CodeSnippet, DecidedBy, Decision, Sender
from tuiagents.engine.events import (
    AgentInfo, ChatEnded, ChatStarted, CodeCancelRequested, DecisionRecorded, ExecutionFinished, ExecutionStarted,
    NextSpeakerForced, RunPaused, RunResumed, StopKind, StopRequested,
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
    #: the person who wrote it, when the run said (a message given across the run boundary)
    written_by: Sender | None = None
    chat: str = ROOT_CHAT  # the chat the message belongs to

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
    chat: str = ROOT_CHAT  # the chat the code was proposed in


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
    #: the person who paused, when the run says (across the run boundary)
    paused_sender: Sender | None = None
    forced_next: str | None = None
    forced_by: DecidedBy | None = None
    stop_requested: StopRequested | None = None


@dataclass
class ChatView:
    """A chat inside the run (a stage, a nested chat): where it sits, what it was asked, how it
    ended, and its own counters (the run's leg counts only the root chat's turns)."""

    started: "ChatStarted"
    turns: int = 0
    round: int = 0
    settled: tuple[int, int] = (0, 0)  # (turns, round) when its last message was delivered
    ended: "ChatEnded | None" = None
    #: a person asked to end this chat alone (a stage: "this stage only")
    stop_requested: "StopRequested | None" = None

    @property
    def id(self) -> str:
        """The chat's id (events of it carry it as `chat`)."""
        return self.started.chat

    @property
    def parent(self) -> str:
        """The chat it runs inside."""
        return self.started.parent

    @property
    def title(self) -> str:
        """What a person calls it."""
        return self.started.title

    @property
    def summary(self) -> str:
        """What it handed back to its parent ("" while it runs)."""
        return self.ended.summary if self.ended is not None else ""

    @property
    def open(self) -> bool:
        """True until its end was told."""
        return self.ended is None


@dataclass
class Leg:
    """Counters of the current leg (a resumed run starts a new one after a stop), for resume."""

    turns: int = 0
    round: int = 0
    settled: tuple[int, int] = (0, 0)  # (turns, round) when the last message was delivered


def control_words(event: RunPaused | RunResumed | NextSpeakerForced | StopRequested | CodeCancelRequested,
                  viewer: Sender | None = None) -> str:
    """A human control in words, the same on screen, on the console and in transcripts; a live
    view (`viewer`) reads its own controls as "you"."""
    who = event.by.words()
    if event.sender is not None and event.sender == viewer and event.by == DecidedBy.HUMAN:
        who = "you"
    elif event.sender is not None:  # sent across the run boundary: the user and the view it came from
        who = f"{who} ({event.sender.words()})" if who != "you" else event.sender.words()
    if isinstance(event, RunPaused):
        return f"⏸ paused by {who}: the run holds before its next turn"
    if isinstance(event, RunResumed):
        return f"▶ resumed by {who}"
    if isinstance(event, NextSpeakerForced):
        return f"→ {event.agent} speaks next (picked by {who})"
    if isinstance(event, CodeCancelRequested):
        return f"✕ cancel of the running code requested by {who}"
    words = f": {event.reason}" if event.reason else ""  # the stopper's own words, if any
    if event.kind == StopKind.CHAT_STOPPED:  # one stage (or inner chat) ends; the run goes on
        return f"■ stop of this stage alone requested by {who}{words}"
    return f"■ stop requested by {who}{words}"


CONTROL_EVENTS = (RunPaused, RunResumed, NextSpeakerForced, StopRequested, CodeCancelRequested)


def log_reader(events: Iterable[Any]) -> Sender:
    """Who reads a log after the fact (a replay): the one person it names, whose answers and
    controls then read as "you", as they did live; else `READER`, and every person is named."""
    people: dict[tuple[str, str, str], Sender] = {}
    for event in events:
        sender = event.decision.sender if isinstance(event, DecisionRecorded) else getattr(event, "sender", None)
        if isinstance(sender, Sender):
            people.setdefault((sender.user, sender.client, sender.where), sender)
    return next(iter(people.values())) if len(people) == 1 else READER
