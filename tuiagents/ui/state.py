"""What the cockpit knows about a run: the engine's one fold (`RunView`), plus the glyphs it draws.

`CockpitState` is `RunView` (no Textual): agent states, tokens and cost, the round, who speaks and
who is next, the controls, the stop and the pending requests by id, all rebuilt from events alone
(live or replayed). The widgets read it; the screen feeds it every event through one entry point.
`Waiting` is what of it waits for the person, with the answers given through a live handle.
"""

from __future__ import annotations

from tuiagents.engine.decisions import Decision
from tuiagents.engine.events import DecisionRequested
from tuiagents.engine.handle import RunHandle
from tuiagents.engine.view import AgentState, AgentView, RunView

__all__ = ["AgentState", "AgentView", "CockpitState", "STATE_GLYPH", "IDLE", "THINKING", "STREAMING", "WAITING",
           "RUNNING_CODE", "RUNNING_TOOL", "DONE", "Waiting"]

IDLE, THINKING, STREAMING, WAITING, RUNNING_CODE, RUNNING_TOOL, DONE = (
    AgentState.IDLE, AgentState.THINKING, AgentState.STREAMING, AgentState.WAITING, AgentState.RUNNING_CODE,
    AgentState.RUNNING_TOOL, AgentState.DONE)

#: A glyph per agent state, for tab badges and pane headers.
STATE_GLYPH = {IDLE: "○", THINKING: "◔", STREAMING: "◑", WAITING: "◉", RUNNING_CODE: "▶",
               RUNNING_TOOL: "⚙", DONE: "■"}

#: The cockpit's state is the run view: one fold, read by every widget.
CockpitState = RunView


class Waiting:
    """What waits for this view's person now: the fold's open requests, less those answered
    through `handle` that the run has not recorded yet (its `is_open`), and what follows from it.

    The request box, the status bar's count, the pane headers, the tab badges and the entries that
    say "waiting for you" all read this one place, so an answer a far run has not taken yet (a
    frozen process) shows everywhere in the frame of the key, and one it refuses later waits again
    everywhere (the handle opens it again). Without a handle (a replay) it is the fold's alone.
    """

    def __init__(self, view: RunView, handle: RunHandle | None = None) -> None:
        self.view = view
        self.handle = handle

    def requests(self) -> list[DecisionRequested]:
        """The requests still waiting, oldest first."""
        return self.view.open_requests(self.handle.is_open if self.handle is not None else None)

    def waits(self, request_id: str) -> bool:
        """True while `request_id` waits for an answer."""
        return request_id in self.view.waiting and (self.handle is None or self.handle.is_open(request_id))

    def recorded(self, request_id: str) -> Decision | None:
        """What the run recorded as `request_id`'s answer, if it did."""
        recorded = next((r for r in reversed(self.view.decisions) if r.request_id == request_id), None)
        return recorded.decision if recorded is not None else None

    def decision(self, request_id: str) -> Decision | None:
        """What `request_id` was answered: as the run recorded it, else as given through the handle."""
        recorded = self.recorded(request_id)
        if recorded is not None or self.handle is None:
            return recorded
        return self.handle.answer_of(request_id)

    def agent_state(self, name: str) -> AgentState | None:
        """What `name` is shown doing: the fold's state, except that an agent the fold has waiting
        for an answer given here already is shown as it will be once the run records it (the
        fold's rule for `DecisionRecorded`: the asked agent idles, the speaker thinks on)."""
        agent = self.view.agents.get(name)
        if agent is None or agent.state != WAITING or self.handle is None:
            return agent.state if agent is not None else None
        open_now = self.requests()
        if len(open_now) == len(self.view.waiting):
            return WAITING
        if any(p.request.agent == name for p in open_now):
            return WAITING
        if any(p.request.agent == name for p in self.view.waiting.values()):
            return IDLE  # its own request was answered here
        if name == self.view.speaker:
            return WAITING if open_now else THINKING
        return WAITING
