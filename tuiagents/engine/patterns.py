"""A team's pattern as one object: who speaks next, when the chat ends, what a message ends.

The run loop (loop.py) gives turns and asks its pattern everything that differs between team
shapes; it has no branch on a team's kind. Adding a pattern (a sequence of chats, a swarm) adds a
class here and its entry in `PATTERNS`, not branches in the loop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

from tuiagents.engine.control import RunStop
from tuiagents.engine.core import RunCore
from tuiagents.engine.events import StopKind
from tuiagents.engine.handoffs import holder, transfer_ask
from tuiagents.engine.loop import run_loop
from tuiagents.engine.messages import Message
from tuiagents.engine.settings import RunSettings
from tuiagents.engine.speaker import Selection, select_speaker
from tuiagents.engine.termination import StopInfo, is_termination_text
from tuiagents.engine.tools import open_tool_calls

__all__ = [
    "GroupChat", "PATTERNS", "Pattern", "Swarm", "TwoAgentChat", "pattern_for", "pattern_label",
    "pending_tool_target", "register_pattern",
]


def pending_tool_target(run: RunCore) -> str | None:
    """Who must speak next: the executor of calls still open, else the caller reading its results."""
    if not run.transcript:
        return None
    pending = open_tool_calls(run.transcript)
    if pending is not None:
        message, calls = pending
        for name, agent in run.agents.items():
            if name != message.sender and any(c.name in agent.executable_tools for c in calls):
                return name
        return message.sender  # it runs its own tools, or answers unknown ones with errors
    last = run.transcript[-1]
    if last.tool_results and last.recipient in run.agents:
        return last.recipient
    return None


class Pattern(ABC):
    """How one team shape runs; the loop asks it who speaks next and when the chat is over."""

    #: the name a config's `kind` and a log's `team_kind` use
    kind: ClassVar[str]
    #: what a person calls it ("group chat")
    label: ClassVar[str]
    #: a selection is announced as a SpeakerSelected event (views show who was picked and how)
    announces_selection: ClassVar[bool] = False

    def __init__(self, settings: RunSettings) -> None:
        self.settings = settings

    def check_team(self, agents: Sequence[str]) -> None:
        """Raise ValueError when this pattern cannot run these agents."""
        if len(agents) < 2:
            raise ValueError(f"a {self.label} needs at least 2 agents, got {len(agents)}")

    def limits(self) -> dict[str, int | None]:
        """The run's limits as RunStarted reports them (max_turns, max_rounds)."""
        return {}

    def task_message(self, run: RunCore) -> Message:
        """The message that opens the chat: the task, as the first agent's (AutoGen's initiator)."""
        return Message(sender=next(iter(run.agents)), content=run.task, origin="human")

    async def drive(self, run: RunCore) -> StopInfo:
        """Run the chat to its end and say why it ended: the shared loop of loop.py, by default.
        A pattern made of chats (a sequence) runs them here instead, each through `run_chat`."""
        return await run_loop(run, self)

    @abstractmethod
    def stage_over(self, run: RunCore) -> StopInfo | None:
        """Why the chat ends before the next turn (a limit reached), or None to go on."""

    async def next_speaker(self, run: RunCore) -> Selection:
        """Who speaks next: whoever must answer open tool calls (or read their results), else the
        pattern's `choose`. Pending calls go first in every pattern, or they would vanish from the
        caller's history; a speaker someone picked keeps its turn for the one after."""
        forced = pending_tool_target(run)
        if forced:
            return Selection(forced, "forced", "runs the pending tool calls")
        return await self.choose(run)

    @abstractmethod
    async def choose(self, run: RunCore) -> Selection:
        """Who speaks next by this pattern's rule, and how they were chosen."""

    def after_message(self, run: RunCore, message: Message) -> None:
        """Raise RunStop when `message` ends the chat by this pattern's rules."""


class TwoAgentChat(Pattern):
    """Two agents take turns (AutoGen's `initiate_chat`), up to `max_turns` each."""

    kind = "two_agent"
    label = "two-agent chat"

    def check_team(self, agents: Sequence[str]) -> None:
        """A two-agent chat has exactly two agents."""
        if len(agents) != 2:
            raise ValueError(f"a two-agent chat needs exactly 2 agents, got {len(agents)}")

    def limits(self) -> dict[str, int | None]:
        """`max_turns` per agent."""
        return {"max_turns": self.settings.max_turns}

    def stage_over(self, run: RunCore) -> StopInfo | None:
        """Each agent's turns count against `max_turns` (the task counts as the first)."""
        max_turns = self.settings.max_turns
        if max_turns is not None and run.state.agent_turns >= 2 * max_turns:
            return StopInfo(StopKind.MAX_TURNS, f"max turns {max_turns} reached")
        return None

    async def choose(self, run: RunCore) -> Selection:
        """A speaker someone picked, else the other agent."""
        forced_next = run.state.take_forced_next()  # set_next_speaker, or a human reply a tool's caller answers
        if forced_next:
            return Selection(forced_next[0], "forced", forced_next[1])
        names = list(run.agents)
        last = run.last_speaker
        return Selection(names[1] if last == names[0] else names[0], "alternate")


