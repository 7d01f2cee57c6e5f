"""The session browser (F2): live runs at the top (Enter attaches the cockpit to one), then the
saved sessions in a table, to replay, resume, fork or delete.

When live runs exist, the focus starts on them (on the first run that waits for you), unless the
person already moved in the table; ↑/↓ cross between the two lists as if they were one, and Tab
or shift+Tab switch between them. The keys of the footer are those of the focused list.

Each row is one log of the sessions folder: date, team, task, turns, cost and how it ended. A log
that cannot be read is listed too, with its error, and only deleting applies to it. The actions
themselves (reading, resuming, forking, deleting) are in `sessions_actions`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, DataTable, Label, Static

from tuiagents.engine.usage import format_cost
from tuiagents.session.catalog import SessionSummary, list_sessions
from tuiagents.ui.bindings import SESSIONS_BINDINGS
from tuiagents.ui.safe_text import inert, one_line
from tuiagents.ui.screens.live_list import LiveRunsList, LiveRunsOptions
from tuiagents.ui.screens.sessions_actions import SessionActions
from tuiagents.ui.widgets.agent_pane import format_tokens
from tuiagents.ui.widgets.fitting import Drop, KeyFooter, Shrink, Step, fit_columns

COLUMNS = ("Date", "Team", "Task", "Turns", "Cost", "Status")
#: How the columns give way in a narrow terminal: task and status last (they say which session it
#: is and how it ended), each cut with an ellipsis.
COLUMN_LADDER: list[Step] = [
    Shrink(("Team",), 10), Shrink(("Task", "Status"), 24), Drop("Turns"), Drop("Cost"), Drop("Team"),
    Shrink(("Task", "Status"), 16), Drop("Date"), Shrink(("Task", "Status"), 6),
]
#: actions that need a readable session selected
_NEEDS_LOG = {"replay", "resume", "fork"}
#: actions on the saved session the table highlights
_ON_SESSION = _NEEDS_LOG | {"delete"}


def when(summary: SessionSummary) -> str:
    """The session's date and time, local, to the minute."""
    if summary.created is None:
        return "?"
    return summary.created.astimezone().strftime("%Y-%m-%d %H:%M")


def status_of(summary: SessionSummary) -> Text:
    """How the session ended, in words and colour (its error when it cannot be read)."""
    if summary.status == "corrupt":
        return Text(f"✗ cannot read: {one_line(summary.error or '?', 80)}", style="bold red")
    if summary.status == "running":
        return Text(f"● running: written by {one_line(summary.writer or 'another process', 60)}", style="bold cyan")
    if summary.status == "interrupted":
        note = " · last line cut off" if summary.error else ""
        return Text(f"… interrupted (no stop recorded){note}", style="yellow")
    from tuiagents.session.outcome import outcome_words

    style = "red" if summary.stop_kind == "error" else "green"
    words = outcome_words(summary.status, summary.stop_kind)
    return Text(f"■ {words}: {one_line(summary.stop_reason or 'stopped', 80)}", style=style)


def row_of(summary: SessionSummary) -> tuple[Text, ...]:
    """The table cells of one session (text from logs stays inert), cut with an ellipsis."""
    turns = "—" if summary.turns is None else f"{summary.turns:,}"
    cost = "—" if summary.cost is None else format_cost(summary.cost)
    cells = (Text(when(summary)), Text(inert(one_line(summary.team or "?", 20))),
             Text(inert(one_line(summary.task or "", 60))), Text(turns, justify="right"),
             Text(cost, justify="right"), status_of(summary))
    for cell in cells:
        cell.no_wrap, cell.overflow = True, "ellipsis"
    return cells


def file_size(size: int) -> str:
    """`812 B`, `14.2 kB`, `27.0 MB`."""
    if size < 1000:
        return f"{size} B"
    return f"{size / 1000:,.1f} kB" if size < 1_000_000 else f"{size / 1e6:,.1f} MB"


def detail_of(summary: SessionSummary) -> Text:
    """The lines under the table about the selected session."""
    t = Text()
    t.append(inert(str(summary.path)), "bold")
    bits = [file_size(summary.size)]
    if summary.events is not None:
        bits.append(f"{summary.events:,} events")
    if summary.tokens is not None:
        bits.append(f"{format_tokens(summary.tokens)} tokens")
    if summary.forked_from:
        bits.append(f"forked from {summary.forked_from}")
    if summary.imported_from:
        bits.append(f"imported from {summary.imported_from}")
    t.append("  " + " · ".join(inert(b) for b in bits), "dim")
    if summary.error:
        t.append(f"\n{inert(summary.error)}", "bold red" if summary.status == "corrupt" else "yellow")
    return t


