"""Typed events the engine emits; the session log, the UI and the console all consume these.

Every event is a pydantic model with a `type` discriminator, so a log line parses back into the
same class (`parse_event`), and carries the chat it belongs to (`chat`; `ROOT_CHAT` for the run's
own, which is all a log of format 1 holds). A `DecisionRequested` event also carries a future (never serialized)
that whoever supervises resolves with a `Decision`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from enum import Enum
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, TypeAdapter

from tuiagents.engine.decisions import (
    ROOT_CHAT, CodeSnippet, DecidedBy, Decision, DecisionRequest, RequestKind, Sender,
)
from tuiagents.engine.messages import Message, ToolCall, ToolResult


class AgentInfo(BaseModel):
    """What the UI needs to know about an agent to give it a pane."""

    name: str
    kind: str = "conversable"
    model: str | None = None
    description: str = ""
    human_input_mode: str = "NEVER"
    code_execution: str = "none"
    executor: str | None = None


class StopKind(str, Enum):
    """Machine-readable cause of a stop; `RunStopped.reason` says it in words."""

    MAX_TURNS = "max_turns"
    MAX_ROUNDS = "max_rounds"
    TERMINATION_MESSAGE = "termination_message"
    MAX_MESSAGES = "max_messages"
    TOKEN_BUDGET = "token_budget"
    COST_BUDGET = "cost_budget"
    TIMEOUT = "timeout"
    STOPPED_BY_USER = "stopped_by_user"
    EXTERNAL = "external"
    NO_REPLY = "no_reply"
    ERROR = "error"
    #: a person ended one chat inside the run (a stage), not the run
    CHAT_STOPPED = "chat_stopped"


class _Event(BaseModel):
    model_config = ConfigDict(use_enum_values=False)
    seq: int = 0
    ts: float = Field(default_factory=time.time)
    #: the chat the event belongs to: the run's root chat, or a chat inside it (a stage of a
    #: sequence, a nested chat); views key drafts, proposals and executions by (chat, agent)
    chat: str = ROOT_CHAT


class RunStarted(_Event):
    """A run began: which team, which task, which agents."""

    type: Literal["run_started"] = "run_started"
    run_id: str
    team: str
    team_kind: str  # the pattern's kind (engine/patterns.py)
    task: str
    agents: list[AgentInfo]
    speaker_selection: str | None = None
    max_rounds: int | None = None  # group chats
    max_turns: int | None = None  # two-agent chats
    resumed: bool = False
    #: the config's `[context]` variables the run's texts were filled from (shown in the cockpit)
    context: dict[str, str] = Field(default_factory=dict)
    #: a sequence's stages, in order: the team each runs (views show the plan before they start)
    stages: list[str] = Field(default_factory=list)


class TurnStarted(_Event):
    """An agent starts working on its reply."""

    type: Literal["turn_started"] = "turn_started"
    agent: str
    round: int


class TokenDelta(_Event):
    """A piece of a reply streamed from the model."""

    type: Literal["token_delta"] = "token_delta"
    agent: str
    text: str


class DraftDiscarded(_Event):
    """The text streamed so far for `agent`'s reply is void: the stream broke (`reason`) after
    `chars` characters and the reply is asked for again (or the run stops). Views drop the draft."""

    type: Literal["draft_discarded"] = "draft_discarded"
    agent: str
    chars: int = 0
    reason: str = ""


class MessageDrafted(_Event):
    """An agent's reply is ready; it is delivered only once approved."""

    type: Literal["message_drafted"] = "message_drafted"
    agent: str
    content: str
    tool_calls: list[ToolCall] = Field(default_factory=list)


