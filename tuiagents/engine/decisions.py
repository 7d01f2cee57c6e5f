"""What a supervisor (a person or a policy) is asked, and what it answers.

The engine never blocks on `input()`: it builds a `DecisionRequest`, lets policies answer it when
they may, and otherwise emits it with a future that the UI or the console resolves with a
`Decision`.
"""

from __future__ import annotations

import itertools
from enum import Enum
from typing import Iterable, Literal

from pydantic import BaseModel, Field, field_validator

from tuiagents.engine.messages import ToolCall
from tuiagents.text import one_line


#: The id of a run's own chat; chats inside it (stages, nested chats) get ids of their own.
ROOT_CHAT = "root"

class RequestKind(str, Enum):
    """The moments at which the engine stops and asks."""

    MESSAGE = "message"  # a drafted message before delivery
    TOOL_CALL = "tool_call"  # before a tool function runs
    CODE = "code"  # before proposed code runs
    HUMAN_INPUT = "human_input"  # an agent in human mode ALWAYS/TERMINATE needs a human reply
    SPEAKER = "speaker"  # manual speaker selection in a group chat
    HANDOFF = "handoff"  # a swarm agent hands the conversation to another (approve or redirect)


class DecisionKind(str, Enum):
    """Every kind of answer a supervisor can give."""

    APPROVE = "approve"
    EDIT = "edit"
    REJECT = "reject"
    INJECT = "inject"
    CHOOSE_SPEAKER = "choose_speaker"
    STOP = "stop"
    REPLY = "reply"  # the human's own words as this agent's turn (human input requests)
    SKIP = "skip"  # do not run this code / tool, tell the agent it was skipped


class Scope(str, Enum):
    """How far an approval reaches."""

    ONCE = "once"
    SESSION = "session"  # the same kind of request from the same agent, for the rest of the session
    RULE = "rule"  # an explicit rule, e.g. python blocks from agent coder


class DecidedBy(str, Enum):
    """Who made a decision; recorded with every decision."""

    HUMAN = "human"
    SESSION_RULE = "session_rule"
    POLICY = "policy"

    def words(self, human: str = "you", article: bool = False) -> str:
        """Who decided, for people: `human` ("you" on screen), "session rule" or "policy".

        `article` reads "a session rule" (in sentences an agent is told).
        """
        if self is DecidedBy.HUMAN:
            return human
        if self is DecidedBy.SESSION_RULE:
            return "a session rule" if article else "session rule"
        return "policy"


#: The run's reason for a person's stop given without words of their own (the events say who).
STOPPED_BY_YOU = "stopped by you"


def stopped_by(sender: "Sender | None") -> str:
    """The run's reason for a person's stop without words of their own: who, when the run knows."""
    return f"stopped by {sender.words()}" if sender is not None else STOPPED_BY_YOU


class Sender(BaseModel):
    """Who sent an answer or a control across the run boundary: a user, through a client."""

    user: str
    #: the kind of view it came through: "cockpit", "console", "attached", "browser"
    client: str
    #: which one, when a user has several of a kind: its terminal ("pts/3"), or "" when unknown
    where: str = ""

    @field_validator("user", "client", "where")
    @classmethod
    def _plain(cls, text: str) -> str:
        # shown to people in every view; a log or a socket (forged, or just odd) must not write
        # control sequences to a terminal through it
        return one_line(text, 60)

    def words(self) -> str:
        """`user (client)` or `user (client on where)`, for people."""
        return f"{self.user} ({self.client}{' on ' + self.where if self.where else ''})"


#: The viewer of a log read after the fact (a replay): no one of the run, so every person the log
#: names is told by name, and only a log that names no one reads as "you".
READER = Sender(user="", client="reader")


def person_words(sender: Sender | None, viewer: Sender | None) -> str:
    """A person as `viewer` reads them: "you" for the viewer themself (or when either is unknown:
    one person's view, a replay), else their name and view."""
    return "you" if sender is None or viewer is None or sender == viewer else sender.words()


