"""Making untrusted text (model replies, code output, logs) inert before it reaches a terminal.

Text from a model or from a program may hold ANSI escape sequences or other control characters.
:func:`inert` turns every control character except newline and tab into a visible stand-in (ESC
becomes ``␛``, so ``\\x1b[31m`` shows as ``␛[31m``). Used by the UI, the console and the CLI.
"""

from __future__ import annotations

import re

from tuiagents.secrets import mask

# C0 controls except \t and \n, DEL, and the C1 block; \r is handled separately (CRLF -> LF).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # Unicode "control pictures": ␀ ␁ ... ␛ ...
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"\\x{code:02x}"  # C1 controls (e.g. the 8-bit CSI \x9b)


def inert(text: str) -> str:
    """Return `text` with every control character (but newline and tab) made visible.

    Windows line ends become plain newlines; a lone carriage return is shown as ``␍``.
    """
    if not text:
        return ""
    text = mask(text).replace("\r\n", "\n")  # known secrets show as sk-…abcd, never whole
    return _CONTROL.sub(_visible, text).expandtabs(4)


def one_line(text: str, limit: int = 80) -> str:
    """A single inert line of `text` for headers and lists, cut at `limit` characters."""
    flat = " ".join(inert(text).split())
    return flat if len(flat) <= limit else flat[: max(0, limit - 1)] + "…"
