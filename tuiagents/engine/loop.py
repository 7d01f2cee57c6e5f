"""The conversation loop shared by two-agent chats and group chats, and the run summary."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from tuiagents.engine.events import SpeakerSelected, StopKind
from tuiagents.engine.messages import Message
from tuiagents.engine.speaker import Selection, select_speaker
from tuiagents.engine.termination import StopInfo
from tuiagents.engine.tools import open_tool_calls
from tuiagents.engine.turns import take_turn

if TYPE_CHECKING:
    from tuiagents.engine.run import TeamRun

REFLECTION_PROMPT = ("Summarize the takeaway from the conversation above for the person who gave the "
                     "task. Do not add any introductory phrases.")


def _pending_tool_target(run: "TeamRun") -> str | None:
    """Who must speak next: the executor of calls still open, else the caller reading its results."""
    if not run.transcript:
        return None
    pending = open_tool_calls(run.transcript)
    if pending is not None:
        message, calls = pending
        for name, agent in run.agents.items():
            if name != message.sender and any(c.name in agent.executable_tools for c in calls):
                return name
        return message.sender  # it runs its own tools, or answers unknown ones with errors
    last = run.transcript[-1]
    if last.tool_results and last.recipient in run.agents:
        return last.recipient
    return None


async def _next_two_agent(run: "TeamRun") -> str:
    names = list(run.agents)
    forced = _pending_tool_target(run)
    if forced:
        return forced
    if run.forced_next:  # set_next_speaker, or a human reply the caller of a tool must answer
        (name, _), run.forced_next = run.forced_next, None
        return name
    last = run.last_speaker
    return names[1] if last == names[0] else names[0]


async def _deliver_queued(run: "TeamRun") -> None:
    await run.announce_queued()
    while run.queued:
        await run.deliver(run.queued.pop(0))


def _group_termination(run: "TeamRun", message: Message) -> None:
    """A group chat ends as soon as an agent says the termination word (AutoGen's manager check)."""
    from tuiagents.engine.run import RunStop
    from tuiagents.engine.termination import is_termination_text

    sender = run.agents.get(message.sender)
    if sender is None or message.origin in ("execution", "tool"):
        return
    if is_termination_text(message.content, sender.termination_keyword):
        raise RunStop(StopInfo(StopKind.TERMINATION_MESSAGE, f"{sender.name} said {sender.termination_keyword}"))


async def run_loop(run: "TeamRun") -> StopInfo:
    """Deliver the task, then give turns until something stops the run; return why."""
    from tuiagents.engine.run import RunStop

    initiator = next(iter(run.agents.values()))
    try:
        if not run.resumed:
            run.agent_turns = 1
            await run.deliver(Message(sender=initiator.name, content=run.task, origin="human"))
            run.check_termination(run.transcript[-1])
        while True:
            await run.wait_running()
            run.check_stop()
            await _deliver_queued(run)
            if run.team_kind == "two_agent":
                if run.max_turns is not None and run.agent_turns >= 2 * run.max_turns:
                    return StopInfo(StopKind.MAX_TURNS, f"max turns {run.max_turns} reached")
                name = await _next_two_agent(run)
            else:
                if run.round >= run.max_rounds:
                    return StopInfo(StopKind.MAX_ROUNDS, f"max rounds {run.max_rounds} reached")
                forced = _pending_tool_target(run)
                if forced:
                    # Pending tool calls are answered first, or they would vanish from the
                    # caller's history; a speaker you picked keeps its turn for the round after.
                    selection = Selection(forced, "forced", "runs the pending tool calls")
                else:
                    selection = await select_speaker(run)
                name = selection.agent
                await run.emit(SpeakerSelected(agent=name, method=selection.method,
                                               round=run.round + 1, note=selection.note))
            run.round += 1
            run.agent_turns += 1
            agent = run.agents[name]
            await run.start_turn(agent)
            task = asyncio.ensure_future(take_turn(run, agent))
            run.on_turn(task)
            try:
                message = await task
            except asyncio.CancelledError:
                if run._stop is None:
                    raise
                run.check_stop()
            finally:
                run.on_turn(None)
            run.check_termination(message)
            if run.team_kind == "group_chat":
                _group_termination(run, message)
    except RunStop as stop:
        return stop.info


async def summarize(run: "TeamRun") -> str:
    """The run's summary: the last message, or the LLM's reflection when configured."""
    last = next((m.content for m in reversed(run.transcript) if m.content and m.origin != "execution"), "")
    if run.summary_method != "reflection" or run._stop is not None:
        return last
    agent = next((a for a in run.agents.values() if a.llm), None)
    if agent is None or not run.transcript:
        return last
    from tuiagents.engine.messages import history_for

    messages = history_for(agent.name, "", run.transcript)
    messages.append({"role": "user", "content": REFLECTION_PROMPT})
    try:
        completion = await agent.llm.complete(messages, entry=agent.model, agent=agent.name, stream=False)
    except Exception as exc:  # noqa: BLE001 - a failed summary must not hide the result
        await run.notice(f"could not write the reflection summary: {exc}", "warning")
        return last
    await run.record_usage(agent.name, completion)
    return completion.content