class ApprovalRule(BaseModel):
    """A standing approval: every request matching all the set fields is approved."""

    kind: RequestKind
    agent: str | None = None
    language: str | None = None
    tool: str | None = None

    def matches(self, request: "DecisionRequest") -> bool:
        """True when `request` falls under this rule."""
        if request.kind != self.kind:
            return False
        if self.agent is not None and request.agent != self.agent:
            return False
        # A rule must cover *everything* the request would run: a "python from coder" rule must
        # not approve a message that also holds a shell block, nor a "tool X" rule a batch that
        # also calls tool Y.
        if self.language is not None:
            runnable = {b.language for b in request.code_blocks if b.runnable} or request.languages
            if runnable != {self.language}:
                return False
        if self.tool is not None and {c.name for c in request.tool_calls} != {self.tool}:
            return False
        return True

    def describe(self) -> str:
        """A short phrase for the screen and the log, e.g. "python code from coder"."""
        what = {
            RequestKind.CODE: f"{self.language or 'any'} code",
            RequestKind.TOOL_CALL: f"tool {self.tool}" if self.tool else "tool calls",
            RequestKind.MESSAGE: "messages",
            RequestKind.HUMAN_INPUT: "human input",
            RequestKind.SPEAKER: "speaker choices",
            RequestKind.HANDOFF: "handoffs",
        }[self.kind]
        return f"{what} from {self.agent}" if self.agent else what


class Decision(BaseModel):
    """A supervisor's answer to a `DecisionRequest`."""

    kind: DecisionKind
    content: str | None = None  # edit: new content; reject: feedback; inject/reply: the text
    target: str | None = None  # inject: agent name or "all"; choose_speaker: the agent
    deliver: Literal["now", "next_turn"] = "next_turn"  # for inject
    scope: Scope = Scope.ONCE
    rule: ApprovalRule | None = None
    by: DecidedBy = DecidedBy.HUMAN
    #: the person's user and view, when a person answered through the run boundary
    sender: Sender | None = None
    note: str = ""
    # Approving or editing code: the sha256 of each runnable block that will run, in order;
    # the executor refuses bytes that do not match (set by the engine when it records the decision).
    code_sha256: list[str] = Field(default_factory=list)
    #: Editing a tool call's arguments (`content`): the arguments the model sent, set by the engine
    #: when it records the decision, so the log holds both.
    original: str | None = None

    @classmethod
    def approve(cls, scope: Scope = Scope.ONCE, rule: ApprovalRule | None = None, **kw) -> "Decision":
        """Approve as proposed."""
        return cls(kind=DecisionKind.APPROVE, scope=scope, rule=rule, **kw)

    @classmethod
    def edit(cls, content: str, **kw) -> "Decision":
        """Deliver (or run) `content` instead of the proposal."""
        return cls(kind=DecisionKind.EDIT, content=content, **kw)

    @classmethod
    def reject(cls, feedback: str, **kw) -> "Decision":
        """Send `feedback` back to the agent, which tries again."""
        return cls(kind=DecisionKind.REJECT, content=feedback, **kw)

    @classmethod
    def inject(cls, text: str, target: str = "all", now: bool = False, **kw) -> "Decision":
        """Add a human message, delivered now or queued for the next turn."""
        return cls(kind=DecisionKind.INJECT, content=text, target=target,
                   deliver="now" if now else "next_turn", **kw)

    @classmethod
    def choose(cls, speaker: str, **kw) -> "Decision":
        """Pick the next speaker of a group chat."""
        return cls(kind=DecisionKind.CHOOSE_SPEAKER, target=speaker, **kw)

    @classmethod
    def stop(cls, note: str = "", **kw) -> "Decision":
        """End the run."""
        return cls(kind=DecisionKind.STOP, note=note, **kw)

    @classmethod
    def reply(cls, text: str, **kw) -> "Decision":
        """The human speaks for the agent that asked for input."""
        return cls(kind=DecisionKind.REPLY, content=text, **kw)

    @classmethod
    def skip(cls, note: str = "", **kw) -> "Decision":
        """Do not run the proposed code or tool; the agent is told it was skipped."""
        return cls(kind=DecisionKind.SKIP, note=note, **kw)

    def who(self, viewer: Sender | None = None) -> str:
        """Who decided, for `viewer`: "you" for a person's own answer (or with no viewer), the
        person's name for one from another view, else the policy's words."""
        return person_words(self.sender, viewer) if self.by == DecidedBy.HUMAN else self.by.words()

    def describe(self, viewer: Sender | None = None) -> str:
        """One line for transcripts: what was decided and by whom (see `who`)."""
        who = self.who(viewer)
        text = {
            DecisionKind.APPROVE: "approved" + (" for this session" if self.scope != Scope.ONCE else ""),
            DecisionKind.EDIT: "edited" if self.original is None else
                               f"edited the arguments {_short(self.original)} → {_short(self.content or '')}",
            DecisionKind.REJECT: f"rejected: {self.content or ''}".strip(),
            DecisionKind.INJECT: f"injected a message for {self.target or 'all'}",
            DecisionKind.CHOOSE_SPEAKER: f"chose {self.target} to speak next",
            DecisionKind.STOP: "stopped the run",
            DecisionKind.REPLY: "replied",
            DecisionKind.SKIP: "skipped",
        }[self.kind]
        note = f": {self.note}" if self.note else ""
        if who != self.by.words():  # a person of another view, named with their view: no nested brackets
            return f"{text}, by {who}{note}"
        return f"{text} (by {who}{note})"


