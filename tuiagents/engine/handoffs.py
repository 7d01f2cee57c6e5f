"""Swarm handoffs: `transfer_to_<agent>` tools, and the reply step that decides and performs them.

An agent with handoffs is offered one tool per target (AgentChat's convention). The tools are
offered, not run: when the agent's message calls one, its next turn is `handoff_step`, which asks
the supervisor to approve the transfer, redirect it to another agent, or refuse it, then answers
the call with a message whose `handoff` names the agent that holds the conversation from then on
(the swarm pattern reads it, so a resumed run finds the holder in its log). `transfer_to_user`
asks the person for a reply instead; the caller keeps the conversation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tuiagents.engine.agent import ConversableAgent
from tuiagents.engine.control import RunStop
from tuiagents.engine.core import RunCore
from tuiagents.engine.decisions import DecisionKind, DecisionRequest, RequestKind
from tuiagents.engine.events import StopKind
from tuiagents.engine.messages import Message, ToolCall, ToolResult
from tuiagents.engine.termination import StopInfo
from tuiagents.engine.tool_turn import ReplyInstead, reply_instead, run_calls
from tuiagents.engine.tools import Tool, open_tool_calls

__all__ = ["PERSON", "TRANSFER_PREFIX", "TransferAsk", "enable_handoffs", "handoff_step", "holder", "transfer_ask",
           "transfer_tool"]

TRANSFER_PREFIX = "transfer_to_"
#: The handoff target that is the person, when the team has no agent of that name.
PERSON = "user"


def transfer_tool(target: str, to_person: bool = False) -> Tool:
    """The `transfer_to_<target>` tool a model calls to hand the conversation over."""
    if to_person:
        description = ("Hand the conversation to the user (the person): they are asked for a reply, "
                       "and you keep the conversation.")
    else:
        description = (f"Hand the conversation to {target}: {target} speaks next and holds the "
                       f"conversation until it hands it on.")

    def transfer() -> str:  # never run: handoff_step answers the call (the schema is what matters)
        return f"Transferred to {target}."

    return Tool(name=f"{TRANSFER_PREFIX}{target}", description=description, function=transfer,
                parameters={"type": "object", "properties": {}})


def enable_handoffs(agent: ConversableAgent, targets: Sequence[str], team: Sequence[str]) -> None:
    """Offer `agent` a transfer tool per target (`PERSON`, when not in `team`, is the person).

    The step is registered even without targets: a swarm agent that calls a transfer it lacks is
    told, in the same step as the rest of its calls, whom it may hand to (no one).
    """
    for target in targets:
        tool = transfer_tool(target, to_person=target == PERSON and target not in team)
        agent.tools[tool.name] = tool  # offered only: nobody executes it, handoff_step answers it
    if handoff_step not in agent.reply_steps:
        agent.register_reply(handoff_step)


def holder(run: RunCore) -> tuple[str, Message | None]:
    """Who holds the conversation: the target of the last handoff (and its message), else the first agent."""
    for message in reversed(run.transcript):
        if message.handoff and message.handoff in run.agents:
            return message.handoff, message
    return next(iter(run.agents)), None


def _runnable(run: RunCore, call: ToolCall) -> bool:
    """Some agent of the run executes `call`'s tool (a transfer tool is offered, never executed)."""
    return any(call.name in a.executable_tools for a in run.agents.values())


@dataclass(frozen=True)
class TransferAsk:
    """An agent's open message with transfer calls, sorted as the handoff step answers them.

    AgentChat's Swarm runs a message's tools, then takes its first handoff, answering every call,
    so the history stays valid for the model's API: each call gets exactly one result, all in one
    step.
    """

    caller: str
    #: the transfers, and the calls nobody can run, that the handoff step answers itself
    calls: list[ToolCall]
    #: the first transfer the caller has: the one handoff asked of the person (None: it has none)
    taken: ToolCall | None
    #: the calls the caller runs itself, each asked and run before the handoff is asked
    runs: list[ToolCall] = field(default_factory=list)
    #: every open call of the message, in its order: the order the results answer them in
    message_calls: list[ToolCall] = field(default_factory=list)

    @property
    def target(self) -> str | None:
        """The agent (or `PERSON`) the taken transfer names."""
        return self.taken.name[len(TRANSFER_PREFIX):] if self.taken is not None else None


def transfer_ask(run: RunCore) -> TransferAsk | None:
    """The open message's transfers (the agent's own, or `transfer_to_` names nobody runs) with the
    calls nobody can run beside them; None when the open message asks for no transfer."""
    pending = open_tool_calls(run.transcript)
    if pending is None or pending[0].sender not in run.agents:
        return None
    agent = run.agents[pending[0].sender]
    transfers = [c for c in pending[1] if c.name.startswith(TRANSFER_PREFIX)
                 and (c.name in agent.tools or not _runnable(run, c))]
    if not transfers:
        return None
    answered = [c for c in pending[1] if c in transfers or not _runnable(run, c)]
    taken = next((c for c in transfers if c.name in agent.tools), None)
    runs = [c for c in pending[1] if c not in answered and c.name in agent.executable_tools]
    return TransferAsk(caller=agent.name, calls=answered, taken=taken, runs=runs, message_calls=list(pending[1]))


def _may_hand_to(agent: ConversableAgent, run: RunCore) -> str:
    """Whom `agent` may hand the conversation to, in words, with the tools' names."""
    tools = [n for n in agent.tools if n.startswith(TRANSFER_PREFIX)]
    if not tools:
        return "no one: reply yourself"
    names = [n[len(TRANSFER_PREFIX):] for n in tools]
    words = ["the user" if n == PERSON and n not in run.agents else n for n in names]
    listed = words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"
    return f"{listed} ({', '.join(tools)})"


