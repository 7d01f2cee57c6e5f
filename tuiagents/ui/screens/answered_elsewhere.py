"""The line an answer dialog shows when its request was answered meanwhile (another view, a stop).

The dialog stays open: closing it under the person's fingers would send the rest of what they type
to the cockpit, where single keys answer requests.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.containers import Vertical
from textual.widgets import Static

ANSWERED_ID = "answered-elsewhere"


def show_answered_elsewhere(dialog: Any, text: str) -> None:
    """Show `text` at the top of `dialog` (once: a later call replaces the words)."""
    found = dialog.query(f"#{ANSWERED_ID}")
    if found:
        found.first(Static).update(Text(text))
        return
    box = dialog.query(Vertical).first()
    line = Static(Text(text), id=ANSWERED_ID)
    if box.children:  # under the dialog's title
        box.mount(line, after=box.children[0])
    else:
        box.mount(line)
