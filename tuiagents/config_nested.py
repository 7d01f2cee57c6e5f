"""Nested chats in the config: an agent's `nested_chats` entries and the checks that keep them sound.

A recipient is a defined agent other than its owner; no chain of nested chats leads back to an
agent whose chat it is in (a loop would nest forever); a message fills only `{last}` (the message
that started the chat); a trigger names a defined agent, "human" or "all". config.py calls
`nested_problems` with its other cross-checks: each problem names its key path and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from tuiagents.templates import ContextValue

__all__ = ["NESTED_TRIGGER_ALL", "NESTED_TRIGGER_HUMAN", "NestedChatConfig", "nested_problems"]

#: in `nested_trigger`: a message a person sent (an inject) / a message from any other agent
NESTED_TRIGGER_HUMAN, NESTED_TRIGGER_ALL = "human", "all"


class NestedChatConfig(BaseModel):
    """One entry of an agent's `nested_chats`: a two-agent chat it runs with `recipient` to reply.

    `message` is the chat's first message: `{last}` is the message that triggered it, `{{` and
    `}}` are literal braces; without it the triggering message is sent as is."""

    model_config = ConfigDict(extra="forbid")

    recipient: str
    message: str | None = None
    summary_method: Literal["last_msg", "reflection"] = "last_msg"
    max_turns: int = Field(default=1, ge=1)


class _Agent(Protocol):
    name: str
    nested_chats: list[NestedChatConfig]
    nested_trigger: list[str]


_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def nested_problems(agents: Sequence[_Agent], context: Mapping[str, ContextValue] | None = None) -> list[str]:
    """Nested chats name defined agents other than their owner, never loop back, and fill only
    `{last}` and the `[context]` variables."""
    problems: list[str] = []
    names = {a.name for a in agents}
    for i, a in enumerate(agents):
        for j, n in enumerate(a.nested_chats):
            where = f"agents[{i}].nested_chats[{j}]"
            if n.recipient == a.name:
                problems.append(f"{where}.recipient: agent {a.name!r} cannot run a nested chat with itself; "
                                f"name another agent (e.g. a critic)")
            elif n.recipient not in names:
                problems.append(f"{where}.recipient: agent {a.name!r} names {n.recipient!r}, which is not "
                                f"defined; add an [[agents]] entry named {n.recipient!r} or use one of: "
                                f"{', '.join(sorted(names - {a.name})) or '(no other agents)'}")
            for m in _PLACEHOLDER.finditer(n.message or ""):
                if m.group(0) in ("{{", "}}") or m.group(1) == "last" or m.group(1) in (context or {}):
                    continue
                known = f", a [context] variable ({', '.join(sorted(context))})" if context else ""
                problems.append(f"{where}.message: {m.group(0)!r} is not a placeholder here: use {{last}} for "
                                f"the message that started the chat{known}, and {{{{ or }}}} for a literal brace")
        for j, t in enumerate(a.nested_trigger):
            if t not in names and t not in (NESTED_TRIGGER_HUMAN, NESTED_TRIGGER_ALL):
                problems.append(f"agents[{i}].nested_trigger[{j}]: {t!r} is not a defined agent; name the agents "
                                f"whose messages start the nested chats of {a.name!r}, or \"human\" or \"all\"")
    loop = _nested_loop(agents)
    if loop:
        at = next(i for i, a in enumerate(agents) if a.name == loop[0])
        problems.append(f"agents[{at}].nested_chats: nested chats loop: {' → '.join(loop)}; a nested chat's recipient may not (directly or "
                        f"through its own nested chats) nest back to the agent whose chat it is in")
    return problems


def _nested_loop(agents: Sequence[_Agent]) -> list[str]:
    """The first loop of agent → nested recipient edges (its names, the first again at the end), or []."""
    edges = {a.name: [n.recipient for n in a.nested_chats if n.recipient != a.name] for a in agents}
    done: set[str] = set()

    def walk(name: str, path: list[str]) -> list[str]:
        if name in path:
            return path[path.index(name):] + [name]
        if name in done:
            return []
        for nxt in edges.get(name, []):
            found = walk(nxt, path + [name])
            if found:
                return found
        done.add(name)
        return []

    for a in agents:
        found = walk(a.name, [])
        if found:
            return found
    return []
