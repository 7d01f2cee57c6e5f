"""A virtualised transcript: renders only the entries on screen, caching their lines per width.

`Transcript` is a Line API `ScrollView`. It holds a list of `Entry` objects and a height for each:
exact for entries already rendered at the current width, a cheap estimate otherwise. Drawing a line
looks its entry up by binary search, renders the entry to strips once (Rich → `Strip`) and keeps the
strips until the entry changes, the width changes or the theme changes. So 10,000 messages cost 10,000
estimates, not 10,000 Markdown renders, and the first paint touches only what is visible.

It follows the end of the conversation while scrolled to the bottom and stays put when scrolled up.
What a person does with what it shows (fold a nested chat, open a cut entry in full) is
`TranscriptReading`'s.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterable
from itertools import accumulate
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tuiagents.render.message import VIEW_CHARS, VIEW_LINES, cut_for_view
from tuiagents.ui.bindings import TRANSCRIPT_BINDINGS
from tuiagents.ui.entries import Entry, MessageEntry, RenderContext
from tuiagents.ui.safe_text import inert
from tuiagents.ui.widgets.transcript_reading import TranscriptReading


class _Slot:
    """Render cache of one entry: strips for (width, version, look)."""

    __slots__ = ("height", "hwidth", "look", "stream", "strips", "version", "width")

    def __init__(self) -> None:
        self.strips: list[Strip] | None = None
        self.width = -1
        self.version = -1
        self.look = -1
        self.height = 0
        self.hwidth = -1  # width at which `height` was computed
        self.stream: Any = None  # streaming message: (width, look, chars done, header strips, line strips)


class Transcript(TranscriptReading, ScrollView, can_focus=True):
    """A scrollable list of entries that renders only what is visible."""

    BINDINGS = TRANSCRIPT_BINDINGS

    class ShowFull(Message):
        """All of a long entry is wanted (its title and text): the app opens the full view."""

        def __init__(self, title: str, text: str) -> None:
            super().__init__()
            self.title = title
            self.text = text

    COMPONENT_CLASSES = {
        "transcript--muted", "transcript--warning", "transcript--error", "transcript--success",
        "transcript--human", "transcript--cursor", "transcript--code-title", "transcript--output",
        "transcript--agent-0", "transcript--agent-1", "transcript--agent-2", "transcript--agent-3",
        "transcript--agent-4", "transcript--agent-5",
    }

    DEFAULT_CSS = """
    Transcript { background: $surface; color: $foreground; overflow-x: hidden; overflow-y: auto; }
    Transcript:focus { background-tint: $foreground 3%; }
    Transcript > .transcript--muted { color: $text-muted; }
    Transcript > .transcript--warning { color: $warning; text-style: bold; }
    Transcript > .transcript--error { color: $error; text-style: bold; }
    Transcript > .transcript--success { color: $success; }
    Transcript > .transcript--human { color: $accent; text-style: bold; }
    Transcript > .transcript--cursor { color: $accent; }
    Transcript > .transcript--code-title { color: $secondary; text-style: bold; }
    Transcript > .transcript--output { color: $foreground 80%; }
    Transcript > .transcript--agent-0 { color: $primary; text-style: bold; }
    Transcript > .transcript--agent-1 { color: $secondary; text-style: bold; }
    Transcript > .transcript--agent-2 { color: $success; text-style: bold; }
    Transcript > .transcript--agent-3 { color: $warning; text-style: bold; }
    Transcript > .transcript--agent-4 { color: $accent; text-style: bold; }
    Transcript > .transcript--agent-5 { color: $error; text-style: bold; }
    """

    MAX_CACHED = 1500  # entries whose rendered lines are kept

    def __init__(self, *, code_style: str = "monokai", agent_slots: dict[str, int] | None = None,
                 name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._entries: list[Entry] = []
        self._slots: list[_Slot] = []
        self._index: dict[str, int] = {}
        self._offsets: list[int] = [0]
        self._offsets_dirty = False
        self._width = 0
        self._look = 0
        self._layout_pending = False
        self.follow = True
        self._code_style = code_style
        self._agent_slots = agent_slots if agent_slots is not None else {}
        self._style_cache: dict[str, Style] = {}
        self.renders = 0  # entries rendered to strips (for benchmarks and tests)
        self._cached: OrderedDict[int, None] = OrderedDict()  # entries holding strips, oldest first

    # -- public API ---------------------------------------------------------------------------
    @property
    def entries(self) -> list[Entry]:
        """The entries, oldest first (read only; change them through `add`/`changed`)."""
        return self._entries

    @property
    def count(self) -> int:
        """How many entries there are."""
        return len(self._entries)

    def get(self, key: str) -> Entry | None:
        """The entry with `key`, or None."""
        i = self._index.get(key)
        return None if i is None else self._entries[i]

    def add(self, entry: Entry) -> Entry:
        """Append `entry`; cheap (the entry is only estimated until it becomes visible)."""
        self._index[entry.key] = len(self._entries)
        self._entries.append(entry)
        slot = _Slot()
        if self._width > 0:
            slot.height, slot.hwidth = entry.estimate(self._width), self._width
        self._slots.append(slot)
        self._offsets_dirty = True
        self._schedule_layout()
        return entry

    def extend(self, entries: Iterable[Entry]) -> None:
        """Append many entries at once."""
        for entry in entries:
            self.add(entry)

    def changed(self, entry: Entry) -> None:
        """Tell the transcript that `entry` changed (also bumps its version)."""
        entry.touch()
        i = self._index.get(entry.key)
        if i is None:
            return
        slot = self._slots[i]
        if self._width > 0 and slot.strips is None:
            slot.height = entry.estimate(self._width)
            self._offsets_dirty = True
        self._schedule_layout()

    def clear(self) -> None:
        """Remove every entry."""
        self._entries.clear()
        self._slots.clear()
        self._cached.clear()
        self._index.clear()
        self._offsets = [0]
        self._offsets_dirty = False
        self.virtual_size = Size(self._width, 0)
        self.refresh()

    def set_code_style(self, style: str) -> None:
        """Use another Pygments style for code; everything is rendered again."""
        self._code_style = style
        self._invalidate_look()

    def text(self) -> str:
        """All entries as plain text (for tests)."""
        return "\n\n".join(e.plain_text() for e in self._entries)

    # -- look ---------------------------------------------------------------------------------
    def notify_style_update(self) -> None:
        """The theme or CSS changed: drop every cached render."""
        super().notify_style_update()
        self._invalidate_look()

    def _invalidate_look(self) -> None:
        self._look += 1
        self._style_cache.clear()
        self._schedule_layout()

    def _named_style(self, name: str) -> Style:
        style = self._style_cache.get(name)
        if style is None:
            try:
                style = self.get_component_rich_style(f"transcript--{name}")
            except KeyError:
                style = Style()
            self._style_cache[name] = style
        return style

    def _render_context(self) -> RenderContext:
        slots = self._agent_slots
        return RenderContext(code_style=self._code_style, styles=self._named_style,
                             agent_slot=lambda n: slots.setdefault(n, len(slots)), full_key=self._full_key())

    def _full_key(self) -> str:
        """The key shown in "press … to see all" (after a `[keymap]` remap of `show_full`)."""
        keymap = getattr(self.app, "keymap_overrides", {}) if self.is_attached else {}
        default = next((b.key for b in TRANSCRIPT_BINDINGS if b.id == "show_full"), "v")
        return str(keymap.get("show_full", default)).split(",")[0].strip()

    # -- layout -------------------------------------------------------------------------------
    def _schedule_layout(self) -> None:
        if not self._layout_pending and self.is_attached:
            self._layout_pending = True
            self.call_later(self._relayout)

    def on_mount(self) -> None:
        """Lay out once mounted."""
        self._schedule_layout()

    def on_resize(self) -> None:
        """A new width means new wraps: lay out again."""
        self._schedule_layout()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        """Scrolling measures newly visible entries and decides whether to follow the end."""
        super().watch_scroll_y(old_value, new_value)
        if not self._layout_pending:
            self.follow = new_value >= self.max_scroll_y - 0.5
            self._schedule_layout()

    def _content_width(self) -> int:
        return self.scrollable_content_region.width

    def _rebuild_offsets(self) -> None:
        if self._offsets_dirty:
            self._offsets = [0, *accumulate(s.height for s in self._slots)]
            self._offsets_dirty = False

    def _render_entry(self, i: int, width: int) -> list[Strip]:
        """Strips of entry `i` at `width`, from cache when nothing changed."""
        entry, slot = self._entries[i], self._slots[i]
        if slot.strips is not None and slot.width == width and slot.version == entry.version \
                and slot.look == self._look:
            return slot.strips
        base = self.rich_style
        try:
            if isinstance(entry, MessageEntry) and entry.streaming:
                strips = self._render_stream(entry, slot, width)
            else:
                strips = self._lines(entry.renderable(self._render_context()), width)
        except Exception as exc:  # noqa: BLE001 - a bad entry must never break the screen
            strips = [Strip([Segment(f"(cannot show this entry: {type(exc).__name__})", base)], width)]
        strips = strips or [Strip.blank(width, base)]
        self.renders += 1
        slot.strips, slot.width, slot.version, slot.look = strips, width, entry.version, self._look
        self._cached[i] = None
        self._cached.move_to_end(i)
        while len(self._cached) > self.MAX_CACHED:  # long scrolls: keep memory flat
            old, _ = self._cached.popitem(last=False)
            if old < len(self._slots):
                self._slots[old].strips = None  # its exact height stays; only the lines go
        if slot.height != len(strips) or slot.hwidth != width:
            slot.height, slot.hwidth = len(strips), width
            self._offsets_dirty = True
        return strips

    def _lines(self, renderable: Any, width: int) -> list[Strip]:
        console = self.app.console
        options = console.options.update(width=width, max_width=width, highlight=False, markup=False)
        return [Strip(line, width) for line in console.render_lines(renderable, options, style=self.rich_style,
                                                                      pad=True)]

    def _render_stream(self, entry: MessageEntry, slot: _Slot, width: int) -> list[Strip]:
        """A growing message: completed lines are rendered once and kept; only the last line is redone.

        Plain text wraps line by line, so appending strips for new lines gives exactly what rendering
        the whole text would, at a cost proportional to what arrived since the last flush.
        """
        ctx = self._render_context()
        content = entry.content
        if len(content) > VIEW_CHARS or content.count("\n", 0, VIEW_CHARS) >= VIEW_LINES:
            return self._render_long_stream(entry, slot, width, ctx)
        done = content.rfind("\n") + 1
        cache = slot.stream
        if cache is None or cache[0] != width or cache[1] != self._look or done < cache[2] or cache[2] < 0:
            cache = (width, self._look, 0, self._lines(entry.header(ctx), width), [])
        if done > cache[2]:
            fresh = "\n".join(line.rstrip("\r") for line in content[cache[2]:done - 1].split("\n"))
            cache = (width, self._look, done, cache[3], cache[4] + self._lines(Text(inert(fresh)), width))
        slot.stream = cache
        tail = Text(inert(content[done:]))
        tail.append("▍", ctx.style("cursor"))
        return [*cache[3], *cache[4], *self._lines(tail, width), Strip.blank(width, self.rich_style)]

    def _render_long_stream(self, entry: MessageEntry, slot: _Slot, width: int, ctx: RenderContext) -> list[Strip]:
        """A growing message past the view's limit: its shown part is rendered once and kept; only
        the line saying how much more has arrived changes."""
        cut = cut_for_view(entry.content)
        cache = slot.stream
        if cache is None or cache[0] != width or cache[1] != self._look or cache[2] != -len(cut.text):
            body = self._lines(Text(inert(cut.text)), width)
            cache = (width, self._look, -len(cut.text), self._lines(entry.header(ctx), width), body)
        slot.stream = cache
        more = self._lines(ctx.more(entry.key)(cut), width)
        return [*cache[3], *cache[4], *more, Strip.blank(width, self.rich_style)]

    def _measure(self, top: int, height: int, width: int) -> bool:
        """Render the entries overlapping rows [top, top+height); True if any height changed."""
        self._rebuild_offsets()
        offsets = self._offsets
        n = len(self._entries)
        i = max(0, bisect_right(offsets, top) - 1)
        changed = False
        while i < n and offsets[i] < top + height:
            before = self._slots[i].height
            self._render_entry(i, width)
            changed |= self._slots[i].height != before
            i += 1
        return changed

    def _relayout(self) -> None:
        """Estimate what is off screen, render what is on screen, then size and scroll."""
        self._layout_pending = False
        width = self._content_width()
        if width <= 0 or not self.is_attached:
            return
        if width != self._width:
            self._width = width
            for entry, slot in zip(self._entries, self._slots):
                if slot.hwidth != width:
                    slot.height, slot.hwidth = entry.estimate(width), width
            self._offsets_dirty = True
        follow = self.follow
        view = max(1, self.scrollable_content_region.height)
        for _ in range(6):
            self._rebuild_offsets()
            total = self._offsets[-1]
            top = max(0, total - view) if follow else min(int(self.scroll_y), max(0, total - view))
            if not self._measure(top, view, width):
                break
        self._rebuild_offsets()
        total = self._offsets[-1]
        self._layout_pending = True  # keep watch_scroll_y from flipping `follow` below
        try:
            self.virtual_size = Size(width, total)
            if follow:
                self.scroll_to(y=max(0, total - view), animate=False, immediate=True, force=True)
        finally:
            self._layout_pending = False
        self.refresh()

    # -- drawing ------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        """One visible row: find its entry, render the entry if needed, return the row."""
        width = self._content_width()
        base = self.rich_style
        row = int(self.scroll_y) + y
        self._rebuild_offsets()
        offsets = self._offsets
        if width <= 0 or row >= offsets[-1]:
            return Strip.blank(width, base)
        i = bisect_right(offsets, row) - 1
        start, height = offsets[i], self._slots[i].height
        strips = self._render_entry(i, width)
        if len(strips) != height:
            self._schedule_layout()  # the estimate was off: lay out again after this frame
        k = row - start
        return strips[k].crop_extend(0, width, base) if k < len(strips) else Strip.blank(width, base)
