"""Editing a text that holds a huge line (a model's 2 MB reply on one line) without keys that lag.

Textual's TextArea costs a key on such a line in proportion to the line's length, several times
over: with soft wrap on, each edit rewraps the whole line in Python (~0.7 s at 2 MB) and each
visible row cuts its piece out of the whole line again (~0.15 s a row, 5-7 s a key). Wrapping is
therefore off for a text with a line over :data:`LONG_LINE` characters (the dialog says so), and
the tab arithmetic that TextArea does on every key is given a fast path for a line without tabs:
textual splits every line on tabs with a regular expression (~35 ms at 2 MB, four times a key) even
when it has none. Measured in ``bench/bench_edit_long_line.py``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

LONG_LINE = 10_000
"""A line longer than this (characters) is edited unwrapped."""


def _textual_tab_widths(line: str, tab_size: int = 4) -> list[tuple[str, int]]:
    """Textual's own ``get_tab_widths`` (set by `install`)."""
    raise NotImplementedError  # replaced by install(); never called before it


def longest_line(text: str) -> int:
    """The length of the longest line of `text`, in characters."""
    return max(map(len, text.split("\n")), default=0)


def tab_widths(line: str, tab_size: int = 4) -> list[tuple[str, int]]:
    """Textual's ``get_tab_widths``, answered at once for a line without a tab (the same result)."""
    if "\t" not in line:
        return [(line, 0)] if line else []
    return _textual_tab_widths(line, tab_size)


def expand_tabs_inline(line: str, tab_size: int = 4) -> str:
    """Textual's ``expand_tabs_inline``: `line` with its tabs as spaces (unchanged without a tab)."""
    if "\t" not in line:
        return line
    return "".join(part + width * " " for part, width in _textual_tab_widths(line, tab_size))


def install() -> bool:
    """Give textual's TextArea and its wrapped document the tab fast path (same results, no regex
    over a line without tabs). Idempotent. These are textual's private modules: a textual that
    lays them out otherwise keeps its own (slower) code, and False says so."""
    global _textual_tab_widths
    try:
        expand = importlib.import_module("textual.expand_tabs")
        wrapped = importlib.import_module("textual.document._wrapped_document")
        text_area = importlib.import_module("textual.widgets._text_area")
        original: Callable[..., list[tuple[str, int]]] = expand.get_tab_widths  # never patched here
        if not (hasattr(wrapped, "get_tab_widths") and hasattr(wrapped, "expand_tabs_inline")
                and hasattr(text_area, "expand_tabs_inline")):
            return False
    except (ImportError, AttributeError):
        return False
    _textual_tab_widths = original
    wrapped.get_tab_widths = tab_widths
    wrapped.expand_tabs_inline = expand_tabs_inline
    text_area.expand_tabs_inline = expand_tabs_inline
    return True


install()