def _other_results(run: RunCore, agent: ConversableAgent, ask: TransferAsk) -> list[ToolResult]:
    """Error results for every answered call but the taken transfer: a transfer the agent lacks
    names whom it may hand to, a second transfer is not taken, an unknown tool is unknown."""
    results = []
    for c in ask.calls:
        if c is ask.taken:
            continue
        if not c.name.startswith(TRANSFER_PREFIX):
            known = ", ".join(agent.tools) or "none"
            text = f"Error: unknown tool {c.name!r}. Available tools: {known}."
        elif c.name not in agent.tools:
            text = (f"not transferred: {agent.name} has no {c.name}; it may hand the conversation to "
                    f"{_may_hand_to(agent, run)}")
        else:  # a transfer the agent has, after the first such one (the one taken)
            first = ask.taken.name if ask.taken is not None else "another"
            text = f"not transferred: one handoff per message, and {first} came first"
        results.append(ToolResult(call_id=c.id, name=c.name, is_error=True, content=text))
    return results


def _in_order(ask: TransferAsk, results: list[ToolResult]) -> list[ToolResult]:
    """`results` in the order of the calls they answer."""
    order = {c.id: i for i, c in enumerate(ask.message_calls)}
    return sorted(results, key=lambda r: order[r.call_id])


def _also(others: list[ToolResult]) -> str:
    """What the request tells the person of the message's other calls."""
    if not others:
        return ""
    return f" Its other calls are answered with errors: {', '.join(r.name for r in others)}."


async def handoff_step(run: RunCore, agent: ConversableAgent) -> Message | None:
    """Decide and perform the transfer `agent` asked for; None when it asked for none.

    The calls of the message that `agent` runs itself are asked and run first (a reply instead
    of one ends the step there, asking no handoff); then at most one handoff (the first the agent
    has) is asked of the supervisor. Every call the step answers is answered in the one message it
    delivers. (Calls another agent runs stay open for that agent's turn.)
    """
    ask = transfer_ask(run)
    if ask is None or ask.caller != agent.name:
        return None
    ran: list[ToolResult] = []
    if ask.runs:
        outcome = await run_calls(run, agent, agent.name, ask.runs)
        if isinstance(outcome, ReplyInstead):
            return await reply_instead(run, agent, agent.name, outcome, ask.message_calls)
        ran = outcome
    errors = _other_results(run, agent, ask)
    extra = [*ran, *errors]
    first, target = ask.taken, ask.target
    if first is None or target is None:  # only transfers it lacks: nothing to ask, the model reads why
        return await run.deliver(Message(sender=agent.name, tool_results=_in_order(ask, extra),
                                         recipient=agent.name, origin="tool"))
    if target not in run.agents:
        return await _to_person(run, agent, first, ask, extra, _also(errors))
    candidates = [target, *(n for n in run.agents if n not in (target, agent.name))]
    d = await run.decide(DecisionRequest(
        kind=RequestKind.HANDOFF, agent=agent.name, target=target, candidates=candidates,
        prompt=f"{agent.name} hands the conversation to {target}.{_also(errors)}"))
    if d.kind == DecisionKind.REJECT:
        result = ToolResult(call_id=first.id, name=first.name, is_error=True,
                            content=f"not transferred: the supervisor refused the handoff: {d.content}")
        return await run.deliver(Message(sender=agent.name, tool_results=_in_order(ask, [result, *extra]),
                                         recipient=agent.name, origin="tool"))
    final = d.target if d.kind == DecisionKind.CHOOSE_SPEAKER and d.target else target
    text = (f"Transferred to {final}, adopting the role of {final} immediately." if final == target else
            f"Transferred to {final} instead of {target}: the supervisor redirected the handoff.")
    result = ToolResult(call_id=first.id, name=first.name, content=text)
    return await run.deliver(Message(sender=agent.name, tool_results=_in_order(ask, [result, *extra]),
                                     recipient=agent.name, origin="tool", handoff=final))


async def _to_person(run: RunCore, agent: ConversableAgent, call: ToolCall, ask: TransferAsk,
                     extra: list[ToolResult], also: str) -> Message:
    """`transfer_to_user`: the person replies to `agent` (which keeps the conversation), or ends the run."""
    d = await run.decide(DecisionRequest(
        kind=RequestKind.HUMAN_INPUT, agent=agent.name, ends_run=True,
        prompt=f"{agent.name} hands the conversation to you. Reply to {agent.name}, or approve to end the "
               f"run.{also}"))
    if d.kind == DecisionKind.REPLY:
        result = ToolResult(call_id=call.id, name=call.name, content="Transferred to the user; their reply follows.")
        await run.deliver(Message(sender=agent.name, tool_results=_in_order(ask, [result, *extra]),
                                  recipient=agent.name, origin="tool"))
        return await run.deliver(Message(sender="human", content=d.content or "", origin="human",
                                         recipient=agent.name), d.sender)
    result = ToolResult(call_id=call.id, name=call.name, content="The user ended the conversation.")
    await run.deliver(Message(sender=agent.name, tool_results=_in_order(ask, [result, *extra]),
                              recipient=agent.name, origin="tool"))
    raise RunStop(StopInfo(StopKind.TERMINATION_MESSAGE,
                           f"{agent.name} handed the conversation to you, and the run ended there"))