class GroupChat(Pattern):
    """Several agents; a selector picks each speaker (AutoGen's GroupChat and its manager)."""

    kind = "group_chat"
    label = "group chat"
    announces_selection = True

    def limits(self) -> dict[str, int | None]:
        """`max_rounds` for the whole chat."""
        return {"max_rounds": self.settings.max_rounds}

    def stage_over(self, run: RunCore) -> StopInfo | None:
        """Every turn is a round, up to `max_rounds`."""
        if run.state.round >= self.settings.max_rounds:
            return StopInfo(StopKind.MAX_ROUNDS, f"max rounds {self.settings.max_rounds} reached")
        return None

    async def choose(self, run: RunCore) -> Selection:
        """The team's selection method (a forced pick included)."""
        return await select_speaker(run)

    def after_message(self, run: RunCore, message: Message) -> None:
        """A group chat ends as soon as an agent says the termination word (the manager's check)."""
        sender = run.agents.get(message.sender)
        if sender is None or message.origin in ("execution", "tool"):
            return
        if is_termination_text(message.content, sender.termination_keyword):
            raise RunStop(StopInfo(StopKind.TERMINATION_MESSAGE,
                                   f"{sender.name} said {sender.termination_keyword}"))


class Swarm(GroupChat):
    """Agents hand the conversation to each other by tool call (AgentChat's Swarm, AG2's handoffs).

    The task goes to the first agent, which holds the conversation; whoever holds it speaks every
    turn (a reply without a handoff keeps it) until it hands it on with `transfer_to_<agent>`
    (handoffs.py: the supervisor approves, redirects or refuses it) or the run stops: the
    termination word, `max_rounds` and every other limit apply as in a group chat. A person's
    next-speaker pick gives one turn; the conversation stays with its holder.
    """

    kind = "swarm"
    label = "swarm"

    def task_message(self, run: RunCore) -> Message:
        """The task, from the person to the first agent (it is not the agent's own words)."""
        return Message(sender="human", content=run.task, origin="human", recipient=next(iter(run.agents)))

    async def next_speaker(self, run: RunCore) -> Selection:
        """Right after a handoff, its target (its answer is no tool result the caller must read);
        an agent that asked for a transfer, to have it decided."""
        last = run.transcript[-1] if run.transcript else None
        pending = open_tool_calls(run.transcript)
        if last is not None and last.handoff and pending is None:
            return await self.choose(run)
        ask = transfer_ask(run)
        if ask is not None:
            lacking = ", ".join(c.name for c in ask.calls if c is not ask.taken)
            note = (f"asks to hand the conversation to {ask.target}" if ask.target is not None
                    else f"asks for a transfer it does not have ({lacking})")
            return Selection(ask.caller, "transfer", note)
        return await super().next_speaker(run)

    async def choose(self, run: RunCore) -> Selection:
        """A speaker a person picked, else the holder of the conversation."""
        forced = run.state.take_forced_next()
        if forced:
            return Selection(forced[0], "forced", forced[1])
        name, handoff = holder(run)
        if handoff is not None and handoff is run.transcript[-1]:
            return Selection(name, "handoff", f"from {handoff.sender}")
        return Selection(name, "holder", "holds the conversation")


#: every pattern by the `kind` that names it in a config and a log
PATTERNS: dict[str, type[Pattern]] = {p.kind: p for p in (TwoAgentChat, GroupChat, Swarm)}


def register_pattern(cls: type[Pattern]) -> type[Pattern]:
    """Add a pattern to `PATTERNS` under its kind (a class decorator for patterns kept in modules
    of their own, e.g. those made of chats, which need engine/chats.py)."""
    PATTERNS[cls.kind] = cls
    return cls


def pattern_for(settings: RunSettings) -> Pattern:
    """The pattern `settings.kind` names; ValueError naming the known kinds otherwise."""
    cls = PATTERNS.get(settings.kind)
    if cls is None:
        raise ValueError(f"unknown team kind {settings.kind!r}; choose one of: {', '.join(PATTERNS)}")
    return cls(settings)


def pattern_label(kind: str) -> str:
    """What a person calls the pattern `kind` names (the kind itself, in words, when unknown)."""
    cls = PATTERNS.get(kind)
    return cls.label if cls is not None else kind.replace("_", " ")
