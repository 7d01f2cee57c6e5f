"""Keep secrets out of session logs and exports.

A `Scrubber` replaces, in already-serialized text, every value of an environment variable whose
name looks like a secret (`*_API_KEY`, `*_TOKEN`, `*_SECRET`, ...), any extra secret it is given
(for example API keys read from the config file) and strings shaped like well-known keys
(`sk-...`, `ghp_...`, `AKIA...`) with `[redacted]`.
"""

from __future__ import annotations

import json
import os
import re
from typing import Iterable, Mapping

REDACTED = "[redacted]"

#: Environment variable name endings whose values are treated as secrets.
SECRET_ENV_SUFFIXES = ("_API_KEY", "_APIKEY", "_KEY", "_TOKEN", "_SECRET", "_PASSWORD", "_PASSWD",
                       "_CREDENTIALS")

#: Shapes of well-known keys, matched anywhere (not preceded by a letter or digit).
KEY_PATTERNS = (
    r"sk-[A-Za-z0-9_\-]{16,}",  # OpenAI / Anthropic / many OpenAI-compatible servers
    r"gh[pousr]_[A-Za-z0-9]{20,}",  # GitHub tokens
    r"github_pat_[A-Za-z0-9_]{20,}",
    r"xox[abprs]-[A-Za-z0-9\-]{10,}",  # Slack
    r"AKIA[0-9A-Z]{16}",  # AWS access key id
    r"AIza[0-9A-Za-z_\-]{35}",  # Google API key
    r"hf_[A-Za-z0-9]{30,}",  # Hugging Face
)

#: Values shorter than this are not treated as secrets (they would redact ordinary words).
MIN_SECRET_LENGTH = 8


def env_secrets(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of environment variables whose names end like a secret's."""
    env = os.environ if environ is None else environ
    return [v for k, v in env.items()
            if ("_" + k.upper()).endswith(SECRET_ENV_SUFFIXES) and len(v.strip()) >= MIN_SECRET_LENGTH]


class Scrubber:
    """Replaces secrets in text; build one per writer, call `scrub(text)` on every line.

    Literal secrets are matched both raw and in their JSON-escaped form, so a secret that contains
    quotes or backslashes is still caught inside a serialized JSON line, and the replacement keeps
    the line valid JSON.
    """

    def __init__(self, extra: Iterable[str] = (), *, environ: Mapping[str, str] | None = None,
                 patterns: Iterable[str] = KEY_PATTERNS):
        literals: set[str] = set()
        for value in [*env_secrets(environ), *extra]:
            if not value or len(value.strip()) < MIN_SECRET_LENGTH:
                continue
            value = value.strip()
            literals.add(value)
            literals.add(json.dumps(value, ensure_ascii=False)[1:-1])
            literals.add(json.dumps(value)[1:-1])
        # Literals first (longest first), then key shapes in a named group. The "not preceded by a
        # letter or digit" check of key shapes is done in `_keep`: a leading look-behind would stop
        # the regex engine from skipping ahead by first character, which is 20 times slower.
        parts = [re.escape(s) for s in sorted(literals, key=len, reverse=True)]
        if patterns:
            parts.append("(?P<shape>" + "|".join(patterns) + ")")
        self._re = re.compile("|".join(parts)) if parts else None
        self._bounded = re.compile("|".join(rf"(?<![A-Za-z0-9]){p}" for p in patterns) or "(?!)")

    @staticmethod
    def _is_secret(m: re.Match) -> bool:
        if m.lastgroup != "shape":
            return True
        start = m.start()
        return start == 0 or not m.string[start - 1].isalnum()

    def _replace(self, m: re.Match) -> str:
        if self._is_secret(m):
            return REDACTED
        # a key shape glued to a word ("task-sk-..."): look again inside, with the slow check
        prev = m.string[m.start() - 1]
        return self._bounded.sub(REDACTED, prev + m.group(0))[1:]
    def scrub(self, text: str) -> str:
        """`text` with every secret replaced by `[redacted]`."""
        if self._re is None:
            return text
        return self._re.sub(self._replace, text)

    __call__ = scrub

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where secrets are in `text`, as (start, end) offsets."""
        if self._re is None:
            return []
        out = []
        for m in self._re.finditer(text):
            if self._is_secret(m):
                out.append(m.span())
            else:
                base = m.start() - 1
                out += [(base + a, base + b) for a, b in
                        (x.span() for x in self._bounded.finditer(text[base:m.end()])) if a > 0]
        return out

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
