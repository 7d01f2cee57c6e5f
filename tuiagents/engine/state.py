"""What a run knows about its conversation: the state a log rebuilds on resume."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from tuiagents.engine.messages import Message
from tuiagents.engine.usage import Usage


@dataclass
class RunState:
    """The transcript, counters, usage and human messages waiting for the next turn.

    `restore_state` fills it from recorded events; the loop and the turns advance it.
    """

    transcript: list[Message] = field(default_factory=list)
    round: int = 0
    agent_turns: int = 0
    usage: Usage = field(default_factory=Usage)
    usage_by_agent: dict[str, Usage] = field(default_factory=dict)
    #: True when the state came from a log (the task is not delivered again).
    resumed: bool = False
    #: Human messages held for the next turn.
    queued: list[Message] = field(default_factory=list)
    #: (agent, note): who speaks next, set by a person or a tool reply, used once.
    forced_next: tuple[str, str] | None = None
    started_at: float = field(default_factory=time.monotonic)
    #: What the chat hands on when a pattern made of chats says so (a sequence: its last stage's
    #: summary), instead of its own last message.
    summary: str | None = None
    #: The events of the log a resumed run continues (a pattern made of chats finds its chats in it).
    log: list[object] | None = None

    @property
    def total_tokens(self) -> int:
        """Tokens used so far (for budgets)."""
        return self.usage.total_tokens

    @property
    def total_cost(self) -> float:
        """USD spent so far (for budgets)."""
        return self.usage.cost

    def last_sender_among(self, names: object) -> str | None:
        """The sender of the last message whose sender is in `names` (agents, not the human)."""
        for m in reversed(self.transcript):
            if m.sender in names:  # type: ignore[operator]
                return m.sender
        return None

    def count_usage(self, agent: str, prompt: int, completion: int, cost: float, cached: bool) -> None:
        """Count one LLM call for the run and for `agent`."""
        for u in (self.usage, self.usage_by_agent.setdefault(agent, Usage())):
            u.add(prompt, completion, cost, cached)

    def take_forced_next(self) -> tuple[str, str] | None:
        """The forced next speaker and its note, cleared (it applies once)."""
        forced, self.forced_next = self.forced_next, None
        return forced
