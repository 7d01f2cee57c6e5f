"""The blocks a transcript shows: messages, streams, code blocks with their output, notices.

An entry is plain data plus a `renderable(ctx)` method that builds a Rich renderable for a given
look (`RenderContext`: code style and named styles from the theme). The transcript widget turns the
renderable into cached line strips, and only for entries that are visible. `estimate(width)` gives a
cheap height guess for entries that have not been rendered yet, so a long conversation costs almost
nothing until it is scrolled into view. Every piece of untrusted text goes through
:func:`~tuiagents.ui.safe_text.inert` and is never parsed as Rich markup.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from rich.console import Group, RenderableType
from rich.markdown import Markdown
from rich.style import Style
from rich.syntax import Syntax
from rich.text import Text

from tuiagents.ui.safe_text import inert

_keys = itertools.count(1)

OUTPUT_TAIL_LINES = 12  # lines of code output shown under a block


@dataclass
class RenderContext:
    """How entries look right now: Pygments style for code, and named Rich styles from the theme."""

    code_style: str = "monokai"
    styles: Callable[[str], Style] = lambda name: Style()
    agent_slot: Callable[[str], int] = lambda name: 0

    def style(self, name: str) -> Style:
        """The Rich style of a component class suffix such as ``"muted"`` or ``"agent-2"``."""
        return self.styles(name)


def _lines_estimate(text: str, width: int) -> int:
    """Rows `text` takes when wrapped at `width` (an estimate: word wrap may add a few)."""
    if width <= 0:
        return 1
    rows = 0
    for line in text.split("\n"):
        n = len(line)
        rows += 1 if n <= width else -(-n // width)
    return rows


@dataclass(eq=False)
class Entry:
    """Base of every transcript block; `version` changes whenever its look changes."""

    key: str = field(default_factory=lambda: f"e{next(_keys)}")
    version: int = 0

    def touch(self) -> None:
        """Mark the entry changed so the transcript renders it again."""
        self.version += 1

    def renderable(self, ctx: RenderContext) -> RenderableType:  # pragma: no cover - abstract
        """The Rich renderable of this entry."""
        raise NotImplementedError

    def estimate(self, width: int) -> int:  # pragma: no cover - abstract
        """A cheap guess of the rendered height at `width`, including the gap after it."""
        raise NotImplementedError

    def plain_text(self) -> str:
        """The entry as plain text (for tests, search and export)."""
        return ""


@dataclass(eq=False)
class MessageEntry(Entry):
    """A message: streamed (plain text while it grows), drafted, delivered, or a human message.

    `tags` are short labels shown after the sender (e.g. "draft", "edited by you", "→ coder ·
    queued for next turn"); `tone` picks their colour ("muted", "warning", "error", "success").
    """

    sender: str = ""
    content: str = ""
    streaming: bool = False
    markdown: bool = True
    tags: list[str] = field(default_factory=list)
    tone: str = "muted"
    human: bool = False
    struck: bool = False  # a rejected draft: shown dimmed
    notes: list[str] = field(default_factory=list)  # tool calls and results, shown as plain lines

    def header(self, ctx: RenderContext) -> Text:
        """The first line: sender name then tags."""
        name_style = ctx.style("human") if self.human else ctx.style(f"agent-{ctx.agent_slot(self.sender) % 6}")
        head = Text(no_wrap=True, overflow="ellipsis")
        head.append("● " if not self.human else "◆ ", name_style)
        head.append(inert(self.sender) or "?", name_style)
        for tag in self.tags:
            head.append("  ")
            head.append(inert(tag), ctx.style(self.tone))
        return head

    def renderable(self, ctx: RenderContext) -> RenderableType:
        """Header plus body: Markdown once final, plain text while streaming."""
        body: RenderableType
        text = inert(self.content)
        if self.streaming or not self.markdown:
            body = Text(text, style=ctx.style("muted") if self.struck else "")
            if self.streaming:
                body.append("▍", ctx.style("cursor"))
        elif not text.strip():
            body = Text("(empty message)", style=ctx.style("muted"))
        else:
            body = Markdown(text, code_theme=ctx.code_style, hyperlinks=False)
            if self.struck:
                body = Group(Text(text, style=ctx.style("muted")))
        notes = [Text(inert(n), style=ctx.style("code-title")) for n in self.notes]
        if not self.content.strip() and self.notes and not self.streaming:
            return Group(self.header(ctx), *notes, Text(""))
        return Group(self.header(ctx), body, *notes, Text(""))

    def estimate(self, width: int) -> int:
        """Header + wrapped body + notes + gap."""
        notes = sum(_lines_estimate(n, width) for n in self.notes)
        return 2 + _lines_estimate(self.content or " ", width) + notes

    def plain_text(self) -> str:
        """Sender, tags and content."""
        tags = "  ".join(self.tags)
        return f"{self.sender}  {tags}\n{self.content}".rstrip()


@dataclass(eq=False)
class NoticeEntry(Entry):
    """A one-line note: a decision, a notice from the engine, a speaker choice."""

    text: str = ""
    tone: str = "muted"

    def renderable(self, ctx: RenderContext) -> RenderableType:
        """The note, inert, in its tone."""
        return Group(Text("· " + inert(self.text), style=ctx.style(self.tone)), Text(""))

    def estimate(self, width: int) -> int:
        """Wrapped text plus the gap."""
        return 1 + _lines_estimate("· " + self.text, width)

    def plain_text(self) -> str:
        """The note's text."""
        return self.text


@dataclass(eq=False)
class CodeEntry(Entry):
    """A proposed code block: highlighted, with language and executor; output tails under it."""

    agent: str = ""
    language: str = "text"
    code: str = ""
    executor: str | None = None
    status: str = "awaiting approval"
    tone: str = "warning"
    output: str = ""
    result: str = ""  # "exit 0 · 1.2 s" once finished
    result_tone: str = "success"
    exec_id: str | None = None

    def renderable(self, ctx: RenderContext) -> RenderableType:
        """Title line, the code, the output tail and the result line."""
        title = Text(no_wrap=True, overflow="ellipsis")
        title.append(f"▌ {inert(self.language) or 'code'}", ctx.style("code-title"))
        title.append(f"  {self.status}", ctx.style(self.tone))
        if self.executor:
            title.append(f"  on {inert(self.executor)}", ctx.style("muted"))
        lexer = self.language if self.language not in ("", "text", "console") else "text"
        try:
            code: RenderableType = Syntax(inert(self.code).rstrip("\n") or " ", lexer, theme=ctx.code_style,
                                          word_wrap=True, line_numbers=False)
        except Exception:  # noqa: BLE001 - an unknown lexer or style must never crash the view
            code = Text(inert(self.code))
        parts: list[RenderableType] = [title, code]
        if self.output:
            lines = inert(self.output).rstrip("\n").split("\n")
            cut = len(lines) - OUTPUT_TAIL_LINES
            if cut > 0:
                parts.append(Text(f"  … {cut} earlier line{'s' if cut > 1 else ''}", style=ctx.style("muted")))
                lines = lines[-OUTPUT_TAIL_LINES:]
            parts.append(Text("\n".join(lines), style=ctx.style("output")))
        if self.result:
            parts.append(Text(self.result, style=ctx.style(self.result_tone)))
        parts.append(Text(""))
        return Group(*parts)

    def estimate(self, width: int) -> int:
        """Title, code, tail, result, gap."""
        out = min(OUTPUT_TAIL_LINES + 1, _lines_estimate(self.output, width)) if self.output else 0
        return 2 + _lines_estimate(self.code or " ", width) + out + (1 if self.result else 0)

    def plain_text(self) -> str:
        """Language, status, code, output and result."""
        return "\n".join(x for x in (f"{self.language} {self.status}", self.code, self.output, self.result) if x)
