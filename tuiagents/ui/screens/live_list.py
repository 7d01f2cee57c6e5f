"""F2's live runs: the runs whose process is alive, above the saved sessions, asked again every
few seconds. Each line says id, team, state (with "⏳ waiting for you" where a run waits for a
decision), who waits, age and task; Enter attaches the app's cockpit to that run. The first
survey highlights the first run that waits for you (one other than the cockpit's, if any), and
the list with the sessions table below reads as one list: ↓ on its last run goes on below.

The survey (`session.live_runs.survey`) asks each run over its socket, so it runs in a thread.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
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


def first_to_attend(runs: list[LiveRun], shown: str | None) -> int:
    """Where the list starts: the first run waiting for you that the cockpit does not show, else
    the first waiting one, else the first run."""
    waiting = [i for i, run in enumerate(runs) if run.state == "waiting"]
    elsewhere = [i for i in waiting if runs[i].record.run_id != shown]
    return (elsewhere or waiting or [0])[0]


class LiveRunsOptions(OptionList):
    """The live runs' lines. Its top and bottom are ends of F2's one list: ↑ on the first run stays
    (no wrapping round), ↓ on the last one tells the screen (`PastTheEnd`) to go on below."""

    class PastTheEnd(Message):
        """↓ was pressed on the last live run."""

    def action_cursor_down(self) -> None:
        """The next run; past the last one, the screen's next list."""
        if self.highlighted is not None and self.highlighted >= self.option_count - 1:
            self.post_message(self.PastTheEnd())
            return
        super().action_cursor_down()

    def action_cursor_up(self) -> None:
        """The previous run; the first one is the top of the list."""
        if self.highlighted == 0:
            return
        super().action_cursor_up()


class LiveRunsList(Vertical):
    """The live runs, newest last; hidden while there is none. Enter asks the app to attach."""

    class Listed(Message):
        """A survey was shown; `first` for the first one of this list."""

        def __init__(self, first: bool) -> None:
            super().__init__()
            self.first = first

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runs: list[LiveRun] = []
        #: True once the first survey has answered
        self.surveyed = False

    def compose(self) -> ComposeResult:
        """The heading and the list."""
        yield Label("", id="live-title")
        yield LiveRunsOptions(id="live-runs")

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
        """List `runs`, keeping the highlighted one where it is (the first survey: the run to attend)."""
        first, self.surveyed = not self.surveyed, True
        self.runs = runs
        self.display = bool(runs)
        listing = self.query_one(OptionList)
        was = listing.highlighted_option.id if listing.highlighted_option is not None else None
        shown = getattr(self.app, "shown_run_id", lambda: None)()
        team_width = min(16, max((len(one_line(r.record.team, 16)) for r in runs), default=4))
        listing.set_options([Option(line_of(run, shown, team_width), id=run.record.run_id) for run in runs])
        ids = [run.record.run_id for run in runs]
        if ids:
            listing.highlighted = first_to_attend(runs, shown) if first else ids.index(was) if was in ids else 0
        waiting = sum(run.state == "waiting" for run in runs)
        title = Text(f"Live runs ({len(runs)})", style="bold")
        if waiting:
            title.append(f" · ⏳ {waiting} waiting for you", "bold magenta")
        if shown in ids:
            title.append(" · ▶ in the cockpit", "dim")
        title.append(" · Enter attaches", "dim")
        self.query_one("#live-title", Label).update(title)
        self.post_message(self.Listed(first))

    def highlighted_id(self) -> str | None:
        """The id of the highlighted run, or None."""
        option = self.query_one(LiveRunsOptions).highlighted_option
        return option.id if option is not None and self.runs else None

    def attach(self, run_id: str | None) -> None:
        """Ask the app to attach its cockpit to `run_id`."""
        attach = getattr(self.app, "attach_live", None)
        if attach is None:
            self.notify("This app cannot attach to runs; use `tuiagents attach ID`.", severity="warning")
        elif run_id:
            attach(run_id)

    @on(OptionList.OptionSelected, "#live-runs")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.attach(event.option_id)
