"""The cockpit: a pane per agent (tabs beyond four), the merged timeline, the request panel and the
status bar. It drives a live run in a worker and renders every event through `handle_event`, the
single entry point that replay also uses. How the panes are made and shown is `CockpitPanes`'
(`cockpit_panes.py`); the controls are `CockpitActions`'.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Static

from tuiagents.engine.decisions import READER, Decision
from tuiagents.engine.events import (
    AgentInfo,
    DecisionRecorded,
    DecisionRequested,
    MessageDelivered,
    Notice,
    RunStarted,
    RunStopped,
    TokenDelta,
    TurnStarted,
)
from tuiagents.engine.handle import LocalRunHandle, RunHandle, local_sender
from tuiagents.ui.bindings import COCKPIT_BINDINGS, all_bindings
from tuiagents.ui.engine_messages import EngineBridge, EngineEvent
from tuiagents.ui.feed import ConversationFeed
from tuiagents.ui.safe_text import one_line
from tuiagents.ui.screens.cockpit_actions import CockpitActions
from tuiagents.ui.screens.cockpit_panes import CockpitPanes
from tuiagents.ui.screens.stage_actions import StageActions
from tuiagents.ui.state import (
    RUNNING_CODE,
    AgentView,
    CockpitState,
    Waiting,
)
from tuiagents.ui.widgets.agent_pane import AgentPane
from tuiagents.ui.widgets.fitting import KeyFooter
from tuiagents.ui.widgets.request_panel import RequestPanel
from tuiagents.ui.widgets.stage_strip import StageStrip
from tuiagents.ui.widgets.status_bar import StatusBar, context_line
from tuiagents.ui.widgets.transcript import Transcript

MIN_SIZE = (60, 16)


class CockpitScreen(CockpitPanes, StageActions, CockpitActions, Screen[None]):
    """Supervise one run through its handle, or show events fed to `handle_event` (a replay).

    `run`: a run of this process, which this screen also drives (its handle is a `LocalRunHandle`).
    `handle`: a run elsewhere (`RemoteRunHandle`), with its `agents` and `team_kind` from its
    `RunStarted`; the screen shows what happened so far, then the live events. Every answer and
    control goes through `self.handle` either way.
    """

    CSS_PATH = "cockpit.tcss"
    # Below 120 columns the screen is "-narrow": buttons wrap onto rows, the banner wraps.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    # Below 36 rows it is "-short": the request's body scrolls in fewer rows.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]
    BINDINGS = COCKPIT_BINDINGS

    def __init__(self, run: Any = None, *, code_style: str = "monokai", bell: bool = True,
                 stream_interval_ms: int = 50, clock: Callable[[], float] = time.time,
                 banner: str | None = None, agents: Iterable[AgentInfo] | None = None,
                 replay: bool = False, handle: RunHandle | None = None, team_kind: str | None = None) -> None:
        super().__init__()
        self.replay = replay
        #: the run this screen drives, when it lives in this process (None: attached, or a replay)
        self.run = run
        if handle is None and run is not None and not replay:
            handle = LocalRunHandle(run)
        #: the run boundary: how this view answers requests and sends controls (None in a replay)
        self.handle: RunHandle | None = None if replay else handle
        # who answers: a remote handle says it once, in its hello (the run then names the real user)
        self.sender = getattr(handle, "sender", None) or local_sender("cockpit")
        self.code_style = code_style
        self.bell_enabled = bell
        self.stream_interval = max(0.005, stream_interval_ms / 1000)
        self.clock = clock
        self.banner = banner
        self.state = CockpitState()
        # a live view reads its own answers and stops as "you", another view's by name; a replay names all
        self.state.viewer = self.sender if self.handle is not None else READER
        #: what waits for you: the request box, the count, the panes' states and entries read it
        self.waiting = Waiting(self.state, self.handle)
        self.panes: dict[str, AgentPane] = {}
        self.agent_slots: dict[str, int] = {}
        self.timeline = Transcript(code_style=code_style, agent_slots=self.agent_slots, id="timeline")
        self.feed = ConversationFeed(lambda: {n: p.transcript for n, p in self.panes.items()}, self.timeline,
                                     self.state, self.waiting)
        self.current_request_id: str | None = None
        self.answer_dialogs: dict[str, Any] = {}
        self.events_handled = 0
        self.result: Any = None
        self.engine_error: BaseException | None = None
        self._chrome_pending = False
        # Engine events that arrive between a person's answer and the frame that shows it: held
        # back one frame so the answer is on screen first and the engine's work follows.
        self._held_events: list[Any] | None = None
        self._shown_request: str | None = None
        self._pane_root: Any = None
        self._binding_signature: tuple = ()
        self._shown_context: dict[str, str] = {}
        infos = list(agents or [])
        if run is not None:
            infos = infos or [a.info for a in run.agents.values()]
            self.state.team_kind = run.team_kind
        elif team_kind is not None:
            self.state.team_kind = team_kind
        for info in infos:
            self.state.agents[info.name] = AgentView(info=info)
            self.agent_slots.setdefault(info.name, len(self.agent_slots))

    # -- layout ---------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        """Banner, the panes/timeline switcher, the request panel, the status bar, the footer."""
        if self.banner:
            yield Static(Text(self.banner), id="banner")
        yield Static(id="context")  # the run's [context] variables, once RunStarted says them
        yield StageStrip(id="stage-strip")
        with ContentSwitcher(initial="panes-host", id="views"):
            root = self._build_panes()
            yield Container(*([root] if root is not None else []), id="panes-host")
            yield self.timeline
        yield RequestPanel(self.key_for, self.answer_of, id="request-panel")
        yield StatusBar(id="status")
        yield KeyFooter()
        yield Static(id="too-small")

    def key_for(self, binding_id: str) -> str:
        """The key currently bound to `binding_id` (after `[keymap]`), for button labels."""
        keymap = getattr(self.app, "keymap_overrides", {}) if self.is_attached else {}
        default = next((b.key for b in all_bindings() if b.id == binding_id), "?")
        return str(keymap.get(binding_id, default)).split(",")[0].strip()

    def on_mount(self) -> None:
        """Start the stream flusher, the clock, and the run."""
        if self.app.is_web:  # served to a browser (`tuiagents serve`): the log says so of each answer
            self.sender = self.sender.model_copy(update={"client": "browser"})
            if self.handle is not None:
                self.state.viewer = self.sender
        self.set_interval(self.stream_interval, self._flush_stream)
        self.set_interval(1.0, self._tick)
        self.refresh_chrome()
        self._check_size()
        if self.run is not None and self.handle is not None:
            self.handle.subscribe(EngineBridge(self))
            self.call_after_refresh(self._drive_run)  # paint the first frame, then start the engine
        elif self.handle is not None:  # a run in another process: what happened so far, then live
            self.call_after_refresh(self._fetch_history)  # the first frame does not wait for it

    @work(thread=True, exclusive=True, group="history", exit_on_error=False)
    def _fetch_history(self) -> None:
        """Fetch the run's events so far beside the first frames (a long history takes a while)."""
        try:
            self.handle.sync()  # type: ignore[union-attr]
        except Exception as exc:  # noqa: BLE001 - said on screen, never a traceback
            self.app.call_from_thread(self.notify, f"Cannot reach the run: {exc}", severity="error", timeout=15)
            return
        self.app.call_from_thread(self._show_history_then_live)

    def _show_history_then_live(self) -> None:
        past = self.handle.events_since(-1)  # type: ignore[union-attr]
        self.catch_up(past)
        self.handle.subscribe(EngineBridge(self), after=past[-1].seq if past else -1)  # type: ignore[union-attr]

    def catch_up(self, events: list[Any]) -> None:
        """Show a live run's past events at once (attach): no pop-ups or bells for what is over;
        what is still open stays open."""
        quiet, self.bell_enabled = self.bell_enabled, False
        self.notify = lambda *args, **kw: None  # type: ignore[method-assign]
        try:
            self.handle_events(events)
        finally:
            del self.notify
            self.bell_enabled = quiet
        self.feed.flush()
        self.refresh_chrome()

    @property
    def live(self) -> bool:
        """True while this view supervises a run that has not stopped."""
        return self.handle is not None and not self.state.stopped

    @work(exclusive=True, group="engine", exit_on_error=False)
    async def _drive_run(self) -> None:
        """Run the engine on the app's loop; always release its executors afterwards."""
        try:
            self.result = await self.run.run()
        except Exception as exc:  # noqa: BLE001 - show it, never a traceback on screen
            self.engine_error = exc
            self.notify(f"The run failed: {type(exc).__name__}: {exc}", severity="error", timeout=15)
        finally:
            try:
                await self.run.aclose()
            except Exception as exc:  # noqa: BLE001
                self.notify(f"Cleanup failed: {exc}", severity="warning")

    # -- events ---------------------------------------------------------------------------------
    @on(EngineEvent)
    def _on_engine_event(self, message: EngineEvent) -> None:
        if self._held_events is not None:
            self._held_events.append(message.event)
            return
        self._show_engine_event(message.event)

    def _show_engine_event(self, event: Any) -> None:
        try:
            self.handle_event(event)
        except Exception as exc:  # noqa: BLE001 - one event that cannot be shown must not end the app
            self.log.error(f"cannot show {type(event).__name__}: {exc!r}")
            self.notify(f"Could not show a {type(event).__name__} event: {exc}", severity="error")

    def show_answer_first(self) -> None:
        """Hold the engine's next events until the frame showing a person's answer is painted.

        The engine resumes in the same loop turn as the key; without this, drawing what it does
        next (the delivered message, the next turn) delays the answer's own frame.
        """
        if self._held_events is None:
            self._held_events = []
            self.call_after_refresh(self._release_held_events)
            self.set_timer(0.25, self._release_held_events)  # should no refresh come

    def _release_held_events(self) -> None:
        held, self._held_events = self._held_events, None
        for event in held or ():
            self._show_engine_event(event)

    def handle_event(self, event: Any) -> None:
        """Render one engine event (live or replayed): state, panes, timeline, chrome."""
        self.events_handled += 1
        if isinstance(event, TokenDelta):  # the hot path: no chrome redraw unless the state changes
            view = self.state.agents.get(event.agent)
            before = view.state if view is not None else None
            self.state.apply(event)
            self.feed.apply(event)
            if view is not None and view.state != before:
                self.refresh_chrome()
            return
        if isinstance(event, RunStarted):
            self._ensure_panes(event.agents)
        self.state.apply(event)
        # what is said inside a nested chat shows in its block in the owner's pane: its recipient
        # gets no pane of its own for it (the exchange reads in one place, beside the reply it made)
        if isinstance(event, TurnStarted) and not self._in_nested_chat(event.chat):
            self._ensure_pane(event.agent)
        elif isinstance(event, MessageDelivered) and not self._in_nested_chat(event.chat):
            self._ensure_pane(event.message.sender)
        self.feed.apply(event)
        if isinstance(event, DecisionRequested):
            if self.bell_enabled and self.handle is not None and self.handle.is_open(event.request.id):
                self.app.bell()
        elif isinstance(event, Notice) and event.level in ("warning", "error") and not self._in_sight(event.agent):
            self.notify(one_line(event.text, 300), severity=event.level, timeout=8)
        if isinstance(event, (DecisionRecorded, RunStopped)) and self.answer_dialogs:
            self.mark_dialogs_answered()
        if isinstance(event, RunStopped):
            self.feed.flush()
            self.notify(f"Run stopped: {one_line(self.state.stop_words() or event.reason, 200)}", timeout=8)
        self.refresh_chrome()

    def handle_events(self, events: Iterable[Any]) -> None:
        """Render many events at once (replay, benchmarks)."""
        for event in events:
            self.handle_event(event)

    def now(self) -> float:
        """The time the status bar counts to: the clock when live, the latest event in a replay."""
        return self.state.last_ts if self.replay else self.clock()

    def _flush_stream(self) -> None:
        self.feed.flush()

    def _tick(self) -> None:
        if not self.state.stopped:
            self.query_one(StatusBar).show(self.state, self.now(), len(self.pending()))

    # -- the current request ----------------------------------------------------------------------
    def pending(self) -> list[DecisionRequested]:
        """Requests still waiting (answered ones drop out at once, before the engine records them)."""
        return self.waiting.requests()

    def answer_of(self, request_id: str) -> Decision | None:
        """The answer `request_id` got in this live run, if any (None in a replay)."""
        return self.handle.answer_of(request_id) if self.handle is not None else None

    def current_request(self) -> DecisionRequested | None:
        """The request the controls act on: the one picked in the queue, else the oldest."""
        pending = self.pending()
        chosen = next((p for p in pending if p.request.id == self.current_request_id), None)
        return chosen or (pending[0] if pending else None)

    # -- chrome: headers, badges, status, request panel ----------------------------------------------
    def refresh_chrome(self) -> None:
        """Redraw headers, tab badges, status bar and request panel (coalesced per frame)."""
        if not self._chrome_pending and self.is_attached:
            self._chrome_pending = True
            self.call_later(self._redraw_chrome)

    def _redraw_chrome(self) -> None:
        self._chrome_pending = False
        if not self.is_mounted:
            return
        # an answer given here shows at once in the panes too (and a refused one waits there again)
        self.feed.settle_requests()
        self._show_pane_states()
        pending = self.pending()
        self.query_one(StatusBar).show(self.state, self.now(), len(pending))
        if self.state.context != self._shown_context:
            self._shown_context = dict(self.state.context)
            self.query_one("#context", Static).update(context_line(self._shown_context))
            self.set_class(bool(self._shown_context), "-context")
        self.query_one(StageStrip).show(self.state)
        self._show_stage_panes()
        current = self.current_request()
        self.query_one(RequestPanel).show(pending, current, self.code_style, hold=not self.state.stopped)
        new_id = current.request.id if current else None
        if new_id != self._shown_request:
            self._shown_request = new_id
            if current is not None:
                self._reveal(self._pane_for(current.request.agent, current.chat))
        # the footer shows only the controls that apply: refresh it when what they depend on changes
        signature = (new_id, self.state.stopped, self.state.is_group,
                     any(a.state == RUNNING_CODE for a in self.state.agents.values()))
        if signature != self._binding_signature:
            self._binding_signature = signature
            self.refresh_bindings()

    # -- terminal size ------------------------------------------------------------------------------
    def on_resize(self) -> None:
        """Explain instead of drawing garbage when the terminal is too small."""
        self._check_size()

    def _check_size(self) -> None:
        width, height = self.size
        small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        self.set_class(small, "-too-small")
        if small:
            self.query_one("#too-small", Static).update(
                f"The terminal is too small ({width}×{height}).\n"
                f"Make it at least {MIN_SIZE[0]}×{MIN_SIZE[1]} to see the agents.")

    # -- look ---------------------------------------------------------------------------------------
    def set_code_style(self, style: str) -> None:
        """Use another Pygments style in every transcript and the request panel."""
        self.code_style = style
        for transcript in [self.timeline, *(p.transcript for p in self.panes.values())]:
            transcript.set_code_style(style)
        panel = self.query_one(RequestPanel)
        panel.shown_id = None
        self.refresh_chrome()
