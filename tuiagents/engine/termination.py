"""Termination conditions: when a run stops, and the sentence that tells a person why.

Conditions compose with `&` and `|`, as in AutoGen AgentChat:
`TextMention("DONE") | MaxMessages(20) | CostBudget(0.50)`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from tuiagents.engine.events import StopKind
from tuiagents.engine.messages import Message
from tuiagents.engine.usage import format_cost


@dataclass
class StopInfo:
    """Why a run stops: a kind for programs and a reason for people."""

    kind: StopKind
    reason: str


class RunFacts(Protocol):
    """What conditions may look at (TeamRun provides it)."""

    transcript: list[Message]
    total_tokens: int
    total_cost: float
    started_at: float


class TerminationCondition:
    """Base class: `check` returns a StopInfo once the run should stop, else None."""

    def check(self, state: RunFacts, message: Message | None) -> StopInfo | None:
        """Look at the run after `message` was delivered."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget per-run state (for conditions reused across runs)."""

    def __and__(self, other: "TerminationCondition") -> "TerminationCondition":
        return AllOf([self, other])

    def __or__(self, other: "TerminationCondition") -> "TerminationCondition":
        return AnyOf([self, other])


@dataclass
class AnyOf(TerminationCondition):
    """Stops when any of the conditions stops."""

    conditions: list[TerminationCondition]

    def check(self, state, message):
        for c in self.conditions:
            info = c.check(state, message)
            if info:
                return info
        return None

    def reset(self):
        for c in self.conditions:
            c.reset()


@dataclass
class AllOf(TerminationCondition):
    """Stops once every condition has fired (each remembers that it did)."""

    conditions: list[TerminationCondition]
    _fired: dict[int, StopInfo] = field(default_factory=dict)

    def check(self, state, message):
        for i, c in enumerate(self.conditions):
            if i not in self._fired:
                info = c.check(state, message)
                if info:
                    self._fired[i] = info
        if len(self._fired) == len(self.conditions):
            infos = [self._fired[i] for i in range(len(self.conditions))]
            return StopInfo(infos[-1].kind, " and ".join(i.reason for i in infos))
        return None

    def reset(self):
        self._fired.clear()
        for c in self.conditions:
            c.reset()


@dataclass
class TextMention(TerminationCondition):
    """Stops when a delivered message contains `text` (optionally only from some senders)."""

    text: str
    sources: list[str] | None = None

    def check(self, state, message):
        if message is None or (self.sources and message.sender not in self.sources):
            return None
        if self.text in (message.content or ""):
            return StopInfo(StopKind.TERMINATION_MESSAGE, f"{message.sender} said {self.text}")
        return None


@dataclass
class MaxMessages(TerminationCondition):
    """Stops once the conversation holds `limit` messages."""

    limit: int

    def check(self, state, message):
        if len(state.transcript) >= self.limit:
            return StopInfo(StopKind.MAX_MESSAGES, f"max messages {self.limit} reached")
        return None


@dataclass
class TokenBudget(TerminationCondition):
    """Stops once the run has used `limit` tokens (prompt plus completion)."""

    limit: int

    def check(self, state, message):
        if state.total_tokens >= self.limit:
            return StopInfo(StopKind.TOKEN_BUDGET,
                            f"token budget {self.limit} reached ({state.total_tokens} used)")
        return None


@dataclass
class CostBudget(TerminationCondition):
    """Stops once the run has cost `limit` USD."""

    limit: float

    def check(self, state, message):
        if state.total_cost >= self.limit:
            return StopInfo(StopKind.COST_BUDGET,
                            f"cost budget {format_cost(self.limit)} reached ({format_cost(state.total_cost)} spent)")
        return None


@dataclass
class Timeout(TerminationCondition):
    """Stops once the run has lasted `seconds` of wall-clock time."""

    seconds: float

    def check(self, state, message):
        if time.monotonic() - state.started_at >= self.seconds:
            return self.stop_info()
        return None

    def stop_info(self) -> StopInfo:
        """Why the run stops when this limit is reached."""
        return StopInfo(StopKind.TIMEOUT, f"time limit {self.seconds:g} s reached")


def enforced_timeout(condition: TerminationCondition | None) -> Timeout | None:
    """The shortest Timeout that stops a run on its own (alone or under `|`), or None.

    Conditions are checked between turns; a run enforces this one with a timer as well, so a
    slow model call or a person who never answers cannot keep it going past its limit. A
    Timeout under `&` needs its partners too, so it is left to the checks.
    """
    if isinstance(condition, Timeout):
        return condition
    if isinstance(condition, AnyOf):
        found = [t for c in condition.conditions if (t := enforced_timeout(c)) is not None]
        return min(found, key=lambda t: t.seconds, default=None)
    return None


def is_termination_text(content: str | None, keyword: str = "TERMINATE") -> bool:
    """AutoGen's default predicate: the stripped text is, or ends with, the keyword."""
    text = (content or "").strip()
    return bool(text) and (text == keyword or text.endswith(keyword))
