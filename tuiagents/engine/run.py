"""TeamRun: one run of a team (any pattern of patterns.py), from the task to the stop reason.

A TeamRun is a `RunCore` (the team, its state, its decision gate, its controls, its events) plus
the human controls a UI calls at any time (stop, inject, pause, next speaker, cancel code), the
resources it releases, and `run()`, which drives the loop of loop.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tuiagents.engine.agent import ConversableAgent
from tuiagents.engine.bus import EventBus
from tuiagents.engine.control import RunStop
from tuiagents.engine.core import RunCore
from tuiagents.engine.decisions import DecidedBy, Sender
from tuiagents.engine.events import (
    CodeCancelRequested, NextSpeakerForced, Notice, RunPaused, RunResumed, RunStarted, RunStopped, StopKind,
)
from tuiagents.engine.loop import summarize
from tuiagents.engine.messages import Message
from tuiagents.engine.patterns import Pattern, pattern_for
from tuiagents.engine.sequence import SequentialChats  # noqa: F401 - registers kind "sequence"
from tuiagents.engine.settings import RunResources, RunSettings, SessionSink
from tuiagents.engine.supervisor import Supervisor, inject_problem
from tuiagents.engine.termination import StopInfo, TerminationCondition, enforced_timeout
from tuiagents.engine.usage import Usage

if TYPE_CHECKING:
    from tuiagents.execution.base import CodeExecutor
    from tuiagents.llm.client import LLMClient

__all__ = ["RunResult", "RunStop", "TeamRun"]


@dataclass
class RunResult:
    """What a finished run hands back: history, summary, usage and why it stopped."""

    run_id: str
    chat_history: list[Message]
    summary: str
    stop_reason: str
    stop_kind: StopKind
    usage: Usage
    usage_by_agent: dict[str, Usage] = field(default_factory=dict)


class TeamRun(RunCore):
    """Runs a team on a task and emits every step as an event."""

    def __init__(self, agents: Sequence[ConversableAgent], task: str, settings: RunSettings | None = None, *,
                 termination: TerminationCondition | None = None, supervisor: Supervisor | None = None,
                 selector_llm: "LLMClient | None" = None, run_id: str | None = None,
                 bus: EventBus | None = None, resources: RunResources | None = None) -> None:
        super().__init__(agents, task, settings, termination=termination, supervisor=supervisor,
                         selector_llm=selector_llm, run_id=run_id, bus=bus)
        #: who speaks next and when the chat is over (ValueError when it cannot run these agents)
        self.pattern: Pattern = pattern_for(self.settings)
        self.pattern.check_team(list(self.agents))
        self.resources = resources or RunResources()
        #: told right after RunStarted (e.g. "resumed from ..."); a Notice keeps its level and agent
        self.startup_notices: list[str | Notice] = []
        #: the RunStopped event, once the run ended
        self.stopped: RunStopped | None = None
        self._deliveries: set[asyncio.Task] = set()  # `inject` deliveries in flight
        #: why the MCP servers could not give the agents their tools (the run then stopped at once)
        self.start_error: Exception | None = None

    # -- resources -------------------------------------------------------------------------------
    @property
    def executors(self) -> list["CodeExecutor"]:
        """The code executors the agents use (closed by `aclose`)."""
        return self.resources.executors

    @property
    def work_dir(self) -> Path | None:
        """The folder code runs in."""
        return self.resources.work_dir

    @property
    def llm(self) -> "LLMClient | None":
        """The model client (closed by `aclose`)."""
        return self.resources.llm

    @property
    def session_path(self) -> Path | None:
        """The session log this run appends to, once one is attached."""
        return self.resources.session_path

    @property
    def session_writer(self) -> SessionSink | None:
        """The session log's writer, closed by `aclose`."""
        return self.resources.session_writer

    def attach_session(self, path: Path, writer: SessionSink) -> None:
        """Record the session log this run writes (the caller subscribes `writer` to the bus)."""
        self.resources.session_path = path
        self.resources.session_writer = writer

    # -- human controls (call from the UI at any time) ---------------------------------------
    def inject(self, text: str, target: str = "all", now: bool = False, sender: Sender | None = None) -> Message:
        """Add a human message for `target` (an agent or "all"), now or before the next turn, to
        the chat that gives turns now (a stage, a nested chat: `innermost`)."""
        chat = self.innermost
        problem = inject_problem(text, target, chat.agents)
        if problem:
            raise ValueError(problem)
        message = Message(sender="human", content=text, origin="human",
                          recipient=None if target == "all" else target)
        # `_deliveries` keeps a reference until it ran: the event loop holds tasks only weakly, so
        # an unreferenced delivery could be garbage-collected before the message is delivered.
        if now:
            self.when_started(lambda: chat.deliver(message, sender), self._deliveries)
        else:
            chat.hold(message, sender)
            self.when_started(chat.announce_queued, self._deliveries)
        return message

    def pause(self, by: DecidedBy = DecidedBy.HUMAN, sender: Sender | None = None) -> None:
        """Hold the run before its next turn (announced as `RunPaused`)."""
        if not self.control.paused:
            self.control.pause()
            self.announce(RunPaused(by=by, sender=sender))

    def resume(self, by: DecidedBy = DecidedBy.HUMAN, sender: Sender | None = None) -> None:
        """Let a paused run go on (announced as `RunResumed`)."""
        if self.control.paused:
            self.control.resume()
            self.announce(RunResumed(by=by, sender=sender))

    def set_next_speaker(self, name: str, by: DecidedBy = DecidedBy.HUMAN, sender: Sender | None = None) -> None:
        """Make `name` speak next in the chat that gives turns now, overriding the usual order once."""
        chat = self.innermost
        if name not in chat.agents:
            raise ValueError(f"no agent named {name!r}; choose one of: {', '.join(chat.agents)}")
        chat.state.forced_next = (name, "picked by you")
        self.announce(NextSpeakerForced(agent=name, by=by, sender=sender))

    def stop_chat(self, chat: str | None = None, reason: str = "",
                  sender: Sender | None = None) -> str:
        """End one chat inside the run, not the run (a sequence goes on with its next stage):
        `chat` by id, else the innermost one that runs now. Returns its id; ValueError when no
        such chat runs."""
        core: RunCore = self
        open_ = []
        while core.open_chats:
            core = core.open_chats[-1]
            open_.append(core)
        target = next((c for c in open_ if c.chat == chat), None) if chat else (open_[-1] if open_ else None)
        if target is None:
            raise ValueError(f"no chat {chat!r} runs now" if chat else "no stage or inner chat runs now; stop the run")
        target.end_chat(reason, sender)
        return target.chat

    def cancel_execution(self, sender: Sender | None = None) -> bool:
        """Kill the code block that is running, if any (announced as `CodeCancelRequested`)."""
        if not self.control.cancel_code():
            return False
        self.announce(CodeCancelRequested(sender=sender))
        return True

    # -- the run ---------------------------------------------------------------------------------
    def started_event(self) -> RunStarted:
        """The RunStarted event describing this run."""
        s = self.settings
        return RunStarted(run_id=self.run_id, team=s.team_name, team_kind=s.kind,
                          task=self.task, agents=[a.info for a in self.agents.values()],
                          speaker_selection=s.speaker_selection if isinstance(s.speaker_selection, str)
                          else "custom",
                          **self.pattern.limits(), resumed=self.state.resumed, context=dict(s.context),
                          stages=[stage.team for stage in s.stages])

    async def run(self) -> RunResult:
        """Run until a stop condition; always ends with a RunStopped event."""
        self.state.started_at = time.monotonic()
        await self.emit(self.started_event())
        for item in self.startup_notices:  # a Notice keeps its level and agent (shown in that pane)
            await (self.emit(item) if isinstance(item, Notice) else self.notice(item))
        await self.release_kept()  # controls asked before now: announced (and an inject delivered) here
        failed = await self._open_tool_servers()
        limit = enforced_timeout(self.termination)
        timer = None
        if limit is not None:  # also stop mid-turn (slow model, unanswered request), see Timeout
            stop = limit.stop_info()
            timer = asyncio.get_running_loop().call_later(limit.seconds, self.request_stop, stop.reason, stop.kind)
        try:
            info = failed or await self.pattern.drive(self)
        except Exception as exc:  # noqa: BLE001 - any failure must still end the run cleanly
            info = StopInfo(StopKind.ERROR, f"run failed: {type(exc).__name__}: {exc}")
            await self.notice(info.reason, "error")
        finally:
            if timer is not None:
                timer.cancel()
        summary = await summarize(self)
        await self.announced()  # a stop or pause asked for just now is in the log before the end
        self.stopped = await self.emit(RunStopped(reason=info.reason, kind=info.kind, summary=summary))
        return RunResult(run_id=self.run_id, chat_history=list(self.transcript), summary=summary,
                         stop_reason=info.reason, stop_kind=info.kind, usage=self.usage,
                         usage_by_agent=dict(self.usage_by_agent))

    async def open_tool_servers(self) -> None:
        """Start the MCP servers the agents name and give the agents their tools (done by `run()`
        first; call it earlier to learn of a problem before the run starts): ToolServerError."""
        if self.resources.tool_servers:
            await self.resources.tool_servers.start(self.agents)

    async def _open_tool_servers(self) -> StopInfo | None:
        """Start the MCP servers; the stop of a run whose servers cannot start (said as an error)."""
        from tuiagents.engine.tool_servers import ToolServerError

        try:
            await self.open_tool_servers()
        except ToolServerError as exc:
            self.start_error = exc
            await self.notice(str(exc), "error")  # in full: a server's stderr tail follows its first line
            return StopInfo(StopKind.ERROR, str(exc).splitlines()[0])
        return None

    async def aclose(self) -> None:
        """Release the MCP servers, executors (their containers) and the model client; safe to call twice."""
        if self.resources.tool_servers is not None:
            await self.resources.tool_servers.aclose()
        for executor in self.resources.executors:
            try:
                await executor.close()
            except Exception as exc:  # noqa: BLE001 - cleanup must reach every executor
                await self.notice(f"could not clean up the {executor.kind} executor: {exc}", "warning")
        self.resources.executors = []
        if self.resources.llm is not None:
            await self.resources.llm.aclose()
        if self.resources.session_writer is not None:
            self.resources.session_writer.close()
