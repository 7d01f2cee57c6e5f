"""Screens before a run: ask for the task (and team), or explain what to configure first."""

from __future__ import annotations

from collections.abc import Callable

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Center, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Label, Select, Static, TextArea

from tuiagents.ui.actions import Where, bindings_of
from tuiagents.ui.safe_text import inert


@dataclass
class TeamChoice:
    """A team the task screen offers: its name, a one-line description and its default task."""

    name: str
    description: str = ""
    task: str | None = None
    #: it may start without a task (a sequence: its stages have theirs; a task given is the first's context)
    task_optional: bool = False


class TaskScreen(Screen[tuple[str, str]]):
    """Asks for the task (and the team when there are several); returns (team, task)."""

    CSS_PATH = "start_screens.tcss"
    BINDINGS = bindings_of(Where.DIALOG, "task")

    def __init__(self, teams: list[TeamChoice], team: str | None = None,
                 check: Callable[[str], str | None] | None = None) -> None:
        super().__init__()
        self.teams = teams
        self.team = team if team in {t.name for t in teams} else teams[0].name
        #: what is wrong with a typed task (a template the config cannot fill), said here so it can be fixed
        self.check = check

    def _choice(self, name: str) -> TeamChoice:
        return next(t for t in self.teams if t.name == name)

    def compose(self) -> ComposeResult:
        """Title, team picker, task editor, error line, start button."""
        with Center(), Vertical(id="task-dialog"):
            yield Label(Text("tuiagents · what should the team do?"), id="task-title")
            if len(self.teams) > 1:
                yield Select([(f"{t.name} — {t.description}" if t.description else t.name, t.name)
                              for t in self.teams], value=self.team, allow_blank=False, id="task-team")
            else:
                yield Static(Text(f"Team: {self.team}  {self._choice(self.team).description}"), id="task-team-name")
            yield TextArea(self._choice(self.team).task or "", id="task-text", soft_wrap=True)
            yield Static(Text(""), id="task-error")
            with Horizontal(id="task-buttons"):
                yield Button(Text("Start [ctrl+s]"), variant="primary", action="screen.start", id="task-start")
                yield Button(Text("Quit"), variant="error", action="app.quit", id="task-quit")
        yield Footer()

    def on_mount(self) -> None:
        """Focus the task."""
        self.query_one(TextArea).focus()

    @on(Select.Changed, "#task-team")
    def _team_changed(self, event: Select.Changed) -> None:
        area = self.query_one(TextArea)
        previous = self._choice(self.team).task or ""
        self.team = str(event.value)
        if not area.text.strip() or area.text == previous:
            area.text = self._choice(self.team).task or ""

    def action_start(self) -> None:
        """Start with the task, unless it is empty."""
        task = self.query_one(TextArea).text.strip()
        if not task and not self._choice(self.team).task_optional:
            self.query_one("#task-error", Static).update(
                Text("Type a task for the team first (what should they do?).", style="bold"))
            return
        problem = self.check(task) if self.check is not None and task else None
        if problem:
            self.query_one("#task-error", Static).update(Text(f"{problem}. Fix the task and start again.", style="bold"))
            return
        self.dismiss((self.team, task))


class ProblemScreen(Screen[None]):
    """Explains why nothing can run yet and exactly what to set; q quits."""

    CSS_PATH = "start_screens.tcss"
    BINDINGS = bindings_of(Where.DIALOG, "problem")

    def __init__(self, title: str, message: str) -> None:
        super().__init__()
        self.title_text = title
        self.message = message

    def compose(self) -> ComposeResult:
        """The title, the explanation, a quit button."""
        with Center(), Vertical(id="problem-dialog"):
            yield Label(Text(self.title_text), id="problem-title")
            yield Static(Text(inert(self.message)), id="problem-text")
            yield Button(Text("Quit [q]"), variant="error", action="app.quit")
        yield Footer()
