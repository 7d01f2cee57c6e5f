"""The one scrubbing point for secrets: every screen, console, log, export, cache and file goes through it.

The process keeps a registry of the secret values it knows (:mod:`tuiagents.secret_registry`): API
keys read from the config (``api_key_env`` variables, OAI_CONFIG_LIST entries), credentials in
model URLs and credential-like header values. On top of those, every environment variable whose name looks like a secret's
(``*_API_KEY``, ``*_TOKEN``, ...) and strings shaped like well-known keys (``sk-...``, ``ghp_...``)
count, as do ``user:password@`` parts of any URL and secret-named query parameters
(``?api_key=...``). A known value is also found in pieces: any run of :data:`FRAGMENT_LENGTH`
of its characters (a key printed as ``k[:20], k[20:]``); a fragment is masked to ``…``.

- :func:`scrub` removes them (``[redacted]``): for what is written (logs, exports, the cache, files).
- :func:`mask` shortens them to ``sk-…abcd``: for what is shown (the TUI, the console).
- :func:`safe_environ` is the host environment without them, for code that runs on the host.

This module sits below every layer; it imports only the registry and the cheap pre-tests.
"""

from __future__ import annotations

import html
import json
import os
import re
from typing import Callable, Iterable, Mapping
from urllib.parse import parse_qsl, urlsplit

from tuiagents.prefilter import Needles, SampledPieces, literal_starts
from tuiagents.secret_registry import (
    FRAGMENT_LENGTH, KEY_PATTERNS, MIN_SECRET_LENGTH, REDACTED, SECRET_ENV_NAMES, SECRET_ENV_SUFFIXES,
    SECRET_QUERY, SECRET_QUERY_NAMES, SHORT_FRAGMENT_LENGTH, SHORT_SECRET, URL_PARTS, env_secrets, known_secrets,
    live_env, register, register_headers, register_url, registered, registry_version,
)

__all__ = ["FRAGMENT_LENGTH", "KEY_PATTERNS", "MIN_SECRET_LENGTH", "REDACTED", "SECRET_ENV_NAMES",
           "SECRET_ENV_SUFFIXES", "SECRET_QUERY_NAMES", "Scrubber", "env_secrets", "known_secrets", "mask",
           "mask_value", "register", "register_headers", "register_url", "safe_environ", "scrub", "scrub_headers",
           "scrub_url"]

def _literal_forms(value: str) -> set[str]:
    """The value as it may appear in text: raw, JSON-escaped (both ways) and HTML-escaped."""
    return {value, json.dumps(value, ensure_ascii=False)[1:-1], json.dumps(value)[1:-1], html.escape(value)}


def _fragment_length(value: str) -> int:
    return SHORT_FRAGMENT_LENGTH if len(value) < SHORT_SECRET else FRAGMENT_LENGTH


def mask_value(value: str) -> str:
    """A secret shortened for the screen: `sk-…abcd` (long values), `…` otherwise."""
    return f"{value[:3]}…{value[-4:]}" if len(value) >= 16 else "…"


def _redact(_: str) -> str:
    return REDACTED


# An escape (`\n`, `\t`, `\u0007`...) right before a position: in a JSON line a key shape after a
# line break follows the escape's letter, not a word. Any number of backslashes counts, so a key
# after a "\n" written in source code is found as it is in that code's log line.
_ESCAPE_BEFORE = re.compile(r"\\(?:[nrtbf]|u[0-9A-Fa-f]{4})\Z")


def _ends_escape(text: str, end: int) -> bool:
    """True when `text[:end]` ends with an escape sequence (its last character is one of the
    escape's letters or digits, which must not glue a key shape to a word)."""
    return _ESCAPE_BEFORE.search(text, max(0, end - 64), end) is not None


