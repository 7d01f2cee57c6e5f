"""The state of a run view and what readers ask of it; `view.RunView` adds the fold (`apply`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tuiagents.engine.decisions import ROOT_CHAT, DecidedBy, DecisionKind, Sender, person_words
from tuiagents.engine.events import DecisionRecorded, DecisionRequested, RunStopped, StopKind
from tuiagents.engine.messages import Message
from tuiagents.engine.usage import Usage
from tuiagents.engine.view_parts import (
    AgentState, AgentView, BlockView, ChatView, Controls, EntryStatus, ExecutionView, Leg, MessageView, ProposalView,
    ToolView,
)

#: A key of what the view keeps per agent: the same agent may act in several chats of one run.
ChatAgent = tuple[str, str]


@dataclass
class RunViewState:
    """What a run view holds: filled by the handlers of `view_fold`, read by every renderer."""

    run_id: str = ""
    team: str = ""
    team_kind: str = "two_agent"
    task: str = ""
    #: the `[context]` variables the run's texts were filled from (name -> value)
    context: dict[str, str] = field(default_factory=dict)
    selection: str | None = None
    agents: dict[str, AgentView] = field(default_factory=dict)  # every agent of every chat
    team_agents: list[str] = field(default_factory=list)  # the root chat's, in the team's order
    turns: int = 0
    rounds: int = 0
    round: int = 0
    speaker: str | None = None
    next_speaker: str | None = None
    next_note: str = ""
    entries: dict[str, MessageView] = field(default_factory=dict)
    by_message_id: dict[str, str] = field(default_factory=dict)  # message id -> entry id
    drafts: dict[ChatAgent, str] = field(default_factory=dict)  # (chat, agent) -> its open draft's entry id
    queued: dict[str, str] = field(default_factory=dict)  # message id -> entry id, not yet delivered
    messages: list[Message] = field(default_factory=list)  # delivered, in order (every chat's)
    chat_messages: dict[str, list[Message]] = field(default_factory=dict)  # chat -> its delivered messages
    chats: dict[str, ChatView] = field(default_factory=dict)  # chats inside the run, by id, in start order
    stage_plan: list[str] = field(default_factory=list)  # a sequence's stages: the team of each, in order
    requests: dict[str, DecisionRequested] = field(default_factory=dict)  # every request, by id
    waiting: dict[str, DecisionRequested] = field(default_factory=dict)  # requests not yet answered, by id
    decisions: list[DecisionRecorded] = field(default_factory=list)
    proposals: dict[str, ProposalView] = field(default_factory=dict)
    blocks: dict[str, BlockView] = field(default_factory=dict)
    executions: dict[str, ExecutionView] = field(default_factory=dict)
    open_proposals: dict[ChatAgent, str] = field(default_factory=dict)  # (chat, agent) -> its open proposal's id
    request_blocks: dict[str, list[str]] = field(default_factory=dict)  # code request id -> its block ids
    #: (chat, executor agent) -> exec id -> executions not yet settled
    unsettled: dict[ChatAgent, dict[str, ExecutionView]] = field(default_factory=dict)
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
    #: Every event applied, in order, without token deltas: kept when `keep_events` (transcripts
    #: walk them); a live view does without (the bus and the log hold them).
    events: list[Any] = field(default_factory=list)
    keep_events: bool = False
    #: who looks through this view (a live view's own sender): a person's answer or stop from
    #: another view is then told by its name, not as "you"; None (a replay) reads every one as "you"
    viewer: Sender | None = None

    # -- what readers ask ------------------------------------------------------------------------
    @property
    def stop_reason(self) -> str | None:
        """Why the run stopped, or None while it runs (or when the log ends without a stop)."""
        return self.stopped_event.reason if self.stopped_event else None

    def stop_words(self) -> str | None:
        """Why the run stopped, for the viewer: their own stop as "you", another person's by name,
        with the stopper's own words when they gave some."""
        event = self.stopped_event
        if event is None or event.kind != StopKind.STOPPED_BY_USER or self.viewer is None:
            return self.stop_reason
        asked = self.controls.stop_requested
        if asked is not None:
            sender, words = asked.sender, asked.reason
        else:  # a stop given as the answer to a request
            decided = next((r.decision for r in reversed(self.decisions)
                            if r.decision.kind == DecisionKind.STOP and r.decision.by == DecidedBy.HUMAN), None)
            sender, words = (decided.sender, decided.note) if decided is not None else (None, "")
        if sender is None:
            return event.reason
        return f"stopped by {person_words(sender, self.viewer)}" + (f": {words}" if words else "")

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
        """True for teams that count rounds and whose next speaker a person may pick (group chats, swarms)."""
        return self.team_kind in ("group_chat", "swarm")

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

    def open_requests(self, is_open: Callable[[str], bool] | None = None) -> list[DecisionRequested]:
        """Requests still waiting, oldest first. With `is_open` (a live run's handle says which
        requests still wait), one answered a moment ago drops out at once, before the engine
        records the decision."""
        waiting = list(self.waiting.values())
        return waiting if is_open is None else [p for p in waiting if is_open(p.request.id)]

    def messages_in(self, chat: str = ROOT_CHAT) -> list[Message]:
        """The messages delivered in `chat`, in order (the root chat's: the run's own transcript)."""
        return self.chat_messages.get(chat, [])

    def stages(self) -> list[ChatView]:
        """The run's own stages (a sequence's, not those of a sequence inside one), in order."""
        return [c for c in self.chats.values() if c.started.scope == "stage" and c.parent == ROOT_CHAT]

    def open_stage(self) -> ChatView | None:
        """The innermost stage that runs now (one of a sequence inside a stage too), or None."""
        return next((c for c in reversed(self.chats.values()) if c.open and c.started.scope == "stage"), None)

    def chat_path(self, chat: str) -> list[ChatView]:
        """The chats from the outermost one inside the run down to `chat` (empty for the root)."""
        path: list[ChatView] = []
        while chat in self.chats and len(path) <= len(self.chats):  # a malformed log cannot loop
            path.insert(0, self.chats[chat])
            chat = self.chats[chat].parent
        return path

    def agent(self, name: str | None) -> AgentView | None:
        """The view of `name`, or None."""
        return self.agents.get(name) if name else None

    def elapsed(self, now: float) -> float:
        """Seconds since the run started, frozen once it stopped."""
        if self.started_ts is None:
            return 0.0
        end = self.stopped_ts if self.stopped_ts is not None else now
        return max(0.0, end - self.started_ts)

    def draft_of(self, agent: str, chat: str = ROOT_CHAT) -> MessageView | None:
        """`agent`'s open draft in `chat` (streaming, drafted or waiting), if any."""
        entry_id = self.drafts.get((chat, agent))
        return self.entries.get(entry_id) if entry_id else None

    def entry_for_message(self, message_id: str) -> MessageView | None:
        """The entry showing the message with this id."""
        entry_id = self.by_message_id.get(message_id)
        return self.entries.get(entry_id) if entry_id else None

    def open_blocks(self, agent: str, chat: str = ROOT_CHAT) -> list[BlockView]:
        """Runnable blocks of `agent`'s open proposal in `chat` that have not run yet."""
        proposal = self.open_proposal(agent, chat)
        if proposal is None:
            return []
        return [b for b in proposal.blocks if b.snippet.runnable and b.exec_id is None
                and b.status not in ("skipped", "not run")]

    def unfinished_code(self) -> list[ExecutionView]:
        """Blocks whose result never reached the conversation: a crash cut them off, or came
        between their end and the execution message (after a stop nothing is open)."""
        return [x for runs in self.unsettled.values() for x in runs.values()]

    # -- helpers ---------------------------------------------------------------------------------
    def set_state(self, name: str | None, state: AgentState) -> None:
        """Set `name`'s state (an unknown name, e.g. the speaker selector, is ignored)."""
        view = self.agent(name)
        if view is not None:
            view.state = state

    @property
    def holder(self) -> str | None:
        """Who holds a swarm's conversation: the agent the last handoff named, else the first agent
        (None for other teams); the engine's own rule (engine/handoffs.py), read from the messages."""
        if self.team_kind != "swarm":
            return None
        return next((m.handoff for m in reversed(self.messages_in()) if m.handoff), next(iter(self.team_agents), None))

    def other_agent(self, name: str) -> str | None:
        """The other agent of a two-agent chat, or None."""
        others = [n for n in self.team_agents or self.agents if n != name]
        return others[0] if len(others) == 1 else None

    def open_proposal(self, agent: str, chat: str = ROOT_CHAT) -> ProposalView | None:
        """`agent`'s latest code proposal in `chat` while its blocks may still be decided or run."""
        pid = self.open_proposals.get((chat, agent))
        return self.proposals[pid] if pid is not None else None

    def close_proposal(self, agent: str, chat: str = ROOT_CHAT) -> None:
        """`agent`'s open proposal in `chat` is done: its blocks were decided against, ran, or were
        replaced."""
        pid = self.open_proposals.pop((chat, agent), None)
        if pid is not None:
            self.proposals[pid].open = False

    def settle(self, agent: str | None = None, chat: str = ROOT_CHAT) -> None:
        """The story of `agent`'s executions in `chat` (every agent's in every chat when None)
        ended: their result reached the conversation, or the run stopped."""
        for key in [(chat, agent)] if agent is not None else list(self.unsettled):
            for run in self.unsettled.pop(key, {}).values():
                run.settled = True

    def new_draft(self, agent: str, event: Any) -> MessageView:
        """Start `agent`'s next draft in the event's chat, with an id from the event that began it."""
        entry = MessageView(id=f"d{event.seq or len(self.entries) + 1}", sender=agent, seq=event.seq, ts=event.ts,
                            chat=event.chat)
        while entry.id in self.entries:  # events without seq (built by hand in tests)
            entry.id += "'"
        self.entries[entry.id] = entry
        self.drafts[(event.chat, agent)] = entry.id
        return entry

    def open_draft(self, agent: str, chat: str = ROOT_CHAT) -> MessageView | None:
        """`agent`'s draft in `chat` unless it was discarded or rejected (a new one starts then)."""
        entry = self.draft_of(agent, chat)
        if entry is None or entry.status in (EntryStatus.DISCARDED, EntryStatus.REJECTED):
            return None
        return entry
