"""Helpers for the UI tests: configs for the scripted server, the app on a real run, screen text.

The pilot tests drive the real engine (`prepare_run`) against the scripted OpenAI-compatible
server; `synthetic_*` builds event sequences for snapshots, which must not depend on timing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tuiagents.engine.decisions import (
    CodeSnippet,
    DecisionKind,
    DecisionRequest,
    RequestKind,
)
from tuiagents.engine.events import (
    AgentInfo,
    CodeProposed,
    DecisionRequested,
    MessageDelivered,
    MessageDrafted,
    RunStarted,
    SpeakerSelected,
    TurnStarted,
    UsageRecorded,
)
from tuiagents.engine.messages import Message
from tuiagents.ui.app import TuiAgentsApp
from tuiagents.ui.settings import UIOptions

SIZE = (160, 48)
T0 = 1_700_000_000.0  # fixed timestamps and clock for snapshots


def fixed_clock(offset: float = 65.0) -> Callable[[], float]:
    """A clock frozen at T0 + offset (the status bar then shows a stable elapsed time)."""
    return lambda: T0 + offset


def pair_config(make_config: Callable[..., Any], *, code: str = "none", coder_mode: str | None = None,
                max_turns: int = 3) -> Any:
    """A two-agent team on the scripted model: `user` (a proxy that runs code when `code` says so)
    and `coder` (an assistant). Both reply with the model, so the chat goes on for `max_turns`."""
    user: dict[str, Any] = {"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER",
                            "code_execution": code, "model": "default"}
    coder: dict[str, Any] = {"name": "coder", "kind": "assistant", "model": "default"}
    if coder_mode:
        coder["human_input_mode"] = coder_mode
    return make_config(agents=[user, coder],
                       teams=[{"name": "pair", "kind": "two_agent", "agents": ["user", "coder"], "max_turns": max_turns}],
                       local_execution={"timeout": 20})


def group_config(make_config: Callable[..., Any], names: list[str], selection: str = "round_robin",
                 max_rounds: int = 6) -> Any:
    """A group chat of conversable agents on the scripted model."""
    agents = [{"name": n, "kind": "conversable", "model": "default", "human_input_mode": "NEVER",
               "description": f"the {n}"} for n in names]
    return make_config(agents=agents, teams=[{"name": "group", "kind": "group_chat", "agents": names,
                                             "speaker_selection": selection, "max_rounds": max_rounds}])


def make_app(config: Any, team: str, task: str, tmp_path: Path, **options: Any) -> TuiAgentsApp:
    """The app on a real run of `team` (session log in `tmp_path`), bell off unless asked."""
    from tuiagents.app.launch import prepare_run

    run = prepare_run(config, team, task, approve="ask", session_path=tmp_path / "session.jsonl")
    options.setdefault("bell", False)
    return TuiAgentsApp(run=run, options=UIOptions(**options))


async def wait_until(pilot: Any, predicate: Callable[[], Any], timeout: float = 15.0, what: str = "") -> Any:
    """Let the app run until `predicate()` is true; fail the test after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if loop.time() > end:
            pytest.fail(f"timed out waiting for {what or predicate}; screen:\n{screen_text(pilot.app)}")
        await pilot.pause(0.02)


def screen_text(app: Any) -> str:
    """The text the terminal shows right now (top screen)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def waiting(app: Any, kind: RequestKind | None = None) -> Any:
    """The cockpit's current request (of `kind`), or None."""
    cockpit = app.cockpit
    current = cockpit.current_request() if cockpit is not None else None
    if current is not None and (kind is None or current.request.kind == kind):
        return current
    return None


# -- synthetic events for snapshots ----------------------------------------------------------------------
def agents_info(names: list[str]) -> list[AgentInfo]:
    """AgentInfo for each name, with a model and varied kinds."""
    out = []
    for i, name in enumerate(names):
        kind = "user_proxy" if i == 0 else "assistant"
        out.append(AgentInfo(name=name, kind=kind, model=None if i == 0 else "gpt-4o-mini",
                             code_execution="docker" if i == 0 else "none", description=f"the {name}"))
    return out


def conversation(names: list[str], kind: str = "group_chat") -> list[Any]:
    """A short finished-looking conversation between `names`, with fixed timestamps."""
    ts = T0
    events: list[Any] = [RunStarted(run_id="run1", team="demo", team_kind=kind, task="Average the temperatures.",
                                    agents=agents_info(names), ts=ts)]
    events.append(MessageDelivered(message=Message(sender=names[0], content="Average the temperatures.",
                                                   origin="human"), ts=ts))
    bodies = [
        "Plan:\n1. **coder** writes the code\n2. *user* runs it",
        "Here it is:\n\n```python\nprint(sum([19, 21, 22]) / 3)\n```",
        "Looks right. `21.0` is the mean.",
        "Agreed; wrapping up.",
    ]
    for i, name in enumerate(names[1:], 1):
        ts = T0 + 10 * i
        events.append(SpeakerSelected(agent=name, method="auto", round=i, ts=ts))
        events.append(TurnStarted(agent=name, round=i, ts=ts))
        body = bodies[(i - 1) % len(bodies)]
        events.append(MessageDrafted(agent=name, content=body, ts=ts + 3))
        events.append(UsageRecorded(agent=name, model="gpt-4o-mini", prompt_tokens=100 * i, completion_tokens=20 * i,
                                    cost=0.0001 * i, ts=ts + 3))
        events.append(MessageDelivered(message=Message(sender=name, content=body), round=i, ts=ts + 5))
    return events


def message_request(agent: str, content: str) -> list[Any]:
    """A drafted message waiting for approval."""
    request = DecisionRequest(id="rq-msg", kind=RequestKind.MESSAGE, agent=agent, content=content,
                              prompt=f"Deliver {agent}'s message?",
                              allowed=[DecisionKind.APPROVE, DecisionKind.EDIT, DecisionKind.REJECT,
                                       DecisionKind.INJECT, DecisionKind.STOP])
    return [TurnStarted(agent=agent, round=9, ts=T0 + 65), MessageDrafted(agent=agent, content=content, ts=T0 + 65),
            DecisionRequested(request=request, ts=T0 + 65)]


def code_request(agent: str, runner: str, code: str) -> list[Any]:
    """A code block waiting for confirmation."""
    executor = "docker · tuiagents-sandbox:latest · network none · 512m · 1 cpu · 60 s"
    block = CodeSnippet(language="python", code=code)
    request = DecisionRequest(id="rq-code", kind=RequestKind.CODE, agent=agent, code_blocks=[block],
                              executor=executor, content=code,
                              prompt=f"Run {agent}'s code in the Docker sandbox as {runner}?",
                              allowed=[DecisionKind.APPROVE, DecisionKind.EDIT, DecisionKind.SKIP,
                                       DecisionKind.REPLY, DecisionKind.STOP])
    return [CodeProposed(agent=agent, blocks=[block], executor=executor, ts=T0 + 65),
            DecisionRequested(request=request, ts=T0 + 65)]


def add(a: int, b: int) -> int:
    """Add two integers (a tool the UI tests load as "ui_support:add")."""
    return a + b
