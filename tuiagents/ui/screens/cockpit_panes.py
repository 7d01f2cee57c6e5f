"""The cockpit's agent panes: side by side up to four, tabs with state badges beyond; a pane made
when an agent first speaks (one of a stage or a nested chat the run's start did not name); in a
sequence only the running stage's panes shown; which pane a request or a notice is in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.containers import Container, Horizontal
from textual.content import Content
from textual.widgets import ContentSwitcher, TabbedContent, TabPane

from tuiagents.engine.events import AgentInfo
from tuiagents.ui.safe_text import one_line
from tuiagents.ui.state import STATE_GLYPH, WAITING, AgentView, CockpitState, Waiting
from tuiagents.ui.widgets.agent_pane import AgentPane

MAX_SIDE_BY_SIDE = 4


class CockpitPanes:
    """Mixin of the cockpit's panes; the screen it is mixed into provides what is declared here."""

    # Declared, not defined: `CockpitScreen` sets them (this module does not import it, which
    # would be an import circle).
    state: CockpitState
    waiting: Waiting
    code_style: str
    #: agent name -> its pane, in the order made
    panes: dict[str, AgentPane]
    #: agent name -> its colour slot, shared with every transcript
    agent_slots: dict[str, int]
    #: the panes' container (a Horizontal, or TabbedContent beyond four), once agents are known
    _pane_root: Any
    is_mounted: bool
    query: Callable[..., Any]
    query_one: Callable[..., Any]

    def _build_panes(self) -> Any:
        """Create the panes for the known agents (once): side by side, or tabs beyond four."""
        if self._pane_root is not None or not self.state.agents:
            return self._pane_root
        names = list(self.state.agents)
        for name in names:
            self.panes[name] = AgentPane(name, code_style=self.code_style, agent_slots=self.agent_slots,
                                         id=f"pane-{len(self.panes)}")
        panes = [self.panes[n] for n in names]
        if len(panes) <= MAX_SIDE_BY_SIDE:
            self._pane_root = Horizontal(*panes, id="panes")
        else:
            tabs = TabbedContent(id="pane-tabs")
            for i, pane in enumerate(panes):
                tabs.compose_add_child(TabPane(self._badge(pane.agent), pane, id=f"tab-{i}"))
            self._pane_root = tabs
        return self._pane_root

    def _ensure_panes(self, infos: list[AgentInfo]) -> None:
        """Create the panes once the agents are known (replay learns them from RunStarted)."""
        for info in infos:
            self.state.agents.setdefault(info.name, AgentView(info=info))
            self.agent_slots.setdefault(info.name, len(self.agent_slots))
        if self._pane_root is None and self._build_panes() is not None and self.is_mounted:
            self.query_one("#panes-host", Container).mount(self._pane_root)

    def _ensure_pane(self, agent: str) -> None:
        """Give an agent that speaks for the first time a pane (one of a stage or a nested chat
        that the run's start did not name): beside the others, or as one more tab."""
        if agent in self.panes or agent not in self.state.agents:
            return
        self.agent_slots.setdefault(agent, len(self.agent_slots))
        if self._pane_root is None:
            self._ensure_panes([])
            return
        pane = AgentPane(agent, code_style=self.code_style, agent_slots=self.agent_slots,
                         id=f"pane-{len(self.panes)}")
        self.panes[agent] = pane
        if isinstance(self._pane_root, TabbedContent):
            self._pane_root.add_pane(TabPane(self._badge(agent), pane, id=f"tab-{len(self.panes) - 1}"))
        else:
            self._pane_root.mount(pane)

    def _in_nested_chat(self, chat: str) -> bool:
        """True when `chat` is a nested chat (or runs inside one)."""
        return any(c.started.scope == "nested" for c in self.state.chat_path(chat))

    def _pane_for(self, agent: str, chat: str) -> str:
        """Whose pane shows `agent`'s request in `chat`: inside a nested chat, its owner's (the block)."""
        nested = next((c for c in self.state.chat_path(chat) if c.started.scope == "nested"), None)
        return nested.started.owner if nested is not None and nested.started.owner else agent

    def _badge(self, agent: str) -> Content:
        """A tab label: state glyph, name, and ⏳ while the agent waits for you (plain text)."""
        state = self.waiting.agent_state(agent) or "idle"
        return Content(f"{STATE_GLYPH.get(state, '·')} {one_line(agent, 20)}" + (" ⏳" if state == WAITING else ""))

    def _show_pane_states(self) -> None:
        """Each pane's header and tab badge: what its agent does now, as `waiting` shows it."""
        for name, pane in self.panes.items():
            view = self.state.agents.get(name)
            if view is not None:
                pane.header.show(view, active=name == self.state.speaker and not self.state.stopped,
                                 state=self.waiting.agent_state(name))
        tabs = self.query("#pane-tabs")
        if tabs:
            tabbed = tabs.first(TabbedContent)
            for i, name in enumerate(self.panes):
                try:
                    tabbed.get_tab(f"tab-{i}").label = self._badge(name)
                except Exception:  # noqa: BLE001 - tabs not composed yet
                    pass

    def _show_stage_panes(self) -> None:
        """In a sequence, show the panes of the stage that runs (or ran last); the others fold
        away with their stage (the strip opens them)."""
        stages = [c for c in self.state.chats.values() if c.started.scope == "stage"]
        if not stages or isinstance(self._pane_root, TabbedContent):
            return
        stage = self.state.open_stage() or stages[-1]
        names = {a.name for a in stage.started.agents}
        for name, pane in self.panes.items():
            pane.display = name in names

    def _in_sight(self, agent: str | None) -> bool:
        """True when `agent`'s pane is on screen now, so a notice there needs no toast besides."""
        if agent not in self.panes or self.query_one("#views", ContentSwitcher).current != "panes-host":
            return False
        tabs = self.query("#pane-tabs")
        return not tabs or tabs.first(TabbedContent).active == f"tab-{list(self.panes).index(agent)}"

    def _reveal(self, agent: str) -> None:
        """Bring `agent`'s pane into view (its tab, when panes are tabs)."""
        tabs = self.query("#pane-tabs")
        names = list(self.panes)
        if tabs and agent in names:
            tabs.first(TabbedContent).active = f"tab-{names.index(agent)}"