class DecisionRequested(_Event):
    """The engine waits for a supervisor; resolve `future` with a `Decision`."""

    type: Literal["decision_requested"] = "decision_requested"
    request: DecisionRequest
    _future: asyncio.Future | None = PrivateAttr(default=None)
    _agents: tuple[str, ...] = PrivateAttr(default=())

    @classmethod
    def awaiting(cls, request: DecisionRequest, agents: Iterable[str] = ()) -> "DecisionRequested":
        """A request the engine will await: its future lives on the running event loop. `agents`
        are its chat's (a nested chat's are not the run's), which an answer's inject may name."""
        event = cls(request=request, chat=request.chat)
        event._future = asyncio.get_running_loop().create_future()
        event._agents = tuple(agents)
        return event

    @property
    def agents(self) -> tuple[str, ...]:
        """The names of the agents of the chat that asks (empty when read back from a log)."""
        return self._agents

    @property
    def future(self) -> asyncio.Future | None:
        """The future the engine awaits; None when read back from a log."""
        return self._future

    def resolve(self, decision: Decision) -> bool:
        """Answer the request; False if it was already answered (e.g. a double key press)."""
        if self._future is None or self._future.done():
            return False
        self._future.set_result(decision)
        return True


class DecisionRecorded(_Event):
    """A request was answered, by whom and how."""

    type: Literal["decision_recorded"] = "decision_recorded"
    request_id: str
    request_kind: RequestKind
    agent: str
    decision: Decision


class MessageDelivered(_Event):
    """A message joined the conversation; every agent now sees it."""

    type: Literal["message_delivered"] = "message_delivered"
    message: Message
    round: int = 0
    #: for a person's message given across the run boundary (an inject, a reply): who wrote it
    sender: Sender | None = None


class MessageQueued(_Event):
    """A human message waits for the next turn (an inject queued); the MessageDelivered with the
    same `message.id` follows when it is delivered."""

    type: Literal["message_queued"] = "message_queued"
    message: Message
    #: who queued it; None in logs written before controls were events (their messages had no ids,
    #: and views match them to deliveries in queue order)
    by: DecidedBy | None = None
    sender: Sender | None = None  # who, across the run boundary


class RunPaused(_Event):
    """The run holds before its next turn (a control, emitted by the engine when asked)."""

    type: Literal["run_paused"] = "run_paused"
    by: DecidedBy = DecidedBy.HUMAN
    sender: Sender | None = None  # who, across the run boundary


class RunResumed(_Event):
    """A paused run goes on."""

    type: Literal["run_resumed"] = "run_resumed"
    by: DecidedBy = DecidedBy.HUMAN
    sender: Sender | None = None  # who, across the run boundary


class NextSpeakerForced(_Event):
    """`agent` speaks next, overriding the usual order once."""

    type: Literal["next_speaker_forced"] = "next_speaker_forced"
    agent: str
    by: DecidedBy = DecidedBy.HUMAN
    sender: Sender | None = None  # who, across the run boundary


class StopRequested(_Event):
    """Someone asked the run to stop; `RunStopped` follows once it has."""

    type: Literal["stop_requested"] = "stop_requested"
    reason: str
    kind: StopKind
    by: DecidedBy = DecidedBy.HUMAN
    sender: Sender | None = None  # who, across the run boundary


class CodeCancelRequested(_Event):
    """Someone asked to kill the running code; its `ExecutionFinished` says how it ended."""

    type: Literal["code_cancel_requested"] = "code_cancel_requested"
    by: DecidedBy = DecidedBy.HUMAN
    sender: Sender | None = None


class ToolCallStarted(_Event):
    """An approved tool call is running."""

    type: Literal["tool_call_started"] = "tool_call_started"
    agent: str
    call: ToolCall  # as it runs: with the person's arguments when they edited them
    #: the arguments the model sent, when a person edited them before the call ran (else None)
    original_arguments: str | None = None


class ToolCallFinished(_Event):
    """A tool call returned (or failed, or was skipped)."""

    type: Literal["tool_call_finished"] = "tool_call_finished"
    agent: str
    result: ToolResult


