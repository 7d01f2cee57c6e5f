"""The run wire: the versioned JSON-lines protocol between a run's own process and its views.

One frame per line, each a pydantic model with a `type`. The client speaks first with `Hello`
(its protocol version and who it is); the server answers `Welcome` or `Refused` and closes.
After that a client asks for the events after a sequence number (`Subscribe`, answered by
`Events`, then every new event comes as a `Push`), answers a request (`Answer` → `AnswerReply`),
sends a control (`ControlFrame` → `ControlReply`) or asks how the run stands (`StatusQuery` →
`Status`). Replies carry the `id` of the frame they answer. A line that is not a frame of this
version gets `Refused` and the connection is closed; the run and other clients go on.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, BaseModel, Field, TypeAdapter, ValidationError, field_validator
from pydantic_core import PydanticSerializationError

from tuiagents.engine.decisions import Decision, Sender
from tuiagents.engine.events import AgentInfo, Event
from tuiagents.engine.handle import Answered, Control, ControlDone
from tuiagents.text import one_line

__all__ = ["PROTOCOL_VERSION", "MAX_CLIENT_LINE", "Answer", "AnswerReply", "ClientFrame", "ControlFrame",
           "ControlReply", "Events", "Hello", "Push", "Refused", "ServerFrame", "Status", "StatusQuery",
           "Subscribe", "Welcome", "WireError", "decode_client", "decode_server", "encode"]

#: Text another process wrote that a screen or console shows (a run's team, its state, who waits):
#: one inert line, whatever control sequences a forged frame or record held.
ShownName = Annotated[str, AfterValidator(lambda text: one_line(text, 80))]
ShownText = Annotated[str, AfterValidator(lambda text: one_line(text, 200))]

#: Bumped when a frame changes in a way an older peer would misread.
PROTOCOL_VERSION = 1
#: Events per `Events` frame: a long history comes in parts, so neither side holds one huge line.
EVENTS_PER_FRAME = 1000
#: The longest line a client may send (an inject or an edit is far shorter); longer is garbage.
MAX_CLIENT_LINE = 4 * 1024 * 1024


class WireError(Exception):
    """A line that is not a frame this side understands."""


# -- client → server ---------------------------------------------------------------------------
class Hello(BaseModel):
    """The first frame of every client: its protocol version and who is there."""

    type: Literal["hello"] = "hello"
    version: int
    sender: Sender


class Subscribe(BaseModel):
    """The events after `after` (-1: all), then every new one as a `Push`."""

    type: Literal["subscribe"] = "subscribe"
    id: int
    after: int = -1


class Answer(BaseModel):
    """Answer the request `request_id` with `decision`."""

    type: Literal["answer"] = "answer"
    id: int
    request_id: str
    decision: Decision
    #: the kind of view that answers, when it is not the one its hello named (a browser tab)
    client: str | None = None


class ControlFrame(BaseModel):
    """A typed control for the run."""

    type: Literal["control"] = "control"
    id: int
    control: Control
    #: the kind of view that sends it, when it is not the one its hello named
    client: str | None = None


class StatusQuery(BaseModel):
    """How does the run stand (for `tuiagents ps`)."""

    type: Literal["status_query"] = "status_query"
    id: int


ClientFrame = Annotated[Union[Hello, Subscribe, Answer, ControlFrame, StatusQuery], Field(discriminator="type")]


# -- server → client ---------------------------------------------------------------------------
class Welcome(BaseModel):
    """The handshake's answer: the run this socket serves."""

    type: Literal["welcome"] = "welcome"
    version: int = PROTOCOL_VERSION
    run_id: ShownName
    team: ShownName
    team_kind: ShownName
    agents: list[AgentInfo] = Field(default_factory=list)
    session_path: str | None = None
    pid: int
    #: this view as the run names it in its log (the peer's real user, its kind, its terminal)
    you: Sender | None = None

    @field_validator("agents")
    @classmethod
    def _shown_agents(cls, agents: list[AgentInfo]) -> list[AgentInfo]:
        # their names title the panes: a forged welcome must not write to the terminal through them
        return [a.model_copy(update={"name": one_line(a.name, 80), "description": one_line(a.description or "", 200)})
                for a in agents]


class Refused(BaseModel):
    """Why this connection is closed (a wrong version, a line that is no frame)."""

    type: Literal["refused"] = "refused"
    reason: str


class Events(BaseModel):
    """The events asked for by `Subscribe` `id`; pushes follow them with no gap."""

    type: Literal["events"] = "events"
    id: int
    events: list[Event]
    #: more `Events` of the same `id` follow (a long history comes in parts, each read on its own)
    more: bool = False


class Push(BaseModel):
    """One new event of the run."""

    type: Literal["push"] = "push"
    event: Event


class AnswerReply(BaseModel):
    """What became of an `Answer`."""

    type: Literal["answer_reply"] = "answer_reply"
    id: int
    answered: Answered


class ControlReply(BaseModel):
    """What became of a `ControlFrame`."""

    type: Literal["control_reply"] = "control_reply"
    id: int
    done: ControlDone


class Status(BaseModel):
    """The run at a glance: its state and who waits for a person."""

    type: Literal["status"] = "status"
    id: int
    run_id: ShownName
    team: ShownName
    #: running, waiting (a request is open), paused, stopping or ended
    state: ShownName
    waiting: list[ShownName] = Field(default_factory=list)
    started: float
    clients: int = 0


ServerFrame = Annotated[Union[Welcome, Refused, Events, Push, AnswerReply, ControlReply, Status],
                        Field(discriminator="type")]

_client: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)
_server: TypeAdapter[ServerFrame] = TypeAdapter(ServerFrame)


def encode(frame: BaseModel) -> bytes:
    """One frame as one JSON line (bytes, newline-terminated); any text, lone surrogates included."""
    try:
        return frame.model_dump_json().encode("utf-8") + b"\n"
    except (PydanticSerializationError, UnicodeEncodeError):  # escaped: reads back to the same text
        return json.dumps(frame.model_dump(mode="json"), ensure_ascii=True, separators=(",", ":")).encode() + b"\n"


def decode_client(line: bytes | str) -> ClientFrame:
    """A client's line as its frame, or `WireError` saying why not."""
    try:
        return _client.validate_json(line)
    except (ValidationError, ValueError) as exc:
        raise WireError(_why(exc)) from None


def decode_server(line: bytes | str) -> ServerFrame:
    """A server's line as its frame, or `WireError` saying why not."""
    try:
        return _server.validate_json(line)
    except (ValidationError, ValueError) as exc:
        raise WireError(_why(exc)) from None


def _why(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        return f"not a frame of protocol {PROTOCOL_VERSION}: {first.get('msg', exc)}"[:300]
    return f"not a frame of protocol {PROTOCOL_VERSION}: {exc}"[:300]
