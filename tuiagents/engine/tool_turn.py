"""The tool-call step of a turn: one decision per call (run it, run it with edited arguments, skip
it, reply instead, stop), then the results back to the caller, answering every one of its calls.

The request shows the tool's name, description and argument schema (`ToolInfo`), taken from the
`Tool` the agents hold, so the decision works the same whatever the tool's source.
"""

from __future__ import annotations

from dataclasses import dataclass

from tuiagents.engine.agent import ConversableAgent
from tuiagents.engine.core import RunCore
from tuiagents.engine.decisions import Decision, DecisionKind, DecisionRequest, RequestKind, ToolInfo
from tuiagents.engine.events import ToolCallFinished, ToolCallStarted
from tuiagents.engine.messages import Message, ToolCall, ToolResult
from tuiagents.engine.tools import execute_tool_call, interrupted_results


def _tool_info(run: RunCore, agent: ConversableAgent, caller: str, call: ToolCall) -> ToolInfo | None:
    """What the person deciding sees of the tool `call` names (its source does not matter)."""
    tool = agent.executable_tools.get(call.name)
    if tool is None and caller in run.agents:
        tool = run.agents[caller].tools.get(call.name)
    if tool is None:
        return None
    return ToolInfo(name=tool.name, description=tool.description, parameters=tool.parameters)


def _not_run(call: ToolCall, d: Decision) -> ToolResult:
    """The result of a call the supervisor skipped: the model reads that a person (or a rule) chose
    not to run it, not that it failed."""
    who = d.by.words(human="the human supervisor", article=True)
    return ToolResult(call_id=call.id, name=call.name, is_error=True, content=f"not run: skipped by {who}")


def _edited_result(result: ToolResult, d: Decision) -> ToolResult:
    """The result of a call run with the person's arguments: the model is told which ones ran."""
    who = d.by.words(human="the human supervisor", article=True)
    note = f"[run with arguments edited by {who}: {d.content}]"
    return result.model_copy(update={"content": f"{note}\n{result.content}"})


@dataclass(frozen=True)
class ReplyInstead:
    """The person replied instead of running a call: their decision, and the results of the calls
    answered before it."""

    decision: Decision
    results: list[ToolResult]


async def run_calls(run: RunCore, agent: ConversableAgent, caller: str,
                    calls: list[ToolCall]) -> list[ToolResult] | ReplyInstead:
    """Each call is its own request (run, edit its arguments, skip, reply instead, stop) and runs,
    by `agent`, once answered: the results in the calls' order, or the person's reply instead (the
    calls after it are not asked)."""
    results: list[ToolResult] = []
    for n, call in enumerate(calls, 1):
        info = _tool_info(run, agent, caller, call)
        which = f" (call {n} of {len(calls)})" if len(calls) > 1 else ""
        unknown = "" if info is not None else f" No agent has a tool named {call.name}: running it returns an error."
        d = await run.decide(DecisionRequest(
            kind=RequestKind.TOOL_CALL, agent=caller, tool_calls=[call], tool_info=info,
            prompt=f"{caller} wants to call {call.name}({call.arguments}){which}; {agent.name} runs it.{unknown}"))
        if d.kind == DecisionKind.REPLY:
            return ReplyInstead(d, results)
        if d.kind == DecisionKind.SKIP:
            result = _not_run(call, d)
        else:
            edited = d.kind == DecisionKind.EDIT
            runs = call.model_copy(update={"arguments": d.content or "{}"}) if edited else call
            await run.emit(ToolCallStarted(agent=agent.name, call=runs,
                                           original_arguments=call.arguments if edited else None))
            tools = dict(agent.executable_tools)
            offered = run.agents[caller].tools if caller in run.agents else {}
            result = await execute_tool_call(runs, tools, offered)
            if edited:
                result = _edited_result(result, d)
        await run.emit(ToolCallFinished(agent=agent.name, result=result))
        results.append(result)
    return results


async def reply_instead(run: RunCore, agent: ConversableAgent, caller: str, reply: ReplyInstead,
                        open_calls: list[ToolCall]) -> Message:
    """Deliver a person's reply given instead of a call, after answering every call still open."""
    # It interrupts every open call not answered yet, not only this agent's; the calls that
    # already ran keep their results.
    done = {r.call_id for r in reply.results}
    await run.deliver(Message(sender=agent.name, recipient=caller, origin="tool",
                              tool_results=reply.results + interrupted_results(
                                  [c for c in open_calls if c.id not in done])))
    d = reply.decision
    if agent.name == caller:
        # The caller runs its own tools: the person's words must reach its model as theirs,
        # not as something the agent said itself, and the caller answers them next.
        run.state.forced_next = (caller, "answers you")
        return await run.deliver(Message(sender="human", content=d.content or "", origin="human",
                                         recipient=caller), d.sender)
    agent.consecutive_auto_replies = 0  # the person spoke for it
    return await run.deliver(Message(sender=agent.name, content=d.content or "", origin="human"), d.sender)


async def tool_turn(run: RunCore, agent: ConversableAgent, caller: str, calls: list[ToolCall],
                    open_calls: list[ToolCall]) -> Message:
    """`calls`, each asked and run (`run_calls`); the results go back to the caller together, or
    the person's reply instead."""
    outcome = await run_calls(run, agent, caller, calls)
    if isinstance(outcome, ReplyInstead):
        return await reply_instead(run, agent, caller, outcome, open_calls)
    return await run.deliver(Message(sender=agent.name, tool_results=outcome, recipient=caller, origin="tool"))
