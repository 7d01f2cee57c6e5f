"""One agent's pane: a header (name, model, state, tokens, cost) above its transcript."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from tuiagents.engine.usage import format_cost
from tuiagents.ui.safe_text import inert
from tuiagents.ui.state import STATE_GLYPH, WAITING, AgentState, AgentView
from tuiagents.ui.widgets.transcript import Transcript


def format_tokens(n: int) -> str:
    """Token count for headers: 950, 12.3k, 1.2M."""
    if n < 10_000:
        return f"{n:,}"
    if n < 1_000_000:
        return f"{n / 1000:.1f}k"
    return f"{n / 1_000_000:.1f}M"


class PaneHeader(Static):
    """Two lines: name and model; state, tokens and cost. Three when the pane is narrow.

    A narrow pane gives tokens and cost a line of their own rather than cutting them; the
    model is what gets cut first, never the name or the state (waiting for you).
    """

    DEFAULT_CSS = """
    PaneHeader { height: 2; padding: 0 1; background: $panel; color: $foreground;
                 text-wrap: nowrap; text-overflow: ellipsis; }
    PaneHeader.-narrow { height: 3; }
    PaneHeader.-waiting { background: $warning 30%; }
    PaneHeader.-active { background: $primary 25%; }
    """

    def show(self, view: AgentView, active: bool = False, state: AgentState | None = None) -> None:
        """Render `view`; `active` marks the agent whose turn it is; `state`: what it is shown doing,
        when not the fold's (an answer given here that the run has not recorded yet)."""
        shown = view.state if state is None else state
        name = Text(no_wrap=True, overflow="ellipsis")
        name.append(inert(view.name), "bold")
        detail = view.info.model or ("human" if view.info.kind == "user_proxy" else view.info.kind)
        if view.info.code_execution and view.info.code_execution != "none":
            detail += f" · runs code ({view.info.code_execution})"
        name.append(f"  {inert(detail)}", "dim")
        doing = Text(f"{STATE_GLYPH.get(shown, '·')} {shown}", "bold" if shown == WAITING else "",
                     no_wrap=True, overflow="ellipsis")
        totals = Text(f"{format_tokens(view.tokens)} tok  {format_cost(view.cost)}", "dim",
                      no_wrap=True, overflow="ellipsis")
        self._last = (view, active, state)
        width = self.size.width - 2  # padding 0 1
        narrow = 0 < width < doing.cell_len + 2 + totals.cell_len
        self.set_class(narrow, "-narrow")
        self.set_class(shown == WAITING, "-waiting")
        self.set_class(active and shown != WAITING, "-active")
        if narrow:
            lines = [name, doing, totals]
        else:
            status = Text(no_wrap=True, overflow="ellipsis")
            status.append(doing.plain, doing.style)
            status.append(f"  {totals.plain}", "dim")
            lines = [name, status]
        # each line is cut with an ellipsis, never wrapped onto the next (which would push it out)
        self.update(Text("\n", no_wrap=True, overflow="ellipsis").join(lines))

    def on_resize(self) -> None:
        """Fit the lines to the new width."""
        last = getattr(self, "_last", None)
        if last is not None:
            self.show(*last)


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
