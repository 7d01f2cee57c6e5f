"""Making untrusted text (model replies, code output, logs) inert before it reaches a person.

Text from a model or from a program may hold ANSI escape sequences, other control characters, or
characters that change how text reads without being seen: bidi controls (U+202E turns the rest of a
line around), zero-width characters, Unicode "tag" characters. :func:`inert` makes every one of them
visible: control characters become a visible stand-in (ESC becomes ``␛``, so ``\\x1b[31m`` shows as
``␛[31m``), invisible and direction-changing characters a bracketed name (``⟨RLO⟩``, ``⟨ZWSP⟩``), a
lone surrogate its escape (``\\udc80``). Newline and tab stay. Used by the UI, the console, the
exports and the CLI, so what a person approves is what they see.
"""

from __future__ import annotations

import re

from tuiagents.secrets import mask

# C0 controls except \t and \n, DEL, and the C1 block; \r is handled separately (CRLF -> LF).
_CONTROL = "\x00-\x08\x0b-\x1f\x7f-\x9f"

#: Invisible or direction-changing characters, by the short name shown in their place.
INVISIBLE_NAMES: dict[str, str] = {
    "\u00ad": "SHY", "\u034f": "CGJ", "\u061c": "ALM", "\u115f": "HF", "\u1160": "HJF", "\u17b4": "KIVAQ",
    "\u17b5": "KIVAA", "\u180e": "MVS",
    "\u200b": "ZWSP", "\u200c": "ZWNJ", "\u200d": "ZWJ", "\u200e": "LRM", "\u200f": "RLM",
    "\u2028": "LSEP", "\u2029": "PSEP",
    "\u202a": "LRE", "\u202b": "RLE", "\u202c": "PDF", "\u202d": "LRO", "\u202e": "RLO",
    "\u2060": "WJ", "\u2061": "FA", "\u2062": "IT", "\u2063": "IS", "\u2064": "IP",
    "\u2066": "LRI", "\u2067": "RLI", "\u2068": "FSI", "\u2069": "PDI",
    "\u206a": "ISS", "\u206b": "ASS", "\u206c": "IAFS", "\u206d": "AAFS", "\u206e": "NADS", "\u206f": "NODS",
    "\u3164": "HF", "\ufeff": "BOM", "\uffa0": "HWHF", "\ufff9": "IAA", "\ufffa": "IAS", "\ufffb": "IAT",
}
#: Direction-changing characters: text holding one may read differently from how it runs.
BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

# Tag characters (U+E0000-U+E007F: invisible ASCII look-alikes used to smuggle instructions) and the
# variation selectors supplement (U+E0100-U+E01EF: invisible, can carry hidden bytes).
_INVISIBLE = "".join(INVISIBLE_NAMES) + "\U000e0000-\U000e007f\U000e0100-\U000e01ef"
_SURROGATE = "\ud800-\udfff"
_ODD = re.compile(f"[{_CONTROL}{_INVISIBLE}{_SURROGATE}]")
_HIDDEN = re.compile(f"[{_INVISIBLE}]")


def _visible(match: re.Match[str]) -> str:
    ch = match.group()
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)  # Unicode "control pictures": ␀ ␁ ... ␛ ...
    if code == 0x7F:
        return "\u2421"  # ␡
    if code <= 0x9F:
        return f"\\x{code:02x}"  # C1 controls (e.g. the 8-bit CSI \x9b)
    if 0xD800 <= code <= 0xDFFF:
        return f"\\u{code:04x}"  # a lone surrogate (JSON allows it; no terminal can show it)
    return f"⟨{INVISIBLE_NAMES.get(ch) or f'U+{code:04X}'}⟩"


def inert(text: str, *, tabs: bool = True) -> str:
    """Return `text` with every control, invisible or direction-changing character made visible.

    Windows line ends become plain newlines; a lone carriage return is shown as ``␍``. Tabs are
    expanded to 4 columns unless `tabs` is False (documents such as exports keep them).
    """
    if not text:
        return ""
    text = mask(text).replace("\r\n", "\n")  # known secrets show as sk-…abcd, never whole
    text = _ODD.sub(_visible, text)
    return text.expandtabs(4) if tabs else text


def hidden_characters(text: str) -> list[str]:
    """The invisible and direction-changing characters in `text`, as the names :func:`inert` shows."""
    return [_visible(m) for m in _HIDDEN.finditer(text)]


def hidden_warning(text: str) -> str | None:
    """A one-line warning when `text` holds invisible or direction-changing characters, else None.

    Shown wherever a person approves something: code holding a bidi control can read differently
    from how it runs.
    """
    found = hidden_characters(text)
    if not found:
        return None
    names = ", ".join(dict.fromkeys(found))
    bidi = any(ch in BIDI for ch in text)
    what = "direction-changing or invisible" if bidi else "invisible"
    plural = "s" if len(found) > 1 else ""
    risk = " It may read differently from how it runs." if bidi else ""
    return f"⚠ {len(found)} {what} character{plural} shown as {names}.{risk} Check before approving."


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code > 0xFFFF:  # JSON escapes astral characters as a surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def json_inert(text: str) -> str:
    """Serialized JSON with every control, invisible or direction-changing character (and lone
    surrogate) written as a ``\\uXXXX`` escape: the same data, and nothing live on a terminal.

    Only valid on JSON text: such characters can only appear inside its strings.
    """
    return _ODD.sub(_json_escape, text)


def one_line(text: str, limit: int = 80) -> str:
    """A single inert line of `text` for headers and lists, cut at `limit` characters."""
    flat = " ".join(inert(text).split())
    return flat if len(flat) <= limit else flat[: max(0, limit - 1)] + "…"
