"""One agent's pane: a header (name, model, state, tokens, cost) above its transcript."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from tuiagents.ui.safe_text import inert
from tuiagents.ui.state import STATE_GLYPH, WAITING, AgentView
from tuiagents.ui.widgets.transcript import Transcript


def format_tokens(n: int) -> str:
    """Token count for headers: 950, 12.3k, 1.2M."""
    if n < 10_000:
        return f"{n:,}"
    if n < 1_000_000:
        return f"{n / 1000:.1f}k"
    return f"{n / 1_000_000:.1f}M"


def format_cost(cost: float) -> str:
    """USD for headers: $0.0012, $1.23."""
    return f"${cost:.4f}" if cost < 1 else f"${cost:,.2f}"


class PaneHeader(Static):
    """Two lines: name and model; state, tokens and cost."""

    DEFAULT_CSS = """
    PaneHeader { height: 2; padding: 0 1; background: $panel; color: $foreground; }
    PaneHeader.-waiting { background: $warning 30%; }
    PaneHeader.-active { background: $primary 25%; }
    """

    def show(self, view: AgentView, active: bool = False) -> None:
        """Render `view`; `active` marks the agent whose turn it is."""
        name = Text(no_wrap=True, overflow="ellipsis")
        name.append(inert(view.name), "bold")
        detail = view.info.model or ("human" if view.info.kind == "user_proxy" else view.info.kind)
        if view.info.code_execution and view.info.code_execution != "none":
            detail += f" · runs code ({view.info.code_execution})"
        name.append(f"  {inert(detail)}", "dim")
        status = Text(no_wrap=True, overflow="ellipsis")
        status.append(f"{STATE_GLYPH.get(view.state, '·')} {view.state}",
                      "bold" if view.state == WAITING else "")
        status.append(f"  {format_tokens(view.tokens)} tok  {format_cost(view.cost)}", "dim")
        self.set_class(view.state == WAITING, "-waiting")
        self.set_class(active and view.state != WAITING, "-active")
        self.update(Text("\n").join([name, status]))


class AgentPane(Vertical):
    """The pane of one agent: `header` and `transcript`."""

    DEFAULT_CSS = """
    AgentPane { width: 1fr; height: 1fr; border-right: vkey $panel-lighten-2; }
    AgentPane:last-of-type { border-right: none; }
    AgentPane > Transcript { height: 1fr; }
    """

    def __init__(self, agent: str, *, code_style: str, agent_slots: dict[str, int], id: str | None = None) -> None:
        super().__init__(id=id)
        self.agent = agent
        self.header = PaneHeader()
        self.transcript = Transcript(code_style=code_style, agent_slots=agent_slots)

    def compose(self) -> ComposeResult:
        """Header then transcript."""
        yield self.header
        yield self.transcript
