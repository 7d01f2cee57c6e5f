"""Chats inside a run: a stage of a sequence, an agent's nested chat.

A chat inside the run is a `RunCore` opened by its parent (`RunCore.open_chat`): its own id,
transcript and counters, the run's bus, controls, gate and usage. `run_chat` announces it
(`ChatStarted`, with its parent), gives its turns through its pattern, summarizes it and
announces its end (`ChatEnded`). Every event inside carries the chat's id, so a log, a replay and
every view keep the chats apart, and a resume finds where each one was (`restore_chat`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from tuiagents.engine.agent import ConversableAgent
from tuiagents.engine.core import RunCore
from tuiagents.engine.events import ChatEnded, ChatStarted, StopKind
from tuiagents.engine.loop import summarize
from tuiagents.engine.patterns import Pattern, pattern_for
from tuiagents.engine.settings import RunSettings
from tuiagents.engine.termination import StopInfo, TerminationCondition
from tuiagents.engine.view import RunView

__all__ = ["ChatOutcome", "RUN_WIDE_STOPS", "child_chat_id", "restore_chat", "run_chat"]

#: stops that end the whole run, not just the chat they happened in: a person's or a program's
#: stop, a budget or time limit of the run, an error
RUN_WIDE_STOPS = frozenset({StopKind.STOPPED_BY_USER, StopKind.EXTERNAL, StopKind.TOKEN_BUDGET,
                            StopKind.COST_BUDGET, StopKind.TIMEOUT, StopKind.ERROR})


@dataclass(frozen=True)
class ChatOutcome:
    """How a chat inside the run ended: its id, its summary, and why it ended."""

    chat: str
    summary: str
    info: StopInfo

    @property
    def ends_run(self) -> bool:
        """True when the reason it ended ends the whole run too (see `RUN_WIDE_STOPS`)."""
        return self.info.kind in RUN_WIDE_STOPS


def child_chat_id(parent: str, name: str) -> str:
    """The id of a chat inside `parent`: stable across a resume, so the same chat gets the same id
    (callers pass a name that says which: "stage2", "user.nested1")."""
    return f"{parent}/{name}"


async def run_chat(parent: RunCore, *, chat: str, scope: Literal["stage", "nested"], title: str,
                   agents: Sequence[ConversableAgent], task: str, settings: RunSettings,
                   owner: str | None = None, index: int | None = None, pattern: Pattern | None = None,
                   restore_from: Iterable[object] | None = None,
                   termination: TerminationCondition | None = None) -> ChatOutcome:
    """Run a chat inside `parent` from its task to its end; announce its start and end.

    `restore_from`, the events of a log, continues the chat where that log left it (its task is
    not delivered again). A stop of the whole run ends the chat at once; the caller asks
    `ChatOutcome.ends_run` (or `parent.check_stop()`) to end its own chat too. `termination`, the
    chat's own condition (a stage team's), applies besides the run's.
    """
    child = parent.open_chat(chat, agents, task, settings, termination)
    pattern = pattern or pattern_for(settings)
    pattern.check_team(list(child.agents))
    resumed = restore_from is not None and restore_chat(child, restore_from)
    await parent.emit(ChatStarted(chat=chat, parent=parent.chat, scope=scope, title=title, team_kind=settings.kind,
                                  task=task, agents=[a.info for a in child.agents.values()], owner=owner,
                                  index=index, resumed=resumed))
    parent.open_chats.append(child)
    try:
        info = await pattern.drive(child)
    except Exception as exc:  # noqa: BLE001 - the chat's end is told; the run decides what follows
        info = StopInfo(StopKind.ERROR, f"{title} failed: {type(exc).__name__}: {exc}")
        await child.notice(info.reason, "error")
    finally:
        parent.open_chats.remove(child)
        parent.state.queued.extend(child.state.queued)  # a person's message it did not deliver goes on
    summary = await summarize(child)
    # as AutoGen's last_msg summary, every summary drops the termination word (a model's reflection
    # may end with it too): the chat it is carried into must not be ended by the message carrying it
    for agent in child.agents.values():
        summary = summary.replace(agent.termination_keyword, "")
    summary = summary.strip()
    await parent.emit(ChatEnded(chat=chat, summary=summary, reason=info.reason, kind=info.kind))
    return ChatOutcome(chat, summary, info)


def restore_chat(child: RunCore, events: Iterable[object]) -> bool:
    """Give `child` the transcript and counters its chat had in a log; False when the log has
    no message of it (the chat starts from its task)."""
    view = RunView().apply_all(events)
    chat = view.chats.get(child.chat)
    messages = view.messages_in(child.chat)
    if chat is None or not messages:
        return False
    child.state.transcript.extend(messages)
    # a turn cut off before it delivered anything is given again: counted up to the last message
    turns, child.state.round = chat.settled
    child.state.agent_turns = turns + 1  # the task counts as the first turn
    child.state.resumed = True
    return True