class Scrubber:
    """Finds secrets in text: `scrub(text)` removes them, `mask(text)` shortens them.

    Knows what the module registry knows (unless `registry=False`), the secret-named variables of
    `environ` (default: the live `os.environ`), `extra` values, key shapes and URL credentials. It
    follows later registrations and environment changes by itself. Literal secrets are matched
    raw, JSON-escaped and HTML-escaped, so a secret is caught inside a serialized JSON line or an
    HTML page, and the replacement keeps the line valid JSON.

    Most text holds no secret, so cheap tests (:mod:`tuiagents.prefilter`) run first: the full
    regex only runs on text holding the literal start of one of its alternatives, and fragments
    are only looked for in runs where a piece of a known value sits at one of every few positions.
    The answer is the same as scanning everything; `prefilter=False` scans everything, as the
    reference that claim is tested against.
    """

    def __init__(self, extra: Iterable[str] = (), *, environ: Mapping[str, str] | None = None,
                 patterns: Iterable[str] = KEY_PATTERNS, registry: bool = True, prefilter: bool = True):
        self._extra = tuple(v.strip() for v in extra if v and len(v.strip()) >= MIN_SECRET_LENGTH)
        self._environ = environ
        self._patterns = tuple(patterns)
        self._registry = registry
        self._prefilter = prefilter
        self._stamp: tuple | None = None
        self._key: tuple | None = None
        self._re: re.Pattern[str] | None = None
        # window of a known secret -> every (literal form, offset) it occurs at
        self._windows: dict[str, list[tuple[str, int]]] = {}
        self._sizes: tuple[int, ...] = ()
        self._runs: re.Pattern[str] | None = None
        # the cheap tests: literal starts of the regex's alternatives (None: a key shape has
        # none, always scan), and sampled pieces of the known values' windows
        self._needles: Needles | None = None
        shapes = [literal_starts(p) for p in self._patterns]
        self._shape_starts = None if not all(shapes) else [n for starts in shapes for n in starts]
        self._pieces: SampledPieces | None = None
        self._bounded = re.compile("|".join(rf"(?<![A-Za-z0-9]){p}" for p in self._patterns) or "(?!)")

    def _literals(self) -> list[str]:
        values = [*env_secrets(self._environ), *self._extra]
        if self._registry:
            values += registered()[1]
        return values

    def _pattern(self) -> re.Pattern[str]:
        # Asked for every line: first a cheap stamp (registry version, environment generation),
        # taken before the values are read so that it is never newer than they are.
        stamp = (registry_version() if self._registry else 0,
                 live_env()[1] if self._environ is None else tuple(env_secrets(self._environ)))
        if stamp == self._stamp and self._re is not None:
            return self._re
        values = self._literals()
        key = (registry_version() if self._registry else 0, tuple(values))
        if key != self._key or self._re is None:
            literals: set[str] = set()
            for value in values:
                literals |= _literal_forms(value)
            # Literals first (longest first), then key shapes and URL parts in named groups. The
            # "not preceded by a letter or digit" check of key shapes is done in `_is_secret`: a
            # leading look-behind would stop the regex engine from skipping ahead by first
            # character, which is 20 times slower.
            parts = [re.escape(s) for s in sorted(literals, key=len, reverse=True)]
            if self._patterns:
                parts.append("(?P<shape>" + "|".join(self._patterns) + ")")
            parts += URL_PARTS
            # Fragments: every window of every known value, looked up by dict inside runs of the
            # characters the values are made of (a regex of all windows is 3 times slower: its
            # first characters cover the alphabet, so the engine can no longer skip ahead).
            windows: dict[str, list[tuple[str, int]]] = {}
            # cut at white space: a fragment of "Bearer tok..." must not take the space before "tok"
            for form in {w for lit in literals for w in lit.split() if len(w) >= MIN_SECRET_LENGTH}:
                size = _fragment_length(form)
                for i in range(len(form) - size + 1):
                    windows.setdefault(form[i:i + size], []).append((form, i))
            self._windows = windows
            self._sizes = tuple(sorted({len(w) for w in windows}))
            chars = "".join(sorted({c for w in windows for c in w}))
            self._runs = (re.compile(f"[{re.escape(chars)}]{{{self._sizes[0]},}}") if windows else None)
            self._pieces = SampledPieces(windows, self._sizes[0]) if windows else None
            self._needles = None if self._shape_starts is None else Needles([*self._shape_starts, *literals])
            self._re, self._key = re.compile("|".join(parts)), key
        self._stamp = stamp  # last: another thread must not take the old state for the new one
        return self._re

    def _may_match(self, text: str) -> bool:
        """False only when the full regex cannot match `text`: no alternative's literal start is in it
        (a known value, a key shape's ``sk-``, ``://`` and ``@``, a secret-named query parameter)."""
        needles = self._needles
        if needles is None or not self._prefilter:
            return True
        if "@" in text and "://" in text:
            return True
        if "=" in text and SECRET_QUERY.search(text) is not None:
            return True
        return needles.any_in(text)

    @staticmethod
    def _is_secret(m: re.Match) -> bool:
        if m.lastgroup != "shape":
            return True
        start = m.start()
        return start == 0 or not m.string[start - 1].isalnum() or _ends_escape(m.string, start)

    def _fragment_end(self, text: str, start: int, window: str) -> int:
        """The end of the longest run of a known secret at `start` that begins with `window`."""
        best = start + len(window)
        for form, offset in self._windows[window]:
            k = len(window)
            while start + k < len(text) and offset + k < len(form) and text[start + k] == form[offset + k]:
                k += 1
            best = max(best, start + k)
        return best

    def _fragments(self, text: str) -> list[tuple[int, int]]:
        """Runs of at least the fragment length that are part of a known secret value."""
        out: list[tuple[int, int]] = []
        if self._runs is None:
            return out
        windows, sizes = self._windows, self._sizes
        pieces = self._pieces if self._prefilter else None
        for run in self._runs.finditer(text):
            i, stop = run.start(), run.end()
            if pieces is not None and not pieces.may_hold(text, i, stop):
                continue  # no window in this run
            while i + sizes[0] <= stop:
                for size in sizes:
                    window = text[i:i + size]
                    if len(window) == size and window in windows:
                        end = self._fragment_end(text, i, window)
                        out.append((i, end))
                        i = end
                        break
                else:
                    i += 1
        return out

    def _hits(self, text: str) -> list[tuple[int, int, bool]]:
        """Where secrets are in `text`: (start, end, is_fragment), in order, not overlapping.

        Whole values, key shapes and URL parts come first; fragments overlapping them are merged
        into them (and shown as they are shown).
        """
        pattern = self._pattern()
        whole: list[tuple[int, int]] = []
        for m in (pattern.finditer(text) if self._may_match(text) else ()):
            for group in ("ucred", "qval"):
                if m.group(group) is not None:
                    whole.append(m.span(group))
                    break
            else:
                if self._is_secret(m):
                    whole.append(m.span())
                else:
                    # a key shape glued to a word ("task-sk-..."): look again inside, with the slow check
                    base = m.start() - 1
                    whole += [(base + a, base + b) for a, b in
                              (x.span() for x in self._bounded.finditer(text[base:m.end()])) if a > 0]
        fragments = self._fragments(text)
        if not fragments:
            return [(a, b, False) for a, b in whole]
        merged: list[list] = []
        for a, b, frag in sorted([(a, b, False) for a, b in whole] + [(a, b, True) for a, b in fragments]):
            if merged and a < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
                merged[-1][2] = merged[-1][2] and frag
            else:
                merged.append([a, b, frag])
        return [(a, b, frag) for a, b, frag in merged]

    def _sub(self, text: str, hide: Callable[[str], str]) -> str:
        hits = self._hits(text)
        if not hits:
            return text
        parts, pos = [], 0
        for a, b, fragment in hits:
            # a fragment is shown as `…` only: its own ends would show more of the key than mask_value
            parts += [text[pos:a], REDACTED if hide is _redact else ("…" if fragment else hide(text[a:b]))]
            pos = b
        parts.append(text[pos:])
        return "".join(parts)

    def scrub(self, text: str) -> str:
        """`text` with every secret replaced by `[redacted]`."""
        if not text:
            return text
        return self._sub(text, _redact)

    __call__ = scrub

    def mask(self, text: str) -> str:
        """`text` with every secret shortened to `sk-…abcd`, for the screen."""
        if not text:
            return text
        return self._sub(text, mask_value)

    def scrub_lines(self, lines: list[str]) -> list[str]:
        """Each of `lines` scrubbed as `scrub` would, for the price of about one when none holds a secret.

        The cheap test runs once over the lines joined by a line break: every literal start and
        every fragment found in a line is found in the joined text too (a line break is in no
        fragment), so when it finds none, no line holds a secret. Otherwise each line is scrubbed.
        """
        if not lines:
            return []
        if self._prefilter and len(lines) > 1:
            self._pattern()
            joined = "\n".join(lines)
            if not self._may_match(joined) and not self._fragments(joined):
                return list(lines)
        return [self.scrub(line) for line in lines]

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where secrets are in `text`, as (start, end) offsets."""
        return [(a, b) for a, b, _ in self._hits(text)]

    def scrub_pieces(self, pieces: list[str]) -> list[str]:
        """Scrub text that arrived in pieces (streamed tokens) as one text, keeping the pieces.

        A key split over several pieces is still found; the piece where it starts carries
        `[redacted]` and the others lose their part of it.
        """
        spans = self.spans("".join(pieces))
        if not spans:
            return list(pieces)
        out: list[str] = []
        pos = 0
        for piece in pieces:
            start, end = pos, pos + len(piece)
            parts, cur = [], start
            for a, b in spans:
                if b <= cur or a >= end:
                    continue
                if a > cur:
                    parts.append(piece[cur - start:a - start])
                if a >= start:
                    parts.append(REDACTED)
                cur = min(b, end)
            parts.append(piece[cur - start:])
            out.append("".join(parts))
            pos = end
        return out


_default = Scrubber()


def scrub(text: str) -> str:
    """`text` with every known secret replaced by `[redacted]`: for logs, exports, the cache, files."""
    return _default.scrub(text)


def mask(text: str) -> str:
    """`text` with every known secret shortened to `sk-…abcd`: for the screen and the console."""
    return _default.mask(text)


def scrub_url(url: str | None) -> str | None:
    """`url` with its `user:password@` part and every query value replaced by `[redacted]`."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return scrub(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = REDACTED + "@" + netloc.rsplit("@", 1)[1]
    query = "&".join(f"{k}={REDACTED}" for k, _ in parse_qsl(parts.query, keep_blank_values=True))
    out = parts._replace(netloc=netloc, query=query, fragment="").geturl()
    return scrub(out)


def scrub_headers(headers: Mapping[str, str] | None) -> dict[str, str] | None:
    """`headers` with every value replaced by `[redacted]` (names kept, to say what is sent)."""
    if headers is None:
        return None
    return {str(k): REDACTED for k in headers}


def safe_environ(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment without secrets, for code run on the host.

    Drops variables whose names look secret (and AutoGen's OAI_CONFIG_LIST), and any variable
    whose value holds a known secret or URL credentials (an `OPENAI_BASE_URL` with a password,
    an `api_key_env` variable with an ordinary name).
    """
    env = dict(os.environ if environ is None else environ)
    finder = Scrubber(environ=env)
    out = {}
    for name, value in env.items():
        upper = name.upper()
        if ("_" + upper).endswith(SECRET_ENV_SUFFIXES) or upper in SECRET_ENV_NAMES:
            continue
        if finder.scrub(value) != value:
            continue
        out[name] = value
    return out
