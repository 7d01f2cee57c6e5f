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

from tuiagents.engine.agent import ConversableAgent
from tuiagents.engine.control import RunStop
from tuiagents.engine.core import RunCore
from tuiagents.engine.decisions import DecisionKind, DecisionRequest, RequestKind
from tuiagents.engine.events import StopKind
from tuiagents.engine.messages import Message, ToolCall, ToolResult
from tuiagents.engine.termination import StopInfo
from tuiagents.engine.tools import Tool, open_tool_calls

__all__ = ["PERSON", "TRANSFER_PREFIX", "enable_handoffs", "handoff_step", "holder", "transfer_tool"]

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
    """Offer `agent` a transfer tool per target (`PERSON`, when not in `team`, is the person)."""
    for target in targets:
        tool = transfer_tool(target, to_person=target == PERSON and target not in team)
        agent.tools[tool.name] = tool  # offered only: nobody executes it, handoff_step answers it
    if targets and handoff_step not in agent.reply_steps:
        agent.register_reply(handoff_step)


def holder(run: RunCore) -> tuple[str, Message | None]:
    """Who holds the conversation: the target of the last handoff (and its message), else the first agent."""
    for message in reversed(run.transcript):
        if message.handoff and message.handoff in run.agents:
            return message.handoff, message
    return next(iter(run.agents)), None


def _transfers(run: RunCore, agent: ConversableAgent) -> list[ToolCall]:
    """`agent`'s open calls of its own transfer tools."""
    pending = open_tool_calls(run.transcript)
    if pending is None or pending[0].sender != agent.name:
        return []
    return [c for c in pending[1] if c.name.startswith(TRANSFER_PREFIX) and c.name in agent.tools]


async def handoff_step(run: RunCore, agent: ConversableAgent) -> Message | None:
    """Decide and perform the transfer `agent` asked for; None when it asked for none."""
    calls = _transfers(run, agent)
    if not calls:
        return None
    first, rest = calls[0], calls[1:]
    extra = [ToolResult(call_id=c.id, name=c.name, is_error=True,
                        content="not transferred: one handoff per message, the first one was taken")
             for c in rest]
    target = first.name[len(TRANSFER_PREFIX):]
    if target not in run.agents:
        return await _to_person(run, agent, first, extra)
    candidates = [target, *(n for n in run.agents if n not in (target, agent.name))]
    d = await run.decide(DecisionRequest(
        kind=RequestKind.HANDOFF, agent=agent.name, target=target, candidates=candidates,
        prompt=f"{agent.name} hands the conversation to {target}."))
    if d.kind == DecisionKind.REJECT:
        result = ToolResult(call_id=first.id, name=first.name, is_error=True,
                            content=f"not transferred: the supervisor refused the handoff: {d.content}")
        return await run.deliver(Message(sender=agent.name, tool_results=[result, *extra],
                                         recipient=agent.name, origin="tool"))
    final = d.target if d.kind == DecisionKind.CHOOSE_SPEAKER and d.target else target
    text = (f"Transferred to {final}, adopting the role of {final} immediately." if final == target else
            f"Transferred to {final} instead of {target}: the supervisor redirected the handoff.")
    result = ToolResult(call_id=first.id, name=first.name, content=text)
    return await run.deliver(Message(sender=agent.name, tool_results=[result, *extra], recipient=agent.name,
                                     origin="tool", handoff=final))


async def _to_person(run: RunCore, agent: ConversableAgent, call: ToolCall, extra: list[ToolResult]) -> Message:
    """`transfer_to_user`: the person replies to `agent` (which keeps the conversation), or ends the run."""
    d = await run.decide(DecisionRequest(
        kind=RequestKind.HUMAN_INPUT, agent=agent.name, ends_run=True,
        prompt=f"{agent.name} hands the conversation to you. Reply to {agent.name}, or approve to end the run."))
    if d.kind == DecisionKind.REPLY:
        result = ToolResult(call_id=call.id, name=call.name, content="Transferred to the user; their reply follows.")
        await run.deliver(Message(sender=agent.name, tool_results=[result, *extra], recipient=agent.name,
                                  origin="tool"))
        return await run.deliver(Message(sender="human", content=d.content or "", origin="human",
                                         recipient=agent.name), d.sender)
    result = ToolResult(call_id=call.id, name=call.name, content="The user ended the conversation.")
    await run.deliver(Message(sender=agent.name, tool_results=[result, *extra], recipient=agent.name,
                              origin="tool"))
    raise RunStop(StopInfo(StopKind.TERMINATION_MESSAGE,
                           f"{agent.name} handed the conversation to you, and the run ended there"))
