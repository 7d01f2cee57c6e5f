"""F2's live runs: the runs whose process is alive, above the saved sessions, asked again every
few seconds. Each line says id, team, state (with "⏳ waiting for you" where a run waits for a
decision), who waits, age and task; Enter attaches the app's cockpit to that run.

The survey (`session.live_runs.survey`) asks each run over its socket, so it runs in a thread.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from tuiagents.session.live_runs import LiveRun, age, survey
from tuiagents.ui.safe_text import inert, one_line

#: seconds between two surveys while F2 is open (a run's state changes with every turn)
POLL_SECONDS = 2.0
#: how a run's state reads; "waiting" is said as what it asks of the person
STATES = {"running": ("● running", "cyan"), "paused": ("‖ paused", "yellow"), "stopping": ("■ stopping", "yellow"),
          "unreachable": ("? not answering", "red")}


def state_words(run: LiveRun) -> Text:
    """A live run's state in words and colour; a run that waits for a decision says so first."""
    if run.state == "waiting":
        return Text("⏳ waiting for you", style="bold magenta")
    words, style = STATES.get(run.state, (run.state, ""))
    return Text(words, style=style)


def line_of(run: LiveRun, shown: str | None = None, team_width: int = 16) -> Text:
    """One live run as F2 lists it: id, team, state, who waits, age, task (text from the run stays inert)."""
    rec = run.record
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append("▶ " if rec.run_id == shown else "  ", "bold")  # before the id: a narrow list keeps it
    t.append(rec.run_id, "bold")
    t.append(f"  {inert(one_line(rec.team, team_width)):<{team_width}}  ")
    state = state_words(run)
    t.append_text(state)
    t.append(" " * max(2, 20 - state.cell_len))
    waiting = ", ".join(run.waiting)
    t.append(f"{inert(one_line(waiting, 14)) or '-':<14}", "magenta" if waiting else "dim")
    t.append(f"{age(rec.started):>6}  ", "dim")
    t.append(inert(one_line(rec.task, 60)))
    return t


class LiveRunsList(Vertical):
    """The live runs, newest last; hidden while there is none. Enter asks the app to attach."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runs: list[LiveRun] = []
        #: True once the first survey has answered
        self.surveyed = False

    def compose(self) -> ComposeResult:
        """The heading and the list."""
        yield Label("", id="live-title")
        yield OptionList(id="live-runs")

    def on_mount(self) -> None:
        """Survey now and every few seconds."""
        self.display = False
        self.survey()
        self.set_interval(POLL_SECONDS, self.survey)

    @work(thread=True, exclusive=True, group="live-survey", exit_on_error=False)
    def survey(self) -> None:
        """Ask every recorded run how it stands (beside the screen: each answers over its socket)."""
        try:
            runs = [r for r in survey(timeout=2.0) if r.alive]
        except OSError:  # no runtime folder to read: no live runs
            runs = []
        self.app.call_from_thread(self.show, runs)

    def show(self, runs: list[LiveRun]) -> None:
        """List `runs`, keeping the highlighted one where it is."""
        self.surveyed = True
        self.runs = runs
        self.display = bool(runs)
        listing = self.query_one(OptionList)
        was = listing.highlighted_option.id if listing.highlighted_option is not None else None
        shown = getattr(self.app, "shown_run_id", lambda: None)()
        team_width = min(16, max((len(one_line(r.record.team, 16)) for r in runs), default=4))
        listing.set_options([Option(line_of(run, shown, team_width), id=run.record.run_id) for run in runs])
        ids = [run.record.run_id for run in runs]
        if ids:
            listing.highlighted = ids.index(was) if was in ids else 0
        waiting = sum(run.state == "waiting" for run in runs)
        title = Text(f"Live runs ({len(runs)})", style="bold")
        if waiting:
            title.append(f" · ⏳ {waiting} waiting for you", "bold magenta")
        if shown in ids:
            title.append(" · ▶ in the cockpit", "dim")
        title.append(" · Enter attaches (shift+Tab from the sessions)", "dim")
        self.query_one("#live-title", Label).update(title)

    @on(OptionList.OptionSelected, "#live-runs")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        attach = getattr(self.app, "attach_live", None)
        if attach is None:
            self.notify("This app cannot attach to runs; use `tuiagents attach ID`.", severity="warning")
        elif event.option_id:
            attach(event.option_id)
