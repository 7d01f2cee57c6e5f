"""What the cockpit knows about a run: the engine's one fold (`RunView`), plus the glyphs it draws.

`CockpitState` is `RunView` (no Textual): agent states, tokens and cost, the round, who speaks and
who is next, the controls, the stop and the pending requests by id, all rebuilt from events alone
(live or replayed). The widgets read it; the screen feeds it every event through one entry point.
"""

from __future__ import annotations

from tuiagents.engine.view import AgentState, AgentView, RunView

__all__ = ["AgentView", "CockpitState", "STATE_GLYPH", "IDLE", "THINKING", "STREAMING", "WAITING",
           "RUNNING_CODE", "RUNNING_TOOL", "DONE"]

IDLE, THINKING, STREAMING, WAITING, RUNNING_CODE, RUNNING_TOOL, DONE = (
    AgentState.IDLE, AgentState.THINKING, AgentState.STREAMING, AgentState.WAITING, AgentState.RUNNING_CODE,
    AgentState.RUNNING_TOOL, AgentState.DONE)

#: A glyph per agent state, for tab badges and pane headers.
STATE_GLYPH = {IDLE: "○", THINKING: "◔", STREAMING: "◑", WAITING: "◉", RUNNING_CODE: "▶",
               RUNNING_TOOL: "⚙", DONE: "■"}

#: The cockpit's state is the run view: one fold, read by every widget.
CockpitState = RunView
