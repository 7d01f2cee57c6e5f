"""What people read from a session log: the conversation, decisions, code, tools, usage, the stop.

`build_transcript(log)` renders the run's one fold (`engine.view.RunView`) into a `Transcript`: an
ordered list of typed entries (a message, a decision with who made it, a code proposal, an execution with its output and
exit code, a tool call with its result, a speaker choice, a notice, the stop), plus turn counts
and usage totals. Export, the `sessions` listing, headless replay and the UI all start from it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Iterable, Literal

from dataclasses import dataclass, field

from pydantic import TypeAdapter

from tuiagents.engine.decisions import ROOT_CHAT, CodeSnippet, Decision, DecidedBy, RequestKind
from tuiagents.engine.events import (
    ChatEnded, ChatStarted, CodeProposed, DecisionRecorded, ExecutionStarted, MessageDelivered, MessageQueued, Notice, RunStarted,
    RunStopped, SpeakerSelected, StopKind, ToolCallFinished, ToolCallStarted,
)
from tuiagents.engine.messages import ToolCall, ToolResult
from tuiagents.engine.usage import Usage
from tuiagents.engine.view import CONTROL_EVENTS, RunView, control_words, fold


@dataclass(kw_only=True, slots=True)
class _Entry:
    seq: int = 0
    ts: float = 0.0
    #: the chat it happened in (ROOT_CHAT, a stage, a nested chat) and that chat's path of titles
    #: ("stage 2 › nested chat with critic"; "" in the root chat), so exports show where
    chat: str = ROOT_CHAT
    where: str = ""
    depth: int = 0  # chats between it and the run's own: 0 in the root chat


@dataclass(kw_only=True, slots=True)
class TranscriptMessage(_Entry):
    """A delivered message; `original` is what the agent wrote when a person edited it."""

    kind: Literal["message"] = "message"
    sender: str
    recipient: str | None = None
    content: str = ""
    origin: str = "agent"
    round: int = 0
    human_edited: bool = False
    original: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_results: list[ToolResult] = field(default_factory=list)
    #: True when the message only hands back tool results already shown by tool_call entries.
    echo: bool = False


@dataclass(kw_only=True, slots=True)
class DecisionEntry(_Entry):
    """A supervisor's answer: what was decided, about what, and by whom."""

    kind: Literal["decision"] = "decision"
    request_id: str
    request_kind: RequestKind
    agent: str
    decision: Decision
    #: What was proposed (draft message, code, a tool call's arguments), when the log has it.
    proposed: str | None = None

    @property
    def text(self) -> str:
        """`Decision.describe()`: "approved (by you)", "rejected: ... (by policy)"."""
        return self.decision.describe()

    @property
    def by(self) -> DecidedBy:
        """Who decided: a person, a session rule or a policy."""
        return self.decision.by


@dataclass(kw_only=True, slots=True)
class CodeEntry(_Entry):
    """Code blocks an agent proposed to run."""

    kind: Literal["code"] = "code"
    agent: str
    blocks: list[CodeSnippet]
    executor: str | None = None


@dataclass(kw_only=True, slots=True)
class ExecutionEntry(_Entry):
    """One approved block that ran: code, output as it came, and how it ended."""

    kind: Literal["execution"] = "execution"
    exec_id: str
    agent: str
    language: str
    code: str
    executor: str = ""
    output: str = ""
    finished: bool = False
    exit_code: int | None = None
    duration: float | None = None
    timed_out: bool = False
    cancelled: bool = False
    truncated: bool = False
    error: str | None = None


@dataclass(kw_only=True, slots=True)
class ToolEntry(_Entry):
    """A tool call and (once it returned) its result."""

    kind: Literal["tool_call"] = "tool_call"
    agent: str
    call: ToolCall
    result: ToolResult | None = None


@dataclass(kw_only=True, slots=True)
class SpeakerEntry(_Entry):
    """The next speaker of a group chat and how it was chosen."""

    kind: Literal["speaker"] = "speaker"
    agent: str
    method: str
    round: int = 0
    note: str = ""


@dataclass(kw_only=True, slots=True)
class NoticeEntry(_Entry):
    """Something a person should know (retry, fallback, error), or a human control (`by` who)."""

    kind: Literal["notice"] = "notice"
    level: str = "info"
    text: str
    agent: str | None = None
    by: DecidedBy | None = None


@dataclass(kw_only=True, slots=True)
class ChatEntry(_Entry):
    """A chat inside the run (a stage, a nested chat) began (`ended` False: its task) or ended
    (its summary and why). `chat`, `where` and `depth` are the inner chat's own."""

    kind: Literal["chat"] = "chat"
    parent: str = ROOT_CHAT
    scope: str = "stage"
    title: str = ""
    owner: str | None = None  # the agent whose reply a nested chat is
    ended: bool = False
    agents: list[str] = field(default_factory=list)
    task: str = ""
    resumed: bool = False
    summary: str = ""
    reason: str = ""
    stop_kind: StopKind | None = None


