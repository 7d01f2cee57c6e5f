"""Making untrusted text (model replies, code output) safe to show: inert, never interpreted.

Text from a model or from a program may hold Rich markup (``[bold]``), ANSI escape sequences or
other control characters. The UI never passes such text to a markup parser and never lets a
control character reach the terminal: :func:`inert` turns every control character except newline
and tab into a visible stand-in (ESC becomes ``␛``, so ``\\x1b[31m`` shows as ``␛[31m``).
"""

from __future__ import annotations

from rich.text import Text

from tuiagents.text import inert, one_line  # noqa: F401 - the UI imports them from here


def plain(text: str, style: str = "") -> Text:
    """A Rich `Text` holding `text` literally (markup is not parsed), control characters inert."""
    return Text(inert(text), style=style)
