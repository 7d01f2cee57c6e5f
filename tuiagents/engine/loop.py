"""The conversation loop every team pattern shares, and the run summary.

The loop gives turns; what differs between team shapes (who speaks next, when the chat is over,
what a message ends) it asks the run's pattern (patterns.py).
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from tuiagents.engine.control import RunStop
from tuiagents.engine.core import RunCore
from tuiagents.engine.events import SpeakerSelected
from tuiagents.engine.messages import Message, history_for
from tuiagents.engine.speaker import Selection
from tuiagents.engine.termination import StopInfo
from tuiagents.engine.turns import take_turn


class TurnRules(Protocol):
    """What the loop asks a team's pattern (engine/patterns.py `Pattern` is one)."""

    announces_selection: bool

    def task_message(self, run: RunCore) -> Message:
        """The message that opens the chat (the task, and who it is from)."""

    def stage_over(self, run: RunCore) -> StopInfo | None:
        """Why the chat ends before the next turn, or None."""

    async def next_speaker(self, run: RunCore) -> Selection:
        """Who speaks next, and how they were chosen."""

    def after_message(self, run: RunCore, message: Message) -> None:
        """Raise RunStop when `message` ends the chat."""

REFLECTION_PROMPT = ("Summarize the takeaway from the conversation above for the person who gave the "
                     "task. Do not add any introductory phrases.")


async def _deliver_queued(run: RunCore) -> None:
    await run.announce_queued()
    while run.queued:
        await run.deliver(run.queued.pop(0))


async def run_loop(run: RunCore, pattern: TurnRules) -> StopInfo:
    """Deliver the task, then give turns as `pattern` says until something stops the run; return why."""
    try:
        state = run.state
        if not state.resumed:
            state.agent_turns = 1
            await run.deliver(pattern.task_message(run))
            run.check_termination(run.transcript[-1])
        while True:
            await run.control.wait_running()
            run.check_stop()
            await _deliver_queued(run)
            over = pattern.stage_over(run)
            if over is not None:
                return over
            selection = await pattern.next_speaker(run)
            name = selection.agent
            if pattern.announces_selection:
                await run.emit(SpeakerSelected(agent=name, method=selection.method,
                                               round=state.round + 1, note=selection.note))
            state.round += 1
            state.agent_turns += 1
            agent = run.agents[name]
            await run.start_turn(agent)
            task = asyncio.ensure_future(take_turn(run, agent))
            outer_turn = run.control.turn  # the turn this chat runs inside (a nested chat's owner)
            run.control.on_turn(task)
            try:
                message = await task
            except asyncio.CancelledError:
                if not run.control.stopping:
                    raise
                run.check_stop()
            finally:
                run.control.on_turn(outer_turn)
            run.check_termination(message)
            pattern.after_message(run, message)
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