@dataclass(kw_only=True, slots=True)
class StopEntry(_Entry):
    """How the run ended."""

    kind: Literal["stop"] = "stop"
    reason: str
    stop_kind: StopKind
    summary: str = ""


TranscriptEntry = (TranscriptMessage | DecisionEntry | CodeEntry | ExecutionEntry | ToolEntry | SpeakerEntry
                   | NoticeEntry | ChatEntry | StopEntry)


@dataclass
class TranscriptUsage(Usage):
    """Run totals, with a breakdown per agent and per model."""

    by_agent: dict[str, Usage] = field(default_factory=dict)
    by_model: dict[str, Usage] = field(default_factory=dict)


@dataclass(kw_only=True)
class SessionTranscript:
    """A run as people read it."""

    run_id: str = ""
    team: str = ""
    team_kind: str = ""
    task: str = ""
    agents: list[str] = field(default_factory=list)
    entries: list[TranscriptEntry] = field(default_factory=list)
    turns: int = 0
    rounds: int = 0
    messages: int = 0
    usage: TranscriptUsage = field(default_factory=TranscriptUsage)
    stop: StopEntry | None = None
    started: float | None = None
    ended: float | None = None

    @property
    def status(self) -> Literal["finished", "interrupted"]:
        """`finished` when the run recorded its stop, else `interrupted` (crash or kill)."""
        return "finished" if self.stop is not None else "interrupted"

    @property
    def stop_reason(self) -> str:
        """The stop reason in words, or a note that the log ends without one."""
        return self.stop.reason if self.stop else "the log ends without a stop (the run was interrupted)"

    @property
    def duration(self) -> float | None:
        """Seconds from the first to the last event."""
        return None if self.started is None or self.ended is None else self.ended - self.started

    def to_data(self) -> dict[str, Any]:
        """Plain JSON-ready data (entries keep their `kind`; status and totals included)."""
        data = _transcript_adapter.dump_python(self, mode="json")
        data["status"] = self.status
        data["stop_reason"] = self.stop_reason
        data["usage"]["total_tokens"] = self.usage.total_tokens
        for entry, d in zip(self.entries, data["entries"]):
            if isinstance(entry, DecisionEntry):
                d["text"] = entry.text
        return data


_transcript_adapter: TypeAdapter[SessionTranscript] = TypeAdapter(SessionTranscript)


def build_transcript(source: Iterable) -> SessionTranscript:
    """A `Transcript` of events (a `SessionLog` or any iterable of events), rendered from the run's
    one fold (`RunView`): the view holds the state; this walks its events in order and writes an
    entry for each one people read."""
    view = fold(getattr(source, "events", source))
    t = SessionTranscript()
    header = getattr(source, "header", None)
    if header is not None:
        t.run_id, t.team, t.team_kind, t.task = header.run_id, header.team, header.team_kind, header.task
        t.agents = [a.name for a in header.agents]
    elif view.run_id:
        t.run_id, t.team, t.team_kind, t.task = view.run_id, view.team, view.team_kind, view.task
        t.agents = list(view.agents)
    t.turns, t.rounds, t.messages = view.turns, view.rounds, len(view.messages)
    t.started, t.ended = view.first_ts, (view.last_ts if view.first_ts is not None else None)
    t.usage = TranscriptUsage(**vars(view.usage), by_agent=dict(view.usage_by_agent),
                          by_model=dict(view.usage_by_model))
    writers = _Writers(view, t)
    for ev in view.events:
        write = _WRITE.get(type(ev))
        if write is not None:
            write(writers, ev)
    return t


