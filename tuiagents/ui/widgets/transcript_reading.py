"""What a person does with what a transcript shows: fold or unfold a nested chat's block, and open
all of an entry the view cuts (a long message or block: clicking the line under it, or the
`show_full` key on the focused transcript, opens it in a scrollable screen the app pushes).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from typing import Any

from textual.message import Message

from tuiagents.ui.entries import Entry


class TranscriptReading:
    """Mixin of `Transcript`'s reading actions; the transcript provides what is declared here."""

    # Declared, not defined: `Transcript` sets them (its module imports this one).
    _entries: list[Entry]
    _offsets: list[int]
    ShowFull: type[Message]
    get: Callable[[str], Entry | None]
    changed: Callable[[Entry], None]
    _rebuild_offsets: Callable[[], None]
    scroll_y: float
    is_attached: bool
    display: bool
    region: Any
    scrollable_content_region: Any
    screen: Any
    notify: Callable[..., None]
    post_message: Callable[[Message], bool]

    def find(self, key: str) -> Entry | None:
        """The entry with `key`, here or inside a block here (a nested chat's), or None."""
        entry = self.get(key)
        if entry is not None:
            return entry
        return next((found for e in self._entries if hasattr(e, "find") and (found := e.find(key)) is not None),
                    None)

    def action_toggle_fold(self, key: str) -> None:
        """Fold or unfold block `key` (the click on a nested chat's header)."""
        entry = self.find(key)
        if entry is not None and hasattr(entry, "toggle"):
            entry.toggle()
            self._changed_within(entry)

    def _changed_within(self, entry: Entry) -> None:
        """`entry` changed: show it again, or the block here that holds it."""
        if self.get(entry.key) is None:
            entry = next((e for e in self._entries if hasattr(e, "find") and e.find(entry.key) is not None), entry)
            entry.touch()
        self.changed(entry)

    def action_toggle_fold_visible(self) -> None:
        """Fold or unfold the lowest nested chat on screen (say so when there is none)."""
        if self.is_attached and self.display and self.region.height > 0:
            self._rebuild_offsets()
            top = int(self.scroll_y)
            bottom = top + max(1, self.scrollable_content_region.height)
            i = max(0, bisect_right(self._offsets, top) - 1)
            found = None
            while i < len(self._entries) and self._offsets[i] < bottom:
                if hasattr(self._entries[i], "toggle"):
                    found = self._entries[i]
                i += 1
            if found is not None:
                self.action_toggle_fold(found.key)
                return
        self.notify("No nested chat on screen here to fold or unfold.", timeout=3)

    def action_show_full(self, key: str) -> None:
        """Open entry `key` in full (the click on the line under a cut entry)."""
        entry = self.find(key)
        if entry is not None and hasattr(entry, "full_text"):
            title, text = entry.full_text()
            self.post_message(self.ShowFull(title, text))  # the app opens the full view

    def cut_on_screen(self) -> Entry | None:
        """The lowest entry on screen that the view cuts, or None."""
        if not self.is_attached or not self.display or self.region.height <= 0:
            return None
        self._rebuild_offsets()
        top, bottom = int(self.scroll_y), int(self.scroll_y) + max(1, self.scrollable_content_region.height)
        i = max(0, bisect_right(self._offsets, top) - 1)
        found = None
        while i < len(self._entries) and self._offsets[i] < bottom:
            if getattr(self._entries[i], "is_cut", False):
                found = self._entries[i]
            i += 1
        return found

    def action_show_full_visible(self) -> None:
        """Open in full the lowest cut entry on screen: in this transcript first, else in another one
        on screen (so the key works whichever pane has focus); say so when nothing is cut."""
        found = self.cut_on_screen()
        if found is not None:
            self.action_show_full(found.key)
            return
        for other in self.screen.query(type(self)):
            entry = other.cut_on_screen() if other is not self else None
            if entry is not None:
                other.action_show_full(entry.key)
                return
        self.notify("Nothing on screen is cut: every message here is shown in full.", timeout=3)
