"""The blocks a transcript shows: messages, streams, code blocks with their output, notices.

An entry is plain data plus a `renderable(ctx)` method that builds a Rich renderable for a given
look (`RenderContext`: code style and named styles from the theme). The transcript widget turns the
renderable into cached line strips, and only for entries that are visible. `estimate(width)` gives a
cheap height guess for entries that have not been rendered yet, so a long conversation costs almost
nothing until it is scrolled into view. Every piece of untrusted text goes through
:func:`~tuiagents.ui.safe_text.inert` and is never parsed as Rich markup; messages and code are
rendered by :mod:`tuiagents.render.message`, the renderer the request box and the exports share, and
long ones are cut with a line that opens all of it (a click, or the `show_full` key).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from rich.console import Group, RenderableType
from rich.style import Style
from rich.text import Text

from tuiagents.render.message import Cut, code_renderable, cut_for_view, message_renderable, more_text
from tuiagents.ui.safe_text import inert

_keys = itertools.count(1)

OUTPUT_TAIL_LINES = 12  # lines of code output shown under a block
OUTPUT_TAIL_CHARS = 4_000  # and at most this many characters of them
CHUNK_CHARS = 8_000  # the full view of a long text is cut into entries of about this size


@dataclass
class RenderContext:
    """How entries look right now: Pygments style for code, and named Rich styles from the theme."""

    code_style: str = "monokai"
    styles: Callable[[str], Style] = lambda name: Style()
    agent_slot: Callable[[str], int] = lambda name: 0
    full_key: str = "v"  # the key that shows a cut entry in full

    def style(self, name: str) -> Style:
        """The Rich style of a component class suffix such as ``"muted"`` or ``"agent-2"``."""
        return self.styles(name)

    def more(self, key: str) -> Callable[[Cut], Text]:
        """The line under a cut text of entry `key`: clicking it (or the key) shows all of it."""
        def line(cut: Cut) -> Text:
            style = self.style("warning") + Style(meta={"@click": f"show_full('{key}')"})
            return more_text(cut, f"click here or press {self.full_key} to see all", style)
        return line


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
        """Header plus body: Markdown once final, plain text while streaming (cut when long)."""
        body: RenderableType
        empty = Text("(empty message)", style=ctx.style("muted"))
        if self.streaming:
            body = message_renderable(self.content, markdown=False, more=ctx.more(self.key))
            body = Group(body, Text("▍", ctx.style("cursor")))
        else:  # drafts, approved, edited and rejected (dimmed) messages: one renderer
            body = message_renderable(self.content, code_style=ctx.code_style, markdown=self.markdown,
                                      style=ctx.style("muted") if self.struck else "",
                                      more=ctx.more(self.key), empty=empty)
        notes = [Text(inert(n), style=ctx.style("code-title")) for n in self.notes]
        if not self.content.strip() and self.notes and not self.streaming:
            return Group(self.header(ctx), *notes, Text(""))
        return Group(self.header(ctx), body, *notes, Text(""))

    @property
    def is_cut(self) -> bool:
        """True when the view shows only part of the message."""
        return cut_for_view(self.content).cut

    def full_text(self) -> tuple[str, str]:
        """(title, text) of the full view."""
        return f"{self.sender}: the whole message", self.content

    def estimate(self, width: int) -> int:
        """Header + wrapped body + notes + gap."""
        notes = sum(_lines_estimate(n, width) for n in self.notes)
        cut = cut_for_view(self.content)
        return 2 + _lines_estimate(cut.text or " ", width) + notes + (1 if cut.cut else 0)

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
        code = code_renderable(self.code, self.language, code_style=ctx.code_style, more=ctx.more(self.key),
                               warning_style=ctx.style("error"))
        parts: list[RenderableType] = [title, code]
        if self.output:
            parts += self._output_tail(ctx)
        if self.result:
            parts.append(Text(self.result, style=ctx.style(self.result_tone)))
        parts.append(Text(""))
        return Group(*parts)

    def _output_tail(self, ctx: RenderContext) -> list[RenderableType]:
        """The last lines of the output (at most OUTPUT_TAIL_CHARS characters), and what is left out."""
        output = self.output.rstrip("\n")
        tail = output[-OUTPUT_TAIL_CHARS:]
        lines = tail.split("\n")
        if len(tail) < len(output) and len(lines) > 1:
            lines = lines[1:]  # drop the partial first line when a line end is near
        lines = lines[-OUTPUT_TAIL_LINES:]
        shown = "\n".join(lines)
        hidden = output[: len(output) - len(shown)]
        out: list[RenderableType] = []
        if hidden:
            n = hidden.count("\n")
            what = f"{n} earlier line{'s' if n != 1 else ''}" if n else f"{len(hidden):,} earlier characters"
            click = Style(meta={"@click": f"show_full('{self.key}')"})
            out.append(Text(f"  … {what} — click here or press {ctx.full_key} to see all",
                            style=ctx.style("muted") + click))
        out.append(Text(inert(shown), style=ctx.style("output")))
        return out

    @property
    def is_cut(self) -> bool:
        """True when the view shows only part of the code or of its output."""
        output = self.output.rstrip("\n")
        return cut_for_view(self.code).cut or output.count("\n") >= OUTPUT_TAIL_LINES \
            or len(output) > OUTPUT_TAIL_CHARS

    def full_text(self) -> tuple[str, str]:
        """(title, text) of the full view: the code, then its output."""
        text = self.code + (f"\n\n── output ──\n{self.output}" if self.output else "")
        return f"{self.language or 'code'} from {self.agent}: all of it", text

    def estimate(self, width: int) -> int:
        """Title, code, tail, result, gap."""
        out = min(OUTPUT_TAIL_LINES + 1, _lines_estimate(self.output[-OUTPUT_TAIL_CHARS:], width)) if self.output else 0
        cut = cut_for_view(self.code)
        return 2 + _lines_estimate(cut.text or " ", width) + out + (1 if self.result else 0) + (1 if cut.cut else 0)

    def plain_text(self) -> str:
        """Language, status, code, output and result."""
        return "\n".join(x for x in (f"{self.language} {self.status}", self.code, self.output, self.result) if x)


@dataclass(eq=False)
class TextChunkEntry(Entry):
    """A piece of a long text in the full view: plain inert text, no gap after it. A piece cut in
    the middle of a line ends with a dim ``↪`` (the line goes on in the next row, no line break)."""

    text: str = ""
    continues: bool = False

    def renderable(self, ctx: RenderContext) -> RenderableType:
        """The piece, inert."""
        text = Text(inert(self.text))
        if self.continues:
            text.append("↪", ctx.style("muted"))
        return text

    def estimate(self, width: int) -> int:
        """Wrapped rows."""
        return _lines_estimate(self.text or " ", width)

    def plain_text(self) -> str:
        """The piece."""
        return self.text


def chunks(text: str, size: int = CHUNK_CHARS) -> list[tuple[str, bool]]:
    """`text` cut into pieces of about `size` characters, at line ends where there are some, so
    each piece renders on its own and the pieces together show every character and line; each
    piece comes with True when it ends in the middle of a line."""
    out: list[tuple[str, bool]] = []
    start, n = 0, len(text)
    while start < n:
        end = min(n, start + size)
        if end < n:
            nl = text.rfind("\n", start, end)
            if nl > start:
                end = nl  # the line break between two pieces is the break between their rows
        at_break = end >= n or text[end] == "\n"
        out.append((text[start:end], not at_break))
        if end < n and text[end] == "\n":
            start = end + 1
            if start == n:  # the text ends with the line break just taken: an empty last row
                out.append(("", False))
        else:
            start = end
    return out or [("", False)]
