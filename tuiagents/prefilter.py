"""Cheap tests that rule text out before a costly scan, never wrongly.

Most text a scanner sees (log lines, screen updates) holds nothing it looks for. Each test here
answers "can the scan find anything in this text?" with a necessary condition, so a "no" is
always right and a "yes" only means the full scan must run:

- :func:`literal_starts`: the literal text every match of a regex starts with (``sk-``).
- :class:`Needles`: is any of a set of strings in the text (tested in groups, fewest tests first).
- :class:`SampledPieces`: can a run of text hold any of a set of windows, looking only at one
  position of every few.

This module sits below every layer and imports nothing of tuiagents.
"""

from __future__ import annotations

import re
from typing import Iterable

try:  # the regex parser, to read the literal start of a pattern (Python 3.11+, then 3.10)
    import re._constants as _sre_constants
    import re._parser as _sre_parser
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as _sre_constants  # type: ignore[no-redef]
    import sre_parse as _sre_parser  # type: ignore[no-redef]


def literal_starts(pattern: str, limit: int = 16) -> tuple[str, ...]:
    """The literal texts one of which every match of `pattern` starts with (``gh[pousr]_...``:
    ``ghp_``, ``gho_``, ...), or ``()`` when it has no literal start (or ignores case)."""
    try:
        parsed = _sre_parser.parse(pattern)
    except (re.error, ValueError, TypeError):
        return ()
    if parsed.state.flags & re.IGNORECASE:
        return ()
    starts = [""]
    for op, arg in parsed:
        if op is _sre_constants.LITERAL:
            starts = [s + chr(arg) for s in starts]
        elif (op is _sre_constants.IN and all(o is _sre_constants.LITERAL for o, _ in arg)
              and len(arg) * len(starts) <= limit):
            starts = [s + chr(c) for s in starts for _, c in arg]
        else:
            break
    return tuple(starts) if starts[0] else ()


class Needles:
    """Tells whether any of a set of strings is in a text.

    A string holding another (``sk-proj-...`` holds ``sk-``) is dropped: the shorter one is found
    whenever it is. The rest are grouped by their first two characters, so one test of those
    rules a whole group out (``ghp_``, ``gho_``, ``github_pat_``).
    """

    def __init__(self, needles: Iterable[str]):
        kept: list[str] = []
        for needle in sorted({n for n in needles if n}, key=len):
            if not any(k in needle for k in kept):
                kept.append(needle)
        groups: dict[str, list[str]] = {}
        for needle in kept:
            groups.setdefault(needle[:2], []).append(needle)
        self._groups = tuple((prefix, tuple(group)) for prefix, group in groups.items())

    def any_in(self, text: str) -> bool:
        """True when one of the strings is in `text`."""
        for prefix, group in self._groups:
            if prefix in text:
                for needle in group:
                    if needle in text:
                        return True
        return False


class SampledPieces:
    """Tells whether a run of text can hold one of `windows` (each at least `size` long).

    Any such window holds, at one of every `step` positions of the run, a whole piece of `gram`
    characters of itself, as long as ``step - 1 + gram <= size``: so only those positions are
    looked up, in the set of every piece of every window.
    """

    def __init__(self, windows: Iterable[str], size: int):
        self.step = max(1, size // 2)
        self.gram = size - self.step + 1
        self._pieces = frozenset(w[i:i + self.gram] for w in windows for i in range(len(w) - self.gram + 1))

    def may_hold(self, text: str, start: int, stop: int) -> bool:
        """False only when no window starts in `text[start:stop]` and ends by `stop`."""
        pieces, gram = self._pieces, self.gram
        for j in range(start, stop - gram + 1, self.step):
            if text[j:j + gram] in pieces:
                return True
        return False