class _Writers:
    """One writer per event type people read: each appends the entry the view describes."""

    def __init__(self, view: RunView, t: SessionTranscript) -> None:
        self.view, self.t = view, t
        self.tools_shown: set[str] = set()

    def _at(self, ev: Any) -> dict[str, Any]:
        path = self.view.chat_path(ev.chat) if ev.chat != ROOT_CHAT else []
        return {"seq": ev.seq, "ts": ev.ts, "chat": ev.chat, "where": " › ".join(c.title for c in path),
                "depth": len(path)}

    def chat_started(self, ev: ChatStarted) -> None:
        self.t.entries.append(ChatEntry(**self._at(ev), parent=ev.parent, scope=ev.scope, title=ev.title,
                                        owner=ev.owner, agents=[a.name for a in ev.agents], task=ev.task,
                                        resumed=ev.resumed))

    def chat_ended(self, ev: ChatEnded) -> None:
        chat = self.view.chats.get(ev.chat)
        started = chat.started if chat is not None else None
        self.t.entries.append(ChatEntry(**self._at(ev), ended=True, summary=ev.summary, reason=ev.reason,
                                        stop_kind=ev.kind, parent=started.parent if started else ROOT_CHAT,
                                        scope=started.scope if started else "stage",
                                        title=started.title if started else ev.chat,
                                        owner=started.owner if started else None))

    def message(self, ev: MessageDelivered) -> None:
        m = ev.message
        echo = bool(m.tool_results) and not m.content and all(
            r.call_id in self.tools_shown and self.view.tools[r.call_id].result is not None for r in m.tool_results)
        self.t.entries.append(TranscriptMessage(**self._at(ev), sender=m.sender, recipient=m.recipient,
                                           content=m.content, origin=m.origin, round=ev.round,
                                           human_edited=m.human_edited, original=m.original,
                                           tool_calls=m.tool_calls, tool_results=m.tool_results, echo=echo))

    def decision(self, ev: DecisionRecorded) -> None:
        asked = self.view.requests.get(ev.request_id)
        # what an edit changed: a tool call's arguments as the model sent them, else the request's text
        proposed = (ev.decision.original if ev.request_kind == RequestKind.TOOL_CALL
                    else asked.request.content if asked is not None else None)
        self.t.entries.append(DecisionEntry(**self._at(ev), request_id=ev.request_id, request_kind=ev.request_kind,
                                            agent=ev.agent, decision=ev.decision, proposed=proposed))

    def code(self, ev: CodeProposed) -> None:
        self.t.entries.append(CodeEntry(**self._at(ev), agent=ev.agent, blocks=ev.blocks, executor=ev.executor))

    def execution(self, ev: ExecutionStarted) -> None:
        run = self.view.executions[ev.exec_id]
        entry = ExecutionEntry(**self._at(ev), exec_id=ev.exec_id, agent=ev.agent, language=ev.language,
                               code=ev.code, executor=ev.executor, output=run.output)
        end = run.finished
        if end is not None:
            entry.finished, entry.exit_code, entry.duration = True, end.exit_code, end.duration
            entry.timed_out, entry.cancelled, entry.truncated = end.timed_out, end.cancelled, end.truncated
            entry.error = end.error
        self.t.entries.append(entry)

    def tool(self, ev: ToolCallStarted | ToolCallFinished) -> None:
        call_id = ev.call.id if isinstance(ev, ToolCallStarted) else ev.result.call_id
        if call_id in self.tools_shown:
            return
        self.tools_shown.add(call_id)
        tool = self.view.tools[call_id]
        self.t.entries.append(ToolEntry(**self._at(ev), agent=tool.agent, call=tool.call, result=tool.result))

    def speaker(self, ev: SpeakerSelected) -> None:
        self.t.entries.append(SpeakerEntry(**self._at(ev), agent=ev.agent, method=ev.method, round=ev.round,
                                           note=ev.note))

    def notice(self, ev: Notice) -> None:
        self.t.entries.append(NoticeEntry(**self._at(ev), level=ev.level, text=ev.text, agent=ev.agent))

    def control(self, ev: Any) -> None:
        self.t.entries.append(NoticeEntry(**self._at(ev), text=control_words(ev), by=ev.by))

    def queued(self, ev: MessageQueued) -> None:
        who, to = (ev.by or DecidedBy.HUMAN).words(), ev.message.recipient or "all"
        self.t.entries.append(NoticeEntry(**self._at(ev), by=ev.by,
                                          text=f"{who} queued a message for {to} for the next turn"))

    def started(self, ev: RunStarted) -> None:
        self.t.stop = None  # a resumed run goes on after an earlier stop

    def stopped(self, ev: RunStopped) -> None:
        self.t.stop = StopEntry(**self._at(ev), reason=ev.reason, stop_kind=ev.kind, summary=ev.summary)
        self.t.entries.append(self.t.stop)


_WRITE: dict[type, Callable[[_Writers, Any], None]] = {
    MessageDelivered: _Writers.message, DecisionRecorded: _Writers.decision, CodeProposed: _Writers.code,
    ExecutionStarted: _Writers.execution, ToolCallStarted: _Writers.tool, ToolCallFinished: _Writers.tool,
    SpeakerSelected: _Writers.speaker, Notice: _Writers.notice, MessageQueued: _Writers.queued,
    RunStarted: _Writers.started, RunStopped: _Writers.stopped,
    ChatStarted: _Writers.chat_started, ChatEnded: _Writers.chat_ended,
    **{kind: _Writers.control for kind in CONTROL_EVENTS},
}
