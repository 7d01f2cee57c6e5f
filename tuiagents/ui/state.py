"""What the cockpit knows about a run, rebuilt from events alone (live or replayed).

`CockpitState.apply(event)` is pure bookkeeping (no Textual): agent states, tokens and cost, the
round, who speaks and who is next, the stop reason and the queue of pending requests. The
widgets read it; the screen feeds it every event through one entry point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tuiagents.engine.decisions import DecisionKind
from tuiagents.engine.events import (
    AgentInfo,
    DecisionRecorded,
    DecisionRequested,
    DraftDiscarded,
    ExecutionFinished,
    ExecutionStarted,
    MessageDelivered,
    MessageDrafted,
    RunStarted,
    RunStopped,
    SpeakerSelected,
    TokenDelta,
    ToolCallFinished,
    ToolCallStarted,
    TurnStarted,
    UsageRecorded,
)

IDLE, THINKING, STREAMING, WAITING, RUNNING_CODE, RUNNING_TOOL, DONE = (
    "idle", "thinking", "streaming", "waiting for you", "running code", "running a tool", "done")

#: A glyph per agent state, for tab badges and pane headers.
STATE_GLYPH = {IDLE: "○", THINKING: "◔", STREAMING: "◑", WAITING: "◉", RUNNING_CODE: "▶",
               RUNNING_TOOL: "⚙", DONE: "■"}


@dataclass
class AgentView:
    """One agent as the cockpit shows it."""

    info: AgentInfo
    state: str = IDLE
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0

    @property
    def name(self) -> str:
        """The agent's name."""
        return self.info.name

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens used by this agent."""
        return self.prompt_tokens + self.completion_tokens


@dataclass
class CockpitState:
    """The run as the cockpit shows it: updated by `apply(event)`."""

    team: str = ""
    team_kind: str = "two_agent"
    task: str = ""
    run_id: str = ""
    agents: dict[str, AgentView] = field(default_factory=dict)
    round: int = 0
    speaker: str | None = None
    next_speaker: str | None = None
    next_note: str = ""
    selection: str | None = None  # the group chat's speaker selection method
    started_ts: float | None = None
    stopped_ts: float | None = None
    stop_reason: str | None = None
    stop_kind: str | None = None
    pending: list[DecisionRequested] = field(default_factory=list)
    paused: bool = False
    stop_requested: bool = False
    last_ts: float = 0.0  # time of the latest event (the "now" of a replay)
    other_tokens: int = 0  # calls not made by a team agent (e.g. the speaker selector)
    other_cost: float = 0.0

    # -- derived ------------------------------------------------------------------------------
    @property
    def total_tokens(self) -> int:
        """Tokens used by every agent."""
        return sum(a.tokens for a in self.agents.values()) + self.other_tokens

    @property
    def total_cost(self) -> float:
        """USD spent by every agent."""
        return sum(a.cost for a in self.agents.values()) + self.other_cost

    @property
    def stopped(self) -> bool:
        """True once the run has ended."""
        return self.stop_reason is not None

    @property
    def is_group(self) -> bool:
        """True for group chats (speaker selection and the next-speaker control apply)."""
        return self.team_kind == "group_chat"

    def elapsed(self, now: float) -> float:
        """Seconds since the run started, frozen once it stopped."""
        if self.started_ts is None:
            return 0.0
        end = self.stopped_ts if self.stopped_ts is not None else now
        return max(0.0, end - self.started_ts)

    def agent(self, name: str | None) -> AgentView | None:
        """The view of `name`, or None."""
        return self.agents.get(name) if name else None

    # -- bookkeeping ------------------------------------------------------------------------------
    def _set(self, name: str | None, state: str) -> None:
        view = self.agent(name)
        if view is not None:
            view.state = state

    def _other(self, name: str) -> str | None:
        others = [n for n in self.agents if n != name]
        return others[0] if len(others) == 1 else None

    def apply(self, event: Any) -> None:
        """Update the state with one engine event (unknown events are ignored)."""
        self.last_ts = max(self.last_ts, getattr(event, "ts", 0.0) or 0.0)
        if isinstance(event, RunStarted):
            self.team, self.team_kind, self.task, self.run_id = (
                event.team, event.team_kind, event.task, event.run_id)
            self.selection = event.speaker_selection
            for info in event.agents:
                self.agents.setdefault(info.name, AgentView(info=info)).info = info
            self.started_ts = event.ts
            self.stop_reason = self.stop_kind = self.stopped_ts = None
        elif isinstance(event, SpeakerSelected):
            self.next_speaker, self.next_note = event.agent, event.method
        elif isinstance(event, TurnStarted):
            self.speaker, self.round = event.agent, event.round
            self._set(event.agent, THINKING)
            if self.team_kind == "two_agent":
                self.next_speaker, self.next_note = self._other(event.agent), ""
            elif self.selection == "round_robin" and event.agent in self.agents:
                names = list(self.agents)
                self.next_speaker = names[(names.index(event.agent) + 1) % len(names)]
                self.next_note = "round robin"
            elif self.next_speaker == event.agent:
                self.next_speaker, self.next_note = None, ""
        elif isinstance(event, TokenDelta):
            self._set(event.agent, STREAMING)
        elif isinstance(event, DraftDiscarded):
            self._set(event.agent, THINKING)  # asking again
        elif isinstance(event, MessageDrafted):
            self._set(event.agent, IDLE)
        elif isinstance(event, DecisionRequested):
            self.pending.append(event)
            self._set(event.request.agent, WAITING)
            if self.speaker and not self.stopped:
                self._set(self.speaker, WAITING)  # e.g. the proxy that will run the coder's code
        elif isinstance(event, DecisionRecorded):
            self.pending = [p for p in self.pending if p.request.id != event.request_id]
            if not any(p.request.agent == event.agent for p in self.pending):
                self._set(event.agent, IDLE)
            speaker = self.agent(self.speaker)
            if speaker is not None and speaker.state == WAITING and not self.pending:
                speaker.state = THINKING
            if event.decision.kind == DecisionKind.CHOOSE_SPEAKER and event.decision.target:
                self.next_speaker, self.next_note = event.decision.target, "chosen by you"
        elif isinstance(event, MessageDelivered):
            view = self.agent(event.message.sender)
            if view is not None and view.state in (THINKING, STREAMING):
                view.state = IDLE
        elif isinstance(event, ExecutionStarted):
            self._set(event.agent, RUNNING_CODE)
        elif isinstance(event, ExecutionFinished):
            self._set(event.agent, IDLE)
        elif isinstance(event, ToolCallStarted):
            self._set(event.agent, RUNNING_TOOL)
        elif isinstance(event, ToolCallFinished):
            self._set(event.agent, IDLE)
        elif isinstance(event, UsageRecorded):
            view = self.agent(event.agent)
            if event.cached:
                pass
            elif view is not None:
                view.prompt_tokens += event.prompt_tokens
                view.completion_tokens += event.completion_tokens
                view.cost += event.cost
            else:
                self.other_tokens += event.prompt_tokens + event.completion_tokens
                self.other_cost += event.cost
        elif isinstance(event, RunStopped):
            self.stop_reason, self.stop_kind, self.stopped_ts = event.reason, event.kind.value, event.ts
            self.pending.clear()
            self.paused = False
            for view in self.agents.values():
                view.state = DONE
