"""Nested chats: an agent replies by running chats of its own (AutoGen's `register_nested_chats`),
as in reflection with a critic.

When an agent receives a message from one of its triggers, its nested chats run in order, each a
two-agent chat between the agent itself and the chat's recipient, through `run_chat` (scope
"nested", the agent as owner). A chat's first message is its `message` with `{last}` filled, else
the triggering message as is; a later chat also gets the summaries before it (AutoGen's carryover).
The last chat's summary becomes the agent's draft, supervised like any other: approved, edited, or
rejected with feedback, which runs the last chat again with the feedback.

Chat ids are stable: `<parent>/<agent>.nested<n>`, n counting the agent's nested chats in that
parent chat. So a log cut off inside a nested chat resumes in it: the outer turn is given again,
and this step finds the turn's chats in the log (those started after the parent chat's last
message), takes the summaries of those that ended and continues the open one from the log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from tuiagents.engine.agent import ConversableAgent
from tuiagents.engine.chats import RUN_WIDE_STOPS, child_chat_id, run_chat
from tuiagents.engine.control import RunStop
from tuiagents.engine.core import RunCore
from tuiagents.engine.decisions import DecisionKind, DecisionRequest, RequestKind
from tuiagents.engine.events import ChatEnded, ChatStarted, MessageDelivered, MessageDrafted
from tuiagents.engine.messages import Message
from tuiagents.engine.sequence import first_message
from tuiagents.engine.settings import RunSettings
from tuiagents.templates import ContextValue, fill_template

__all__ = ["NestedChat", "NestedChats", "fill_message", "register_nested_chats"]

#: in a trigger list: a message a person sent, and a message from any agent but the owner
TRIGGER_HUMAN, TRIGGER_ALL = "human", "all"



def fill_message(template: str | None, last: str, context: Mapping[str, ContextValue] | None = None) -> str:
    """A nested chat's first message: `template` with `{last}` (the triggering message) and the
    run's `[context]` variables filled, `{{`/`}}` made single braces; without a template, the
    triggering message as is. The config was checked at load (config_nested.py), so every name
    it uses is known."""
    if template is None:
        return last
    return fill_template(template, {**(context or {}), "last": last}, "nested chat message")


@dataclass(frozen=True)
class NestedChat:
    """One nested chat of an agent: with whom, its first message, how it is summarized, its length."""

    recipient: ConversableAgent
    message: str | None = None
    summary_method: Literal["last_msg", "reflection"] = "last_msg"
    max_turns: int = 1


@dataclass(frozen=True)
class _Logged:
    """A nested chat of the turn that a resumed log already holds: its id and, once ended, its summary."""

    chat: str
    ended: ChatEnded | None


class NestedChats:
    """The reply step of an agent with nested chats (`agent.nested_reply`)."""

    def __init__(self, chats: Sequence[NestedChat], trigger: Iterable[str]) -> None:
        if not chats:
            raise ValueError("nested chats need at least one chat")
        self.chats = list(chats)
        self.trigger = frozenset(trigger)
        self._count: dict[str, int] = {}  # parent chat -> the agent's nested chats started in it
        self._looked: set[str] = set()  # parent chats whose log was searched for this turn's chats
        self._own: set[str] = set()  # the chats running now: inside them the agent replies as usual

    def triggering(self, run: RunCore, agent: ConversableAgent) -> Message | None:
        """The message that starts the nested chats now: the last one, when a trigger sent it to
        `agent` (code output and tool results never do)."""
        last = run.transcript[-1] if run.transcript else None
        if last is None or last.sender == agent.name or last.origin in ("execution", "tool") \
                or last.recipient not in (None, agent.name):
            return None
        if last.sender == "human":
            return last if TRIGGER_HUMAN in self.trigger else None
        return last if last.sender in self.trigger or TRIGGER_ALL in self.trigger else None

    async def __call__(self, run: RunCore, agent: ConversableAgent) -> Message | None:
        if self._inside_own(run):
            return None
        last = self.triggering(run, agent)
        if last is None:
            return None
        logged = self._logged(run, agent)
        summaries: list[str] = []
        task = ""
        for index, spec in enumerate(self.chats, start=1):
            task = first_message(fill_message(spec.message, last.content or "", run.root.settings.context),
                                 summaries)
            summaries.append(await self._run_one(run, agent, spec, index, task, logged.get(index)))
        return await self._supervise(run, agent, summaries[-1], task)

    def _inside_own(self, run: RunCore) -> bool:
        """True inside a chat these nested chats run (or one within it): there the agent replies as
        usual, so a trigger there, or a loop of nested chats built without the config's check,
        cannot nest forever."""
        core: RunCore | None = run
        while core is not None:
            if core.chat in self._own:
                return True
            core = core.parent
        return False

    async def _supervise(self, run: RunCore, agent: ConversableAgent, summary: str, task: str) -> Message:
        """The summary as `agent`'s draft: delivered once approved (or edited); a rejection's feedback
        runs the last chat again."""
        last = self.chats[-1]
        while True:
            await run.emit(MessageDrafted(agent=agent.name, content=summary))
            d = await run.decide(DecisionRequest(
                kind=RequestKind.MESSAGE, agent=agent.name, content=summary,
                prompt=f"Deliver {agent.name}'s reply, the outcome of its nested chat with {last.recipient.name}?"))
            if d.kind == DecisionKind.REJECT:
                task = (f"{task}\n\nThe answer was:\n{summary}\n\nThe supervisor rejected it: {d.content}\n"
                        f"Answer again.")
                summary = await self._run_one(run, agent, last, len(self.chats), task, None)
                continue
            if d.kind == DecisionKind.INJECT:
                message = Message(sender="human", content=d.content or "", origin="human",
                                  recipient=None if d.target in (None, "all") else d.target)
                if d.deliver == "now":
                    await run.deliver(message, d.sender)
                    continue
                await run.queue(message, d.sender)
            if d.kind == DecisionKind.EDIT:
                return await run.deliver(Message(sender=agent.name, content=d.content or "", human_edited=True,
                                                 original=summary))
            return await run.deliver(Message(sender=agent.name, content=summary))

    async def _run_one(self, run: RunCore, agent: ConversableAgent, spec: NestedChat, index: int, task: str,
                       logged: _Logged | None) -> str:
        """Run one nested chat (or continue it from the log, or take its logged summary); its summary."""
        if logged is not None and logged.ended is not None and logged.ended.kind not in RUN_WIDE_STOPS:
            return logged.ended.summary
        chat = logged.chat if logged is not None else child_chat_id(run.chat, f"{agent.name}.nested{self._next(run, agent)}")
        self._own.add(chat)
        try:
            outcome = await run_chat(
                run, chat=chat, scope="nested", title=f"nested chat with {spec.recipient.name}",
                agents=[agent, spec.recipient], task=task, owner=agent.name, index=index,
                settings=RunSettings(kind="two_agent", team_name=f"{agent.name}'s nested chat",
                                     max_turns=spec.max_turns, summary_method=spec.summary_method),
                restore_from=list(run.bus.history) if logged is not None else None)
        finally:
            self._own.discard(chat)
        if outcome.ends_run:
            raise RunStop(outcome.info)
        return outcome.summary

    def _next(self, run: RunCore, agent: ConversableAgent) -> int:
        """The number of the agent's next nested chat in this parent chat (counted in the log on resume)."""
        count = self._count.get(run.chat)
        if count is None:
            started = {e.chat for e in run.bus.history if isinstance(e, ChatStarted) and e.parent == run.chat
                       and e.owner == agent.name} if run.root.resumed else set()
            count = len(started)
        self._count[run.chat] = count + 1
        return count + 1

    def _logged(self, run: RunCore, agent: ConversableAgent) -> dict[int, _Logged]:
        """This turn's nested chats a resumed log holds, by their place in the list: those started
        after the parent chat's last message. Searched once per parent chat, only on resume."""
        if not run.root.resumed or run.chat in self._looked:
            return {}
        self._looked.add(run.chat)
        ended: dict[str, ChatEnded] = {}
        found: dict[int, _Logged] = {}
        for event in reversed(run.bus.history):
            if isinstance(event, MessageDelivered) and event.chat == run.chat:
                break
            if isinstance(event, ChatEnded):
                ended.setdefault(event.chat, event)
            elif isinstance(event, ChatStarted) and event.parent == run.chat and event.owner == agent.name \
                    and event.index is not None:
                found.setdefault(event.index, _Logged(event.chat, ended.get(event.chat)))  # the latest try
        return found


def register_nested_chats(agent: ConversableAgent, chats: Sequence[NestedChat], trigger: Iterable[str]) -> NestedChats:
    """Make `agent` reply to a message from any agent named in `trigger` ("human": a person's
    message; "all": any agent's) by running `chats` in order; returns its reply step."""
    step = NestedChats(chats, trigger)
    agent.nested_reply = step
    return step
