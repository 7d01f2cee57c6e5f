"""Cross-checks of a config's swarm handoffs and prompt templates, with sentences for a person.

They read the parsed `[[agents]]` and `[[teams]]` entries (config.py calls them at load time) and
return one problem per line, each naming its key path, what is wrong and what to change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from tuiagents.templates import ContextValue, TemplateError, fill_template

__all__ = ["HANDOFF_USER", "handoff_problems", "template_problems"]

#: In `handoffs`, the person (when the team has no agent of that name): `transfer_to_user`.
HANDOFF_USER = "user"


class _Agent(Protocol):
    name: str
    system_message: str | None
    handoffs: list[str]


class _Team(Protocol):
    name: str
    kind: str
    agents: list[str]
    task: str | None


def handoff_problems(agents: Sequence[_Agent], teams: Sequence[_Team]) -> list[str]:
    """A swarm's handoffs name agents of the same team (or the person), never the agent itself."""
    problems: list[str] = []
    index = {a.name: (j, a) for j, a in enumerate(agents)}
    for t in teams:
        if t.kind != "swarm":
            continue
        for n in t.agents:
            if n not in index:
                continue  # the team check names an undefined agent
            j, a = index[n]
            for k, target in enumerate(a.handoffs):
                where = f"agents[{j}].handoffs[{k}]: agent {n!r} (in swarm team {t.name!r})"
                others = ", ".join(x for x in t.agents if x != n)
                if target == n:
                    problems.append(f"{where} hands off to itself; remove {target!r} (an agent keeps the "
                                    f"conversation until it hands it to another)")
                elif target == HANDOFF_USER and target not in t.agents:
                    continue  # the person: transfer_to_user
                elif target not in index:
                    problems.append(f"{where} hands off to {target!r}, which is not defined; use one of "
                                    f"{others}, or \"user\" for the person")
                elif target not in t.agents:
                    problems.append(f"{where} hands off to {target!r}, which is not in team {t.name!r}; "
                                    f"add it to the team's agents, or hand off to one of {others}")
    return problems


def template_problems(agents: Sequence[_Agent], teams: Sequence[_Team],
                      context: Mapping[str, ContextValue] | None) -> list[str]:
    """Every `{name}` of the system messages and team tasks is a `[context]` variable."""
    if context is None:
        return []
    texts = [(f"agents[{i}].system_message (agent {a.name!r} system message)", a.system_message)
             for i, a in enumerate(agents)]
    texts += [(f"teams[{i}].task (team {t.name!r} task)", t.task) for i, t in enumerate(teams)]
    problems: list[str] = []
    for where, text in texts:
        if text is None:
            continue
        try:
            fill_template(text, context, where)
        except TemplateError as exc:
            problems.append(str(exc))
    return problems
