"""Group chat speaker selection: round robin, random, manual, auto (the LLM picks) or a callable."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tuiagents.engine.core import RunCore
from tuiagents.engine.decisions import DecisionRequest, RequestKind
from tuiagents.engine.messages import _safe_name
from tuiagents.engine.settings import SpeakerFunction

__all__ = ["RETRY_PROMPT", "SELECT_PROMPT", "Selection", "SpeakerFunction", "candidates", "parse_name",
           "round_robin", "select_speaker"]

SELECT_PROMPT = """You are choosing who speaks next in a team conversation.
The team members are:
{roles}

Read the conversation, then answer with the name of the one member from [{names}] who should speak next. Answer with the name only."""

RETRY_PROMPT = "{answer!r} is not one of [{names}]. Answer with exactly one of those names and nothing else."


@dataclass
class Selection:
    """The chosen speaker, the method that chose it and anything worth telling a person."""

    agent: str
    method: str
    note: str = ""


def candidates(run: RunCore, last: str | None) -> list[str]:
    """Who may speak after `last`, honouring transitions and `allow_repeat_speaker`."""
    names = list(run.agents)
    allowed = names
    settings = run.settings
    if last and settings.allowed_transitions is not None:
        allowed = [n for n in names if n in settings.allowed_transitions.get(last, [])]
    elif last and settings.disallowed_transitions is not None:
        allowed = [n for n in names if n not in settings.disallowed_transitions.get(last, [])]
    if last and not settings.allow_repeat_speaker:
        allowed = [n for n in allowed if n != last]
    return allowed or [n for n in names if n != last] or names


def round_robin(run: RunCore, last: str | None, pool: list[str]) -> str:
    """The first candidate after `last` in team order."""
    names = list(run.agents)
    start = names.index(last) + 1 if last in names else 0
    for i in range(len(names)):
        name = names[(start + i) % len(names)]
        if name in pool:
            return name
    return pool[0]


def parse_name(answer: str, pool: list[str]) -> str | None:
    """The one candidate an LLM answer names (exactly, or the only one mentioned), else None."""
    text = answer.strip().strip("`'\".").strip()
    for name in pool:
        if text.lower() == name.lower():
            return name
    mentioned = [n for n in pool if re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", answer, re.I)]
    return mentioned[0] if len(mentioned) == 1 else None


async def _ask_llm(run: RunCore, pool: list[str]) -> Selection:
    roles = "\n".join(f"- {n}: {run.agents[n].description or 'no description'}" for n in pool)
    names = ", ".join(pool)
    # `name` must fit OpenAI's [a-zA-Z0-9_-] pattern, whatever the agents are called
    history = [{"role": "user", "name": _safe_name(m.sender), "content": m.content or ""}
               for m in run.transcript if m.content]
    messages = [{"role": "system", "content": SELECT_PROMPT.format(roles=roles, names=names)}, *history,
                {"role": "user", "content": f"Who speaks next? Answer with one of: {names}."}]
    attempts = []
    for _ in range(run.settings.selector_attempts):
        completion = await run.selector_llm.complete(messages, entry=run.selector_model,
                                                     agent="speaker_selector", stream=False)
        await run.record_usage("speaker_selector", completion)
        name = parse_name(completion.content, pool)
        if name:
            note = f"after {len(attempts)} invalid answer(s)" if attempts else ""
            return Selection(name, "auto", note)
        attempts.append(completion.content)
        messages += [{"role": "assistant", "content": completion.content},
                     {"role": "user", "content": RETRY_PROMPT.format(answer=completion.content[:80],
                                                                     names=names)}]
    fallback = round_robin(run, run.last_speaker, pool)
    shown = "; ".join(repr(a[:40]) for a in attempts)
    return Selection(fallback, "round_robin",
                     f"the model did not name a valid speaker ({shown}); fell back to round robin")


async def select_speaker(run: RunCore) -> Selection:
    """Pick who speaks next with the team's method, after any override or pending tool call."""
    last = run.last_speaker
    pool = candidates(run, last)
    forced = run.state.take_forced_next()
    if forced:
        return Selection(forced[0], "forced", forced[1])
    method = run.settings.speaker_selection
    if callable(method):
        name = method(last or "", run)
        if name in run.agents:
            return Selection(name, "custom")
        return Selection(round_robin(run, last, pool), "round_robin",
                         f"the selection function returned {name!r}; fell back to round robin")
    if method == "round_robin":
        return Selection(round_robin(run, last, pool), "round_robin")
    if method == "random":
        return Selection(run.rng.choice(pool), "random")
    if method == "manual":
        ordered = sorted(pool, key=lambda n: n != round_robin(run, last, pool))
        request = DecisionRequest(kind=RequestKind.SPEAKER, agent=last or "", candidates=ordered,
                                  prompt="Who speaks next?")
        decision = await run.decide(request)
        return Selection(decision.target or ordered[0], "manual", decision.describe())
    if run.selector_llm is None:
        return Selection(round_robin(run, last, pool), "round_robin",
                         "no model for auto selection; used round robin")
    return await _ask_llm(run, pool)
