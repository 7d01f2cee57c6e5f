"""The Rich renderables of a message and of proposed code, the same in panes, timeline and request box.

`message_renderable` renders a message under the rules of :mod:`tuiagents.render.markdown` (or as
plain inert text for output and tool results). `code_renderable` highlights code with every hidden
character made visible and a warning line above it when there is one. Both cut long text for the
view (`cut_for_view`): the first part is shown with a line saying how much more there is, and the
caller decides how a person gets to the rest; the log and the exports always keep all of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from markdown_it.token import Token
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.markdown import CodeBlock, ListElement, ListItem, Markdown, TableElement
from rich.segment import Segment
from rich.style import Style
from rich.syntax import Syntax
from rich.text import Text

from tuiagents.render.markdown import parse_checked
from tuiagents.text import hidden_warning, inert

#: A message longer than this (characters or lines) is cut in the view.
VIEW_CHARS = 12_000
VIEW_LINES = 300


@dataclass(frozen=True)
class Cut:
    """The part of a text a view shows, and how much it leaves out."""

    text: str
    hidden_chars: int = 0
    hidden_lines: int = 0

    @property
    def cut(self) -> bool:
        """True when something is left out."""
        return self.hidden_chars > 0


def cut_for_view(text: str, max_chars: int = VIEW_CHARS, max_lines: int = VIEW_LINES) -> Cut:
    """The first `max_lines` lines and at most `max_chars` characters of `text`, cut at a line end
    when one is near, and how much is left out."""
    if len(text) <= max_chars and text.count("\n", 0, max_chars + 1) < max_lines:
        return Cut(text)
    end = min(len(text), max_chars)
    nl = -1
    for _ in range(max_lines):
        nl = text.find("\n", nl + 1, end)
        if nl < 0:
            break
    else:
        end = nl
    if end == max_chars:  # cut inside a line: back to its start when that keeps most of the text
        start = text.rfind("\n", 0, end)
        if start > max_chars // 2:
            end = start
    rest = text[end:]
    return Cut(text[:end], len(rest), rest.count("\n") + (1 if rest and not rest.startswith("\n") else 0))


def more_text(cut: Cut, how: str = "", style: Style | str = "") -> Text:
    """The line under a cut text: "… 4,980,000 more characters (2 lines) — <how>"."""
    lines = f" ({cut.hidden_lines:,} more line{'s' if cut.hidden_lines != 1 else ''})" if cut.hidden_lines > 1 else ""
    return Text(f"… {cut.hidden_chars:,} more character{'s' if cut.hidden_chars != 1 else ''}{lines}"
                + (f" — {how}" if how else ""), style=style)


class _ListItem(ListItem):
    """A list item that shows the number exactly as typed ("007)" stays "007)"), even when empty."""

    marker = ""

    @classmethod
    def create(cls, markdown: Markdown, token: Token) -> "_ListItem":
        item = cls()
        item.marker = f"{token.info}{token.markup}" if token.info else ""
        return item

    def render_marker(self, console: Console, options: ConsoleOptions, marker: str, width: int) -> RenderResult:
        """The item's lines with `marker` (padded to `width`) before the first."""
        lines = console.render_lines(self.elements, options.update(width=max(1, options.max_width - width)),
                                     style=self.style) or [[]]
        style = console.get_style("markdown.item.number", default="none")
        padding = Segment(" " * width, style)
        for i, line in enumerate(lines):
            yield Segment(marker.rjust(width - 1) + " ", style) if i == 0 else padding
            yield from line
            yield Segment("\n")


class _List(ListElement):
    """A list whose items keep their typed numbers."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        items = [i for i in self.items if isinstance(i, _ListItem)]
        if self.list_type == "bullet_list_open":
            for item in items:
                yield from item.render_marker(console, options, " •", 3)
            return
        number = 1 if self.list_start is None else self.list_start
        markers = [item.marker or f"{number + k}." for k, item in enumerate(items)]
        width = max((len(m) for m in markers), default=2) + 2
        for item, marker in zip(items, markers):
            yield from item.render_marker(console, options, marker, width)


class _CodeBlock(CodeBlock):
    """A fenced block that shows its info string (the language, and anything after it) above the code."""

    info = ""

    @classmethod
    def create(cls, markdown: Markdown, token: Token) -> "_CodeBlock":
        block = cls((token.info or "").partition(" ")[0] or "text", markdown.code_theme)
        block.info = (token.info or "").strip()
        return block

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.info:
            yield Text(self.info, style="dim")
        yield from super().__rich_console__(console, options)


class _Table(TableElement):
    """A table whose cells wrap (fold) instead of cutting text with an ellipsis."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for table in super().__rich_console__(console, options):
            for column in table.columns:
                column.overflow = "fold"
            yield table


class MessageMarkdown(Markdown):
    """Rich's Markdown renderable fed by our parser (raw HTML as text, line breaks kept)."""

    elements = {**Markdown.elements, "bullet_list_open": _List, "ordered_list_open": _List,
                "list_item_open": _ListItem, "fence": _CodeBlock, "code_block": _CodeBlock,
                "table_open": _Table}

    def __init__(self, text: str, tokens: list[Token], code_theme: str = "monokai",
                 style: Style | str = "none") -> None:
        super().__init__("", code_theme=code_theme, hyperlinks=False, style=style or "none")
        self.markup = text
        self.parsed = tokens


def message_renderable(text: str, *, code_style: str = "monokai", markdown: bool = True,
                       style: Style | str = "", more: Callable[[Cut], Text] | None = None,
                       empty: Text | None = None, max_chars: int = VIEW_CHARS,
                       max_lines: int = VIEW_LINES) -> RenderableType:
    """A message body: Markdown (or plain inert text), cut for the view; `more(cut)` (a line saying
    how to see the rest) is added when the text is cut, and `empty` is shown for a blank message."""
    cut = cut_for_view(text, max_chars, max_lines)
    shown = cut.text
    if not shown.strip():
        if empty is not None and not cut.cut:
            return empty
    body: RenderableType
    tokens = parse_checked(shown) if markdown and shown.strip() else None
    if tokens is not None:
        body = MessageMarkdown(shown, tokens, code_theme=code_style, style=style)
    else:  # plain text: asked for, or Markdown would lose some of it
        body = Text(inert(shown), style=style)
    if not cut.cut:
        return body
    return Group(body, more(cut) if more is not None else more_text(cut, style="dim"))


def code_renderable(code: str, language: str, *, code_style: str = "monokai", line_numbers: bool = False,
                    more: Callable[[Cut], Text] | None = None,
                    warning_style: Style | str = "bold red") -> RenderableType:
    """Highlighted code, every hidden character visible, a warning line above it when there are any,
    cut for the view like a message."""
    parts: list[RenderableType] = []
    warning = hidden_warning(code)
    if warning:
        parts.append(Text(warning, style=warning_style))
    cut = cut_for_view(code)
    shown = inert(cut.text).rstrip("\n") or " "
    lexer = language if language not in ("", "text", "console") else "text"
    try:
        parts.append(Syntax(shown, lexer, theme=code_style, word_wrap=True, line_numbers=line_numbers))
    except Exception:  # noqa: BLE001 - an unknown lexer or style must never break the view
        parts.append(Text(shown))
    if cut.cut:
        parts.append(more(cut) if more is not None else more_text(cut, style="dim"))
    return Group(*parts) if len(parts) > 1 else parts[0]
