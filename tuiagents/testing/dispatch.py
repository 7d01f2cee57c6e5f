"""Choosing the answer to one request: global faults, rule matching, turn counting.

:class:`Dispatcher` holds the mutable state of a running script (how often each rule has matched,
how many turns each agent has completed, which global faults are still pending) behind a lock, so
the threaded HTTP server can call :meth:`Dispatcher.choose` from any thread.
"""

from __future__ import annotations

import fnmatch
import logging
import re
import threading
from dataclasses import dataclass
from typing import Any

from tuiagents.testing.faults import Fault
from tuiagents.testing.script import Reply, Rule, Script

log = logging.getLogger("tuiagents.testing")


def message_text(message: Any) -> str:
    """The text of one chat message: its string content, or its text parts joined."""
    if not isinstance(message, dict):
        return ""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _messages(body: dict) -> list[dict]:
    messages = body.get("messages")
    return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []


def system_text(body: dict) -> str:
    """All system (and developer) messages of a request, joined by newlines."""
    return "\n".join(message_text(m) for m in _messages(body) if m.get("role") in ("system", "developer"))


def last_text(body: dict) -> str:
    """The text content of the last message of a request ("" when there is none)."""
    messages = _messages(body)
    return message_text(messages[-1]) if messages else ""


def agent_of(body: dict) -> str | None:
    """The agent a request comes from: its ``user`` field (the engine sets it to the agent name)."""
    user = body.get("user")
    return user if isinstance(user, str) and user else None


@dataclass(frozen=True)
class Outcome:
    """What the server will do with one request: a reply, a fault, or both.

    ``reply`` is None only for faults that send no reply at all (HTTP errors and ``drop``); a
    mid-stream fault or a slow reply carries the reply it starts (or delays).
    """

    agent: str | None
    turn: int
    reply: Reply | None
    fault: Fault | None
    rule: str | None  # label of the matched rule; None = a global fault or the default reply
    rule_index: int | None


class Dispatcher:
    """The running state of a :class:`Script`; thread-safe."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self._lock = threading.Lock()
        self._uses = [0] * len(script.rules)
        self._turns: dict[str, int] = {}
        self._pending: list[list[Any]] = [[f, f.times] for f in script.faults]

    def inject(self, fault: Fault) -> None:
        """Queue a global fault for the next ``fault.times`` chat requests (after those queued)."""
        with self._lock:
            self._pending.append([fault, fault.times])

    def turns(self) -> dict[str, int]:
        """Completed turns per agent key so far (a copy)."""
        with self._lock:
            return dict(self._turns)

    def choose(self, body: dict) -> Outcome:
        """Decide the answer to a chat-completion request body and update the state."""
        agent = agent_of(body)
        key = agent if agent is not None else "system:" + system_text(body)
        with self._lock:
            turn = self._turns.get(key, 0)
            fault = self._next_global_fault()
            if fault is not None and (fault.is_http_error or fault.kind == "drop"):
                return Outcome(agent, turn, None, fault, None, None)
            # A global mid-stream fault still needs a reply to start streaming: it peeks at the
            # matching rule without using it up, so the retried request gets the same reply.
            consume = fault is None or not fault.fatal
            index = self._match(body, agent, turn)
            if index is None:
                reply, label = self.script.default, None
                log.warning(
                    "scripted server: no rule matched (agent=%r, turn=%d, last message=%.80r)",
                    agent, turn, last_text(body),
                )
            else:
                rule = self.script.rules[index]
                reply = rule.reply_for(self._uses[index]) or self.script.default
                label = rule.label(index)
                if consume:
                    self._uses[index] += 1
                    if rule.fault is not None and (fault is None or rule.fault.fatal):
                        fault = rule.fault
            if fault is None or not fault.fatal:
                self._turns[key] = turn + 1
            return Outcome(agent, turn, reply, fault, label, index)

    def _next_global_fault(self) -> Fault | None:
        while self._pending:
            entry = self._pending[0]
            if entry[1] > 0:
                entry[1] -= 1
                return entry[0]
            self._pending.pop(0)
        return None

    def _match(self, body: dict, agent: str | None, turn: int) -> int | None:
        for index, rule in enumerate(self.script.rules):
            if rule.times is not None and self._uses[index] >= rule.times:
                continue
            if rule_matches(rule, body, agent, turn):
                return index
        return None


def rule_matches(rule: Rule, body: dict, agent: str | None, turn: int) -> bool:
    """True when every matcher the rule sets matches the request."""
    if rule.agent is not None:
        if agent is not None:
            if agent != rule.agent:
                return False
        elif rule.agent not in system_text(body):
            return False
    if rule.turn is not None and rule.turn != turn:
        return False
    if rule.model is not None and not fnmatch.fnmatchcase(str(body.get("model", "")), rule.model):
        return False
    if rule.system is not None and rule.system not in system_text(body):
        return False
    if rule.contains is not None and rule.contains not in last_text(body):
        return False
    if rule.regex is not None and re.search(rule.regex, last_text(body)) is None:
        return False
    if rule.history is not None and not any(rule.history in message_text(m) for m in _messages(body)):
        return False
    return True
