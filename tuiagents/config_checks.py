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


class _Stage(Protocol):
    team: str
    task: str


class _Team(Protocol):
    name: str
    kind: str
    agents: list[str]
    task: str | None
    stages: Sequence[_Stage]


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
    """Every `{name}` of the system messages, team tasks and stage tasks is a `[context]` variable."""
    if context is None:
        return []
    texts = [(f"agents[{i}].system_message (agent {a.name!r} system message)", a.system_message)
             for i, a in enumerate(agents)]
    texts += [(f"teams[{i}].task (team {t.name!r} task)", t.task) for i, t in enumerate(teams)]
    texts += [(f"teams[{i}].stages[{j}].task (team {t.name!r} stage {j + 1} task)", s.task)
              for i, t in enumerate(teams) for j, s in enumerate(t.stages)]
    problems: list[str] = []
    for where, text in texts:
        if text is None:
            continue
        try:
            fill_template(text, context, where)
        except TemplateError as exc:
            problems.append(str(exc))
    return problems


def sequence_problems(teams: Sequence[_Team]) -> list[str]:
    """Stages naming unknown teams, and sequences that contain themselves (the loop is named)."""
    by_name = {t.name: t for t in teams}
    problems = [f"teams[{i}].stages[{j}].team: sequence {t.name!r} names team {s.team!r}, which is not "
                f"defined; use one of: {', '.join(n for n in by_name if n != t.name) or '(no other teams)'}"
                for i, t in enumerate(teams) for j, s in enumerate(t.stages) if s.team not in by_name]
    reported: set[frozenset[str]] = set()
    for i, t in enumerate(teams):
        loop = _loop_from(t.name, by_name)
        if loop is not None and frozenset(loop) not in reported:
            reported.add(frozenset(loop))
            how = "directly" if len(loop) == 2 else "through " + ", ".join(repr(n) for n in loop[1:-1])
            problems.append(f"teams[{i}].stages: sequence {t.name!r} contains itself {how}: "
                            f"{' → '.join(loop)}; a stage must name a team that does not lead back to it")
    return problems


def _loop_from(start: str, teams: Mapping[str, _Team]) -> list[str] | None:
    """The first path of stages from `start` back to `start` (["a", "b", "a"]), or None."""
    todo: list[list[str]] = [[start]]
    seen: set[str] = set()
    while todo:
        path = todo.pop()
        for stage in teams[path[-1]].stages if path[-1] in teams else []:
            if stage.team == start:
                return [*path, start]
            if stage.team not in seen:
                seen.add(stage.team)
                todo.append([*path, stage.team])
    return None


def sequence_agents(teams: Mapping[str, _Team], team: _Team) -> list[str]:
    """A team's agents; a sequence's: its stages' agents in first-seen order (checked: no loop)."""
    if team.kind != "sequence":
        return list(team.agents)
    names: list[str] = []
    for stage in team.stages:
        names += [n for n in sequence_agents(teams, teams[stage.team]) if n not in names]
    return names
