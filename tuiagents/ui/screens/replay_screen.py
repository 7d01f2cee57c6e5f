"""Replay mode: the cockpit fed from a session log, with player controls instead of live ones.

`ReplayScreen` is a `CockpitScreen` with no run: the same panes, timeline and handlers, fed through
the same `handle_event`. Space plays or pauses, ←/→ step one event, -/+ change the speed (0.5x to
16x, then max), g jumps to a turn, Home/End to the start or end. Going backwards clears the panes and
feeds the events up to the new position again, so the screen is exactly what playing forward to that
point shows. Requests in the log are history: the live controls are hidden, and their keys say that
this is a replay instead of deciding anything.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from textual.app import ComposeResult

from tuiagents.engine.view import log_reader
from tuiagents.session.reader import SessionLog
from tuiagents.ui.actions import InReplay, Where, actions_of, palette, refused_in_replay
from tuiagents.ui.bindings import REPLAY_BINDINGS
from tuiagents.ui.feed import ConversationFeed
from tuiagents.ui.replay_player import ReplayPlayer, format_speed
from tuiagents.ui.replay_widgets import HistoryRequestPanel, ReplayStatusBar
from tuiagents.ui.safe_text import one_line
from tuiagents.ui.screens.cockpit import CockpitScreen
from tuiagents.ui.screens.replay_dialogs import NumberPromptScreen
from tuiagents.ui.state import AgentView, CockpitState
from tuiagents.ui.widgets.request_panel import RequestPanel
from tuiagents.ui.widgets.status_bar import StatusBar

#: Cockpit controls the replay takes but does not pass on: the live ones explain that this is a
#: replay, and p plays/pauses (the registry says which: `InReplay.REFUSED` and `InReplay.HIDDEN`).
NOT_LIVE_HERE = frozenset(a.name for a in actions_of(Where.COCKPIT) if a.in_replay is not InReplay.WORKS)
TICK = 1 / 30  # seconds between two playback ticks


class ReplayScreen(CockpitScreen):
    """The cockpit replaying `log`; `closable` when opened from the session browser (Esc goes back)."""

    CSS_PATH = ["cockpit.tcss", "replay_screen.tcss"]
    BINDINGS = REPLAY_BINDINGS

    def __init__(self, log: SessionLog, *, autoplay: bool = True, closable: bool = False, **kw: Any) -> None:
        agents = list(log.header.agents) or (log.run_started.agents if log.run_started else [])
        kw.setdefault("banner", replay_banner(log))
        super().__init__(None, agents=agents, replay=True, **kw)
        self.session_log = log
        self.player = ReplayPlayer(log.events)
        #: who reads this log: its one person (read as "you", as live), else no one of it (all named)
        self.reader = log_reader(log.events)
        self.state.viewer = self.reader
        self.autoplay = autoplay
        self.closable = closable
        self.rebuilds = 0  # times the screen was drawn again from the start (benchmarks, tests)
        self._agent_infos = agents
        self._target: int | None = None  # a backwards move waiting for the next frame
        self._quiet = False
        self._last_tick = time.perf_counter()

    # -- layout ----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        """The cockpit's layout, with the replay's status bar and request panel."""
        for widget in super().compose():
            if isinstance(widget, StatusBar):
                yield ReplayStatusBar(self.player.label, id="status")
            elif isinstance(widget, RequestPanel):
                yield HistoryRequestPanel(self.player.outcomes.get, id="request-panel", reader=self.reader)
            else:
                yield widget

    def on_mount(self) -> None:
        """Say what is wrong with the log, if anything; start playing when asked to."""
        self._player_timer = self.set_interval(TICK, self._tick_play, pause=True)
        log = self.session_log
        if log.notice:
            self.notify(f"{log.path.name}: {log.notice}", severity="warning", timeout=15,
                        title="This log is damaged")
        if not log.events:
            self.notify("This log holds no events yet: the run stopped before it began.", severity="warning")
        if self.autoplay:
            self.action_replay_toggle()

    # -- what is shown -----------------------------------------------------------------------------
    def notify(self, *args: Any, **kw: Any) -> None:  # type: ignore[override]
        """Notifications, except those of events fed in bulk (a jump must not pop up hundreds)."""
        if not self._quiet:
            super().notify(*args, **kw)

    def _show(self, events: Iterable[Any]) -> None:
        """Feed events that come after what is shown (forward: the same path as playing)."""
        for event in events:
            try:
                self.handle_event(event)
            except Exception as exc:  # noqa: BLE001 - one event that cannot be shown must not end the replay
                self.log_error(event, exc)

    def log_error(self, event: Any, exc: Exception) -> None:
        """Report an event that could not be shown."""
        self.app.log.error(f"replay: cannot show {type(event).__name__}: {exc!r}")
        super().notify(f"Could not show a {type(event).__name__} event: {exc}", severity="error")

    def _quietly(self, events: Iterable[Any]) -> None:
        self._quiet = True
        try:
            self._show(events)
        finally:
            self._quiet = False
        self.feed.flush()

    def _reset(self) -> None:
        """Clear the panes and the state to what the screen held before the first event."""
        self.state = CockpitState()
        self.state.viewer = self.reader  # the log's one person reads as "you"; several are named
        for info in self._agent_infos:
            self.state.agents[info.name] = AgentView(info=info)
        for transcript in [self.timeline, *(p.transcript for p in self.panes.values())]:
            transcript.clear()
            transcript.follow = True
        self.feed = ConversationFeed(lambda: {n: p.transcript for n, p in self.panes.items()}, self.timeline,
                                     self.state)
        self.current_request_id = None
        self._shown_request = None
        self.events_handled = 0
        panel = self.query_one(RequestPanel)
        panel.shown_id = None

    def seek(self, position: int) -> None:
        """Show exactly the first `position` events (forward by feeding, backward by drawing again)."""
        position = max(0, min(position, len(self.player.events)))
        if self._target is not None or position < self.player.position:
            if self._target is None:
                self.call_after_refresh(self._rebuild)
            self._target = position  # several steps back in one frame cost one redraw
        elif position == self.player.position + 1:
            self._show(self.player.forward(1))
            self.feed.flush()  # a step by hand shows its token at once, not at the next stream tick
        elif position > self.player.position:
            self._quietly(self.player.forward(position - self.player.position))
        self.refresh_chrome()

    def _rebuild(self) -> None:
        target, self._target = self._target, None
        if target is None:
            return
        self._reset()
        self.player.cursor.seek(target)
        self._quietly(self.player.prefix(target))
        self.rebuilds += 1
        self.refresh_chrome()

    @property
    def position(self) -> int:
        """The number of events shown (or about to be, after a pending backwards move)."""
        return self.player.position if self._target is None else self._target

    # -- playing ---------------------------------------------------------------------------------
    def _tick_play(self) -> None:
        now = time.perf_counter()
        elapsed, self._last_tick = now - self._last_tick, now
        if self._target is not None:
            return
        events = self.player.due(elapsed)
        self._show(events)
        if not self.player.playing:
            self._player_timer.pause()
            self.notify("End of the replay: ← steps back, Home starts again.", timeout=4)
        self.refresh_chrome()

    def _set_playing(self, playing: bool) -> None:
        if playing and self.player.play():
            self._last_tick = time.perf_counter()
            self._player_timer.resume()
        else:
            self.player.pause()
            self._player_timer.pause()
        self.refresh_chrome()

    # -- controls ---------------------------------------------------------------------------------
    def action_replay_toggle(self) -> None:
        """Play from here, or pause (at the end, play starts again from the start)."""
        if self.player.playing:
            return self._set_playing(False)
        if self.position >= len(self.player.events):
            self.seek(0)
            self.call_after_refresh(self._set_playing, True)
            return
        self._set_playing(True)

    def action_pause(self) -> None:
        """p, the cockpit's pause key: play or pause the replay."""
        self.action_replay_toggle()

    def action_replay_forward(self) -> None:
        """Show the next event (pauses playing)."""
        self._set_playing(False)
        self.seek(self.position + 1)

    def action_replay_back(self) -> None:
        """Un-show the last event (pauses playing)."""
        self._set_playing(False)
        self.seek(self.position - 1)

    def action_replay_faster(self) -> None:
        """Play faster."""
        self.notify(f"Replay speed: {format_speed(self.player.faster())}", timeout=2)
        self.refresh_chrome()

    def action_replay_slower(self) -> None:
        """Play slower."""
        self.notify(f"Replay speed: {format_speed(self.player.slower())}", timeout=2)
        self.refresh_chrome()

    def action_replay_start(self) -> None:
        """Back to the first event (pauses playing)."""
        self._set_playing(False)
        self.seek(0)

    def action_replay_end(self) -> None:
        """Show every event (pauses playing)."""
        self._set_playing(False)
        self.seek(len(self.player.events))

    def action_replay_jump(self) -> None:
        """Ask for a turn number, then show the log up to that turn's start."""
        turns = self.player.cursor.turns
        if not turns:
            self.notify("This log has no turns to jump to.", severity="warning")
            return
        self._set_playing(False)
        current = max(1, self.player.cursor.current_turn)
        self.app.push_screen(NumberPromptScreen("Jump to turn", 1, turns, initial=current,
                                                hint=f"A turn from 1 to {turns:,} (now at turn {current:,})."),
                             self._jump_to_turn)

    def _jump_to_turn(self, n: int | None) -> None:
        if n is not None:
            self.seek(self.player.target_of_turn(n))

    def action_replay_close(self) -> None:
        """Close the replay (when it was opened from the session browser)."""
        if self.closable:
            self._set_playing(False)
            self.dismiss(None)

    def _refuse(self) -> None:
        """What the live controls do in a replay: explain."""
        super().notify("This is a replay: decisions in it are history and cannot be made or changed. "
                       "To continue the run live, resume it (F2, then r).", severity="warning", timeout=6)

    # -- which controls apply ----------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Replay controls apply; live ones are accepted only to explain that this is a replay."""
        if action in NOT_LIVE_HERE:
            return True
        if action == "replay_close":
            return self.closable
        return super().check_action(action, parameters)

    @property
    def active_bindings(self) -> dict[str, Any]:
        """The bindings the footer shows: not the live controls, which do nothing here."""
        return {key: b for key, b in super().active_bindings.items()
                if not (b.node is self and b.binding.action in NOT_LIVE_HERE)}

    def command_entries(self) -> list[tuple[str, str, str]]:
        """Palette entries: the replay's controls."""
        return [(a.name, a.title or a.label, a.text) for a in palette(Where.REPLAY, replay=True)
                if self.check_action(a.name, ()) is True]


for _spec in refused_in_replay():  # their keys explain instead of acting
    setattr(ReplayScreen, f"action_{_spec.name}", ReplayScreen._refuse)


def replay_banner(log: SessionLog) -> str:
    """The line above a replay: the file, the team and the task."""
    header = log.header
    text = f"REPLAY of {log.path.name} · team {header.team} · {one_line(header.task, 80)}"
    if header.forked_from:
        text += f" · forked at event {header.forked_from.at_event}"
    if log.notice:
        text += " · ⚠ damaged log (see the notice)"
    return text
