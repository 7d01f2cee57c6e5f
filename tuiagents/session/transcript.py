"""What people read from a session log: the conversation, decisions, code, tools, usage, the stop.

`build_transcript(log)` folds the event stream into a `Transcript`: an ordered list of typed
entries (a message, a decision with who made it, a code proposal, an execution with its output and
exit code, a tool call with its result, a speaker choice, a notice, the stop), plus turn counts
and usage totals. Export, the `sessions` listing, headless replay and the UI all start from it.
"""

from __future__ import annotations

from typing import Any, Iterable, Literal

from dataclasses import dataclass, field

from pydantic import TypeAdapter

from tuiagents.engine.decisions import CodeSnippet, Decision, DecidedBy, RequestKind
from tuiagents.engine.events import (
    CodeProposed, DecisionRecorded, DecisionRequested, ExecutionFinished, ExecutionOutput,
    ExecutionStarted, MessageDelivered, Notice, RunStarted, RunStopped, SpeakerSelected, StopKind,
    ToolCallFinished, ToolCallStarted, TurnStarted, UsageRecorded,
)
from tuiagents.engine.messages import ToolCall, ToolResult
from tuiagents.engine.usage import Usage


@dataclass(kw_only=True, slots=True)
class _Entry:
    seq: int = 0
    ts: float = 0.0


@dataclass(kw_only=True, slots=True)
class MessageEntry(_Entry):
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
    #: What was proposed (draft message or code), when the request is in the log.
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
    """Something a person should know (retry, fallback, error)."""

    kind: Literal["notice"] = "notice"
    level: str = "info"
    text: str
    agent: str | None = None


@dataclass(kw_only=True, slots=True)
class StopEntry(_Entry):
    """How the run ended."""

    kind: Literal["stop"] = "stop"
    reason: str
    stop_kind: StopKind
    summary: str = ""


TranscriptEntry = (MessageEntry | DecisionEntry | CodeEntry | ExecutionEntry | ToolEntry | SpeakerEntry
                   | NoticeEntry | StopEntry)


@dataclass
class UsageTotals(Usage):
    """Run totals, with a breakdown per agent and per model."""

    by_agent: dict[str, Usage] = field(default_factory=dict)
    by_model: dict[str, Usage] = field(default_factory=dict)


@dataclass(kw_only=True)
class Transcript:
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
    usage: UsageTotals = field(default_factory=UsageTotals)
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


_transcript_adapter: TypeAdapter[Transcript] = TypeAdapter(Transcript)


