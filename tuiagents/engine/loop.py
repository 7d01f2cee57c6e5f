"""The conversation loop shared by two-agent chats and group chats, and the run summary."""

from __future__ import annotations

import asyncio

from tuiagents.engine.control import RunStop
from tuiagents.engine.core import RunCore
from tuiagents.engine.events import SpeakerSelected, StopKind
from tuiagents.engine.messages import Message, history_for
from tuiagents.engine.speaker import Selection, select_speaker
from tuiagents.engine.termination import StopInfo, is_termination_text
from tuiagents.engine.tools import open_tool_calls
from tuiagents.engine.turns import take_turn

REFLECTION_PROMPT = ("Summarize the takeaway from the conversation above for the person who gave the "
                     "task. Do not add any introductory phrases.")


def _pending_tool_target(run: RunCore) -> str | None:
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


async def _next_two_agent(run: RunCore) -> str:
    names = list(run.agents)
    forced = _pending_tool_target(run)
    if forced:
        return forced
    forced_next = run.state.take_forced_next()  # set_next_speaker, or a human reply a tool's caller answers
    if forced_next:
        return forced_next[0]
    last = run.last_speaker
    return names[1] if last == names[0] else names[0]


async def _deliver_queued(run: RunCore) -> None:
    await run.announce_queued()
    while run.queued:
        await run.deliver(run.queued.pop(0))


def _group_termination(run: RunCore, message: Message) -> None:
    """A group chat ends as soon as an agent says the termination word (AutoGen's manager check)."""
    sender = run.agents.get(message.sender)
    if sender is None or message.origin in ("execution", "tool"):
        return
    if is_termination_text(message.content, sender.termination_keyword):
        raise RunStop(StopInfo(StopKind.TERMINATION_MESSAGE, f"{sender.name} said {sender.termination_keyword}"))


async def run_loop(run: RunCore) -> StopInfo:
    """Deliver the task, then give turns until something stops the run; return why."""
    initiator = next(iter(run.agents.values()))
    try:
        state = run.state
        if not state.resumed:
            state.agent_turns = 1
            await run.deliver(Message(sender=initiator.name, content=run.task, origin="human"))
            run.check_termination(run.transcript[-1])
        while True:
            await run.control.wait_running()
            run.check_stop()
            await _deliver_queued(run)
            settings = run.settings
            if settings.kind == "two_agent":
                if settings.max_turns is not None and state.agent_turns >= 2 * settings.max_turns:
                    return StopInfo(StopKind.MAX_TURNS, f"max turns {settings.max_turns} reached")
                name = await _next_two_agent(run)
            else:
                if state.round >= settings.max_rounds:
                    return StopInfo(StopKind.MAX_ROUNDS, f"max rounds {settings.max_rounds} reached")
                forced = _pending_tool_target(run)
                if forced:
                    # Pending tool calls are answered first, or they would vanish from the
                    # caller's history; a speaker you picked keeps its turn for the round after.
                    selection = Selection(forced, "forced", "runs the pending tool calls")
                else:
                    selection = await select_speaker(run)
                name = selection.agent
                await run.emit(SpeakerSelected(agent=name, method=selection.method,
                                               round=state.round + 1, note=selection.note))
            state.round += 1
            state.agent_turns += 1
            agent = run.agents[name]
            await run.start_turn(agent)
            task = asyncio.ensure_future(take_turn(run, agent))
            run.control.on_turn(task)
            try:
                message = await task
            except asyncio.CancelledError:
                if not run.control.stopping:
                    raise
                run.check_stop()
            finally:
                run.control.on_turn(None)
            run.check_termination(message)
            if settings.kind == "group_chat":
                _group_termination(run, message)
    except RunStop as stop:
        return stop.info


async def summarize(run: RunCore) -> str:
    """The run's summary: the last message, or the LLM's reflection when configured."""
    last = next((m.content for m in reversed(run.transcript) if m.content and m.origin != "execution"), "")
    if run.settings.summary_method != "reflection" or run.control.stopping:
        return last
    agent = next((a for a in run.agents.values() if a.llm), None)
    if agent is None or not run.transcript:
        return last
    messages = history_for(agent.name, "", run.transcript)
    messages.append({"role": "user", "content": REFLECTION_PROMPT})
    try:
        completion = await agent.llm.complete(messages, entry=agent.model, agent=agent.name, stream=False)
    except Exception as exc:  # noqa: BLE001 - a failed summary must not hide the result
        await run.notice(f"could not write the reflection summary: {exc}", "warning")
        return last
    await run.record_usage(agent.name, completion)
    return completion.content