class CodeProposed(_Event):
    """A message holds code blocks that an executor could run."""

    type: Literal["code_proposed"] = "code_proposed"
    agent: str
    blocks: list[CodeSnippet]
    executor: str | None = None


class ExecutionStarted(_Event):
    """An approved block starts running."""

    type: Literal["execution_started"] = "execution_started"
    exec_id: str
    agent: str
    language: str
    code: str
    executor: str
    source_agent: str | None = None  # who proposed the code
    block_index: int | None = None  # index in the CodeProposed event's blocks
    code_sha256: str | None = None  # of the bytes that run; matches the decision's code_sha256


class ExecutionOutput(_Event):
    """Output of a running block, as it arrives."""

    type: Literal["execution_output"] = "execution_output"
    exec_id: str
    agent: str
    text: str


class ExecutionFinished(_Event):
    """A block ended: exit code, duration and why."""

    type: Literal["execution_finished"] = "execution_finished"
    exec_id: str
    agent: str
    exit_code: int
    duration: float
    timed_out: bool = False
    cancelled: bool = False
    truncated: bool = False
    error: str | None = None


class SpeakerSelected(_Event):
    """The next speaker of a group chat, and how it was picked."""

    type: Literal["speaker_selected"] = "speaker_selected"
    agent: str
    method: str
    round: int
    note: str = ""


class UsageRecorded(_Event):
    """Tokens and cost of one LLM call."""

    type: Literal["usage"] = "usage"
    agent: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost: float = 0.0
    cached: bool = False
    estimated: bool = False  # the server reported no usage; the tokens are estimates


class Notice(_Event):
    """Something a person should know: a retry, a fallback, a tool error, a missing daemon."""

    type: Literal["notice"] = "notice"
    level: Literal["info", "warning", "error"] = "info"
    text: str
    agent: str | None = None


class ChatStarted(_Event):
    """A chat inside the run began (a stage of a sequence, a nested chat): `chat` is its id.

    Every event of that chat carries the same id; `parent` is the chat it runs inside, so views
    can draw the tree (stages under the run, a nested chat under the message that triggered it)."""

    type: Literal["chat_started"] = "chat_started"
    parent: str = ROOT_CHAT
    #: what kind of inner chat: "stage" (sequence) or "nested" (an agent's nested chat)
    scope: str
    #: what a person calls it ("stage 2: writing", "critic")
    title: str
    team_kind: str  # the inner chat's pattern (engine/patterns.py)
    task: str
    agents: list[AgentInfo]
    #: the agent whose reply the chat is (a nested chat), or None
    owner: str | None = None
    index: int | None = None  # a stage's place in its sequence, from 1
    resumed: bool = False  # it goes on from a log


class ChatEnded(_Event):
    """A chat inside the run ended: its summary (what its parent carries on with) and why."""

    type: Literal["chat_ended"] = "chat_ended"
    summary: str = ""
    reason: str
    kind: StopKind


class RunStopped(_Event):
    """The run ended; `reason` is for people, `kind` for programs."""

    type: Literal["run_stopped"] = "run_stopped"
    reason: str
    kind: StopKind
    summary: str = ""


Event = Annotated[
    Union[
        RunStarted, TurnStarted, TokenDelta, DraftDiscarded, MessageDrafted, DecisionRequested, DecisionRecorded,
        MessageDelivered, MessageQueued, ToolCallStarted, ToolCallFinished, CodeProposed, ExecutionStarted,
        ExecutionOutput, ExecutionFinished, SpeakerSelected, UsageRecorded, Notice, RunStopped,
        RunPaused, RunResumed, NextSpeakerForced, StopRequested, CodeCancelRequested, ChatStarted, ChatEnded,
    ],
    Field(discriminator="type"),
]

_adapter: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(data: dict | str | bytes) -> Event:
    """Turn a log line (JSON text or a dict) back into its typed event."""
    if isinstance(data, (str, bytes)):
        return _adapter.validate_json(data)
    return _adapter.validate_python(data)