class SessionsTable(DataTable[Any]):
    """The saved sessions' table: ↑ on its first row tells the screen (`PastTheTop`) to go on above."""

    class PastTheTop(Message):
        """↑ was pressed on the first row."""

    def action_cursor_up(self) -> None:
        """The previous session; above the first one, the screen's list above."""
        if self.cursor_row <= 0:
            self.post_message(self.PastTheTop())
            return
        super().action_cursor_up()


class SessionsScreen(SessionActions, Screen[None], inherit_bindings=False):
    """The saved sessions of `folder`; `config` is used to resume a log that carries none."""

    CSS_PATH = "sessions_screen.tcss"
    # Textual's screen bindings (Tab's focus cycle, copy) come after ours instead of being
    # replaced by them: Tab switches lists while there are live runs, and cycles when there are
    # none; and the footer lists our keys in the registry's order, Enter first.
    BINDINGS = [*SESSIONS_BINDINGS, *Screen.BINDINGS]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]

    def __init__(self, folder: str | Path, *, config: Any = None, select: str | Path | None = None) -> None:
        super().__init__()
        self.folder = Path(folder)
        self.config = config
        self.summaries: dict[str, SessionSummary] = {}
        self.loaded = False
        self._select = str(select) if select is not None else None
        #: the person pressed a key here: the first live runs no longer take the focus
        self._moved = False

    @classmethod
    def for_app(cls, app: Any) -> SessionsScreen:
        """The browser of the app's sessions folder (`[session] dir`, else the user data folder)."""
        from tuiagents.paths import sessions_dir

        config = getattr(app, "config", None)
        if config is None:  # as `tuiagents sessions` finds it
            try:
                from tuiagents.config import load_app_config

                config = load_app_config(None, required=False)
            except Exception:  # noqa: BLE001 - a broken config: the default folder
                config = None
        session = getattr(config, "session", None)
        return cls(sessions_dir(getattr(session, "dir", None)), config=config)

    def compose(self) -> ComposeResult:
        """Title, the table, the selected session's details, the action buttons, the footer."""
        with Vertical(id="sessions-box"):
            yield LiveRunsList(id="live-box")
            yield Label(Text(f"Saved sessions · {inert(str(self.folder))}"), id="sessions-title")
            table = SessionsTable(id="sessions-table", cursor_type="row", zebra_stripes=True)
            yield table
            yield Static(Text("Reading the sessions folder…"), id="session-detail")
            with Horizontal(id="sessions-buttons"):
                for action, label, variant in (("replay", "Replay [enter]", "primary"), ("resume", "Resume [r]", "success"),
                                               ("fork", "Fork at… [f]", "default"), ("delete", "Delete… [d]", "error"),
                                               ("close", "Close [esc]", "default")):
                    yield Button(Text(label), variant=variant, compact=True, action=f"screen.{action}",
                                 id=f"sessions-{action}")
        yield KeyFooter()

    def on_mount(self) -> None:
        """Set up the table and list the sessions."""
        self._widths: dict[str, int] = {}
        self._rows: dict[str, tuple[Text, ...]] = {}
        self.query_one("#sessions-table", DataTable).focus()
        self._fit_columns()
        self.refresh_list()

    def on_resize(self) -> None:
        """Fit the columns to the new width."""
        self.call_after_refresh(self._fit_columns)

    def _fit_columns(self) -> None:
        """Give the columns the table's width (task and status give way last), re-adding the rows
        when the columns change."""
        table = self.query_one("#sessions-table", DataTable)
        room = (table.size.width or self.size.width - 4) - table.styles.scrollbar_size_vertical
        natural = {c: max([len(c), *(row[i].cell_len for row in self._rows.values())]) for i, c in enumerate(COLUMNS)}
        widths = fit_columns(natural, room, COLUMN_LADDER, padding=2 * table.cell_padding)
        if widths == self._widths:
            return
        self._widths = widths
        key = self.selected_key()
        table.clear(columns=True)
        for column, width in widths.items():
            table.add_column(column, width=width, key=column)
        for path, row in self._rows.items():
            table.add_row(*(cell for c, cell in zip(COLUMNS, row) if c in widths), key=path)
        if key in self._rows:
            table.move_cursor(row=table.get_row_index(key))

    # -- listing ----------------------------------------------------------------------------------
    def refresh_list(self, select: str | Path | None = None) -> None:
        """List the folder again (in a thread: big logs are scanned), then select `select`."""
        if select is not None:
            self._select = str(select)
        self._list()

    @work(thread=True, exclusive=True, group="sessions-list", exit_on_error=False)
    def _list(self) -> None:
        try:
            found = list_sessions(self.folder)
        except OSError as exc:
            self.app.call_from_thread(self._show_problem, f"Cannot list {self.folder}: {exc.strerror or exc}")
            return
        self.app.call_from_thread(self._fill, found)

    def _show_problem(self, text: str) -> None:
        self.query_one("#session-detail", Static).update(Text(text, style="bold red"))

    def _fill(self, found: list[SessionSummary]) -> None:
        table = self.query_one("#sessions-table", DataTable)
        wanted = self._select or (self.selected_key() if self.loaded else None)
        row = table.cursor_row
        self.summaries = {str(s.path): s for s in found}
        self._rows = {str(s.path): row_of(s) for s in found}
        self._widths = {}  # the rows' widths may change the columns: add them again
        self._fit_columns()
        self.loaded = True
        self._select = None
        if wanted in self.summaries:
            table.move_cursor(row=table.get_row_index(wanted))
        elif found:  # the selected one went (deleted): stay at the same place in the list
            table.move_cursor(row=min(row, len(found) - 1))
        detail = self.query_one("#session-detail", Static)
        if not found:
            detail.update(Text(f"No saved sessions in {inert(str(self.folder))} yet: every run writes one there.",
                               style="italic"))
        else:
            self._show_detail()
        self.refresh_bindings()

    def selected_key(self) -> str | None:
        """The path (as text) of the highlighted row, or None."""
        table = self.query_one("#sessions-table", DataTable)
        if not self.summaries or table.row_count == 0:
            return None
        try:
            return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        except Exception:  # noqa: BLE001 - no row under the cursor
            return None

    def selected(self) -> SessionSummary | None:
        """The summary of the highlighted session, or None."""
        key = self.selected_key()
        return self.summaries.get(key) if key else None

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._show_detail()
        self.refresh_bindings()

    @on(DataTable.RowSelected)
    def _row_chosen(self) -> None:
        self.action_replay()

    def _show_detail(self) -> None:
        summary = self.selected()
        if summary is not None:
            self.query_one("#session-detail", Static).update(detail_of(summary))

    # -- the live runs and the table as one list ---------------------------------------------------
    def on_key(self, event: events.Key) -> None:
        """A key pressed before the first survey answered: the focus stays where the person is."""
        self._moved = True

    def on_mouse_down(self, event: events.MouseDown) -> None:
        """A click, likewise."""
        self._moved = True

    def _live(self) -> LiveRunsList:
        return self.query_one(LiveRunsList)

    def _on_live(self) -> bool:
        """The focus is on the live runs."""
        return isinstance(self.focused, LiveRunsOptions)

    @on(LiveRunsList.Listed)
    def _listed(self, event: LiveRunsList.Listed) -> None:
        live = self._live()
        if live.runs and event.first:
            # after the refresh: the first survey can answer before the screen gave the table its focus
            self.call_after_refresh(self._start_on_live)
        elif not live.runs and (self._on_live() or self.focused is None):
            self.query_one(SessionsTable).focus()  # the list went away under the focus
        self.refresh_bindings()

    def _start_on_live(self) -> None:
        """Focus the live runs, unless the person already went somewhere on this screen."""
        if not self._moved and self.focused in (None, self.query_one(SessionsTable)) and self._live().runs:
            self.query_one(LiveRunsOptions).focus()

    @on(LiveRunsOptions.PastTheEnd)
    def _below_live(self) -> None:
        table = self.query_one(SessionsTable)
        if table.row_count:
            table.move_cursor(row=0)
            table.focus()

    @on(SessionsTable.PastTheTop)
    def _above_table(self) -> None:
        if self._live().runs:
            listing = self.query_one(LiveRunsOptions)
            listing.highlighted = listing.option_count - 1
            listing.focus()

    def on_descendant_focus(self) -> None:
        """The footer shows the keys of the list that has the focus."""
        self.refresh_bindings()

    def action_focus_live(self) -> None:
        """To the live runs, where they were left."""
        self.query_one(LiveRunsOptions).focus()

    def action_focus_saved(self) -> None:
        """To the saved sessions, where they were left."""
        self.query_one(SessionsTable).focus()

    def action_other_list(self) -> None:
        """From one list to the other (shift+Tab: with two lists, back is the same as next)."""
        (self.action_focus_saved if self._on_live() else self.action_focus_live)()

    def action_attach(self) -> None:
        """Attach the cockpit to the highlighted live run."""
        self._live().attach(self._live().highlighted_id())

    # -- which actions apply ------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The keys of the focused list: on the live runs, attach and go to the sessions; on the
        sessions, their actions (they need one selected; an unreadable one says why when asked to
        play) and, while there are live runs, go to them."""
        on_live = self._on_live()
        if action in ("attach", "focus_saved"):
            return on_live and (action == "focus_saved" or self._live().highlighted_id() is not None)
        if action == "focus_live":
            return not on_live and bool(self._live().runs)
        if action == "other_list":
            return bool(self._live().runs)
        if action in _ON_SESSION:
            if on_live:
                return False
            return True if self.selected() is not None else None
        return True

    def action_close(self) -> None:
        """Back to the screen the browser was opened from."""
        self.dismiss(None)
