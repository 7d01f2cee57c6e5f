"""The cockpit's controls for a sequence's stages: open them (the strip, the `stages` key), and
a stop that asks "this stage or everything" while a stage runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tuiagents.engine.handle import Control, StopChat, StopRun
from tuiagents.ui.safe_text import one_line
from tuiagents.ui.screens.prompt_screens import PickScreen
from tuiagents.ui.screens.stages_screen import StagesScreen
from tuiagents.ui.state import CockpitState
from tuiagents.ui.widgets.stage_strip import stage_lines

#: the choices of the stop dialog
THIS_STAGE, EVERYTHING = "stage", "all"


class StageActions:
    """Mixin (before `CockpitActions`) of the cockpit's stage controls; the screen provides these."""

    app: Any
    handle: Any
    state: CockpitState

    if TYPE_CHECKING:  # declared only: this mixin comes first, a body here would hide the real ones
        def _control(self, control: Control) -> bool: ...  # CockpitActions
        def notify(self, message: str, **kw: Any) -> None: ...  # Screen

    def action_stages(self) -> None:
        """Open the stages: each one's state, task, summary and messages."""
        if not stage_lines(self.state):
            self.notify("This run is not a sequence: it has no stages.", severity="warning")
            return
        self.app.push_screen(StagesScreen(self.state))

    def action_stop(self) -> None:
        """Stop the run; while a stage of a sequence runs, ask first: this stage, or everything."""
        # any live run, in this process or its own (a replay has no handle: nothing to stop)
        stage = self.state.open_stage() if self.handle is not None and not self.state.stopped else None
        if stage is None or stage.stop_requested is not None:
            super().action_stop()  # type: ignore[misc]
            return
        options = [(THIS_STAGE, f"This stage only ({one_line(stage.title, 30)}): the sequence goes on"),
                   (EVERYTHING, "Everything: stop the run")]
        self.app.push_screen(PickScreen("Stop what?", options, current=THIS_STAGE,
                                        hint="A stage stopped alone hands its summary on to the next stage."),
                             lambda choice: self._stop_chosen(choice, stage.id))

    def _stop_chosen(self, choice: str | None, chat: str) -> None:
        if choice == THIS_STAGE:
            self._control(StopChat(chat=chat))  # announced by the engine as StopRequested in that stage
        elif choice == EVERYTHING:
            self._control(StopRun())