def build_transcript(source: Iterable) -> Transcript:
    """Fold events (a `SessionLog` or any iterable of events) into a `Transcript`."""
    events = getattr(source, "events", source)
    t = Transcript()
    header = getattr(source, "header", None)
    if header is not None:
        t.run_id, t.team, t.team_kind, t.task = header.run_id, header.team, header.team_kind, header.task
        t.agents = [a.name for a in header.agents]
    requests: dict[str, str] = {}
    execs: dict[str, ExecutionEntry] = {}
    tools: dict[str, ToolEntry] = {}
    out = t.entries
    usage: list[UsageRecorded] = []
    for ev in events:
        if t.started is None:
            t.started = ev.ts
        t.ended = ev.ts
        at = {"seq": ev.seq, "ts": ev.ts}
        if isinstance(ev, MessageDelivered):
            m = ev.message
            echo = bool(m.tool_results) and not m.content and all(
                r.call_id in tools and tools[r.call_id].result is not None for r in m.tool_results)
            out.append(MessageEntry(**at, sender=m.sender, recipient=m.recipient, content=m.content,
                                    origin=m.origin, round=ev.round, human_edited=m.human_edited,
                                    original=m.original, tool_calls=m.tool_calls,
                                    tool_results=m.tool_results, echo=echo))
            t.messages += 1
        elif isinstance(ev, TurnStarted):
            t.turns += 1
            t.rounds = max(t.rounds, ev.round)
        elif isinstance(ev, DecisionRequested):
            requests[ev.request.id] = ev.request.content
        elif isinstance(ev, DecisionRecorded):
            out.append(DecisionEntry(**at, request_id=ev.request_id, request_kind=ev.request_kind,
                                     agent=ev.agent, decision=ev.decision,
                                     proposed=requests.get(ev.request_id)))
        elif isinstance(ev, CodeProposed):
            out.append(CodeEntry(**at, agent=ev.agent, blocks=ev.blocks, executor=ev.executor))
        elif isinstance(ev, ExecutionStarted):
            entry = ExecutionEntry(**at, exec_id=ev.exec_id, agent=ev.agent, language=ev.language,
                                   code=ev.code, executor=ev.executor)
            execs[ev.exec_id] = entry
            out.append(entry)
        elif isinstance(ev, ExecutionOutput):
            if ev.exec_id in execs:
                execs[ev.exec_id].output += ev.text
        elif isinstance(ev, ExecutionFinished):
            entry = execs.get(ev.exec_id)
            if entry is not None:
                entry.finished, entry.exit_code, entry.duration = True, ev.exit_code, ev.duration
                entry.timed_out, entry.cancelled, entry.truncated = ev.timed_out, ev.cancelled, ev.truncated
                entry.error = ev.error
        elif isinstance(ev, ToolCallStarted):
            tools[ev.call.id] = ToolEntry(**at, agent=ev.agent, call=ev.call)
            out.append(tools[ev.call.id])
        elif isinstance(ev, ToolCallFinished):
            entry = tools.get(ev.result.call_id)
            if entry is None:  # a result without a start (e.g. a skipped call): show it anyway
                entry = ToolEntry(**at, agent=ev.agent, call=ToolCall(id=ev.result.call_id, name=ev.result.name))
                tools[ev.result.call_id] = entry
                out.append(entry)
            entry.result = ev.result
        elif isinstance(ev, SpeakerSelected):
            out.append(SpeakerEntry(**at, agent=ev.agent, method=ev.method, round=ev.round, note=ev.note))
        elif isinstance(ev, UsageRecorded):
            usage.append(ev)
        elif isinstance(ev, Notice):
            out.append(NoticeEntry(**at, level=ev.level, text=ev.text, agent=ev.agent))
        elif isinstance(ev, RunStopped):
            t.stop = StopEntry(**at, reason=ev.reason, stop_kind=ev.kind, summary=ev.summary)
            out.append(t.stop)
        elif isinstance(ev, RunStarted):
            if not t.run_id:
                t.run_id, t.team, t.team_kind, t.task = ev.run_id, ev.team, ev.team_kind, ev.task
                t.agents = [a.name for a in ev.agents]
            t.stop = None  # a resumed run goes on after an earlier stop
    t.usage = _usage_totals(usage)
    return t


def _usage_totals(events: list[UsageRecorded]) -> UsageTotals:
    """Sum usage events (plain arithmetic first: pydantic attribute writes are slow in bulk)."""
    def total(evs: list[UsageRecorded]) -> dict:
        # Cache hits made no call: counted as calls, but not as billed tokens (as the engine counts).
        return {"prompt_tokens": sum(e.prompt_tokens for e in evs if not e.cached),
                "completion_tokens": sum(e.completion_tokens for e in evs if not e.cached),
                "cost": sum(e.cost for e in evs), "calls": len(evs),
                "cached_calls": sum(1 for e in evs if e.cached)}

    by_agent: dict[str, list[UsageRecorded]] = {}
    by_model: dict[str, list[UsageRecorded]] = {}
    for e in events:
        by_agent.setdefault(e.agent, []).append(e)
        by_model.setdefault(e.model, []).append(e)
    return UsageTotals(**total(events),
                       by_agent={k: Usage(**total(v)) for k, v in by_agent.items()},
                       by_model={k: Usage(**total(v)) for k, v in by_model.items()})