def _short(text: str, limit: int = 120) -> str:
    """`text` on one line, cut at `limit` characters (the full text stays in the decision)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


_ids = itertools.count(1)


def next_request_id() -> str:
    """A short id for a request, unique within a process (and within a resumed log, see below)."""
    return f"r{next(_ids)}"


def reserve_request_ids(used: Iterable[str]) -> None:
    """Number later requests after every id in `used`: a resumed run's log already holds them,
    and a request id must name one request in the whole log."""
    global _ids
    top = max((int(i[1:]) for i in used if i[:1] == "r" and i[1:].isdigit()), default=0)
    _ids = itertools.count(max(next(_ids), top + 1))


class CodeSnippet(BaseModel):
    """A code block as the supervisor sees it (language, code, whether it would run)."""

    language: str
    code: str
    filename: str | None = None
    guessed: bool = False
    runnable: bool = True


class ToolInfo(BaseModel):
    """What a person deciding on a tool call sees of the tool: its name, description and the JSON
    schema of its arguments, whatever the tool's source (a Python function, an MCP server)."""

    name: str
    description: str = ""
    parameters: dict = Field(default_factory=dict)


class DecisionRequest(BaseModel):
    """Something the engine needs a supervisor to decide before it goes on."""

    id: str = Field(default_factory=next_request_id)
    chat: str = ROOT_CHAT  # the chat whose step waits (see events._Event.chat)
    kind: RequestKind
    agent: str
    prompt: str = ""  # what is being asked, in words
    content: str = ""  # the draft message, or the code
    tool_calls: list[ToolCall] = Field(default_factory=list)
    #: a tool call request (one call each): the tool it calls; None when no agent has that tool
    tool_info: ToolInfo | None = None
    code_blocks: list[CodeSnippet] = Field(default_factory=list)
    candidates: list[str] = Field(default_factory=list)  # speaker choices; a handoff's targets
    target: str | None = None  # a handoff: the agent the caller asked to hand the conversation to
    executor: str | None = None  # description of where code would run and its limits
    allowed: list[DecisionKind] = Field(default_factory=list)
    ends_run: bool = False  # approving ends the run (an agent said TERMINATE; replying goes on)

    @property
    def languages(self) -> set[str]:
        """Languages of the code blocks under decision."""
        return {b.language for b in self.code_blocks}
