"""What counts as a secret, and the values this process knows are secrets.

Names of secret-holding environment variables (``*_API_KEY``, ``*_TOKEN``, ...), the shapes of
well-known keys (``sk-...``, ``ghp_...``), secret-named URL parts, and a registry of the values the
process learned are secrets (API keys read from the config, credentials in model URLs and
credential-like header values). :mod:`tuiagents.secrets` finds them in text; this module only
knows them. It sits below every layer and imports nothing of tuiagents.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Mapping
from urllib.parse import parse_qsl, urlsplit

REDACTED = "[redacted]"

#: Environment variable name endings whose values are treated as secrets.
SECRET_ENV_SUFFIXES = ("_API_KEY", "_APIKEY", "_KEY", "_TOKEN", "_SECRET", "_PASSWORD", "_PASSWD",
                       "_CREDENTIALS")
#: Environment variables that hold secrets without a secret-looking name (AutoGen's config list).
SECRET_ENV_NAMES = ("OAI_CONFIG_LIST", "OPENAI_CUSTOM_HEADERS")

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

#: Query parameter names whose values are credentials.
SECRET_QUERY_NAMES = r"api[-_]?key|apikey|key|token|access[-_]?token|auth|password|passwd|secret|sig|signature"
#: Header names whose values are credentials.
SECRET_HEADER = re.compile(r"auth|key|token|secret|cookie|passw|signature|credential", re.IGNORECASE)

#: `user:password@` in any URL, and secret-named query parameters (also inside HTML, `&amp;`).
URL_PARTS = (
    r"(?P<upre>://)(?P<ucred>[^\s/@:\"'<>]{1,256}:[^\s/@\"'<>]{1,256})(?P<upost>@)",
    rf"(?P<qpre>[?&;](?i:{SECRET_QUERY_NAMES})=)(?P<qval>[^&#\s\"'<>]{{4,}})",
)
#: The start of the query part above alone: a rare first character, so the regex engine skips fast.
SECRET_QUERY = re.compile(rf"[?&;](?i:{SECRET_QUERY_NAMES})=")

#: Values shorter than this are not treated as secrets (they would redact ordinary words).
MIN_SECRET_LENGTH = 8

#: A run of this many characters of a known secret value counts as the secret (a key printed in
#: pieces, `print(k[:20], k[20:])`). Only values actually known as secrets are cut into fragments,
#: never key shapes, so an ordinary word cannot match: 12 characters of a random key do not occur
#: by chance.
FRAGMENT_LENGTH = 12
#: Secrets shorter than :data:`SHORT_SECRET` characters are found by fragments this long.
SHORT_FRAGMENT_LENGTH = 8
SHORT_SECRET = 16

_lock = threading.Lock()
_registered: set[str] = set()
_version = 0


#: (a copy of the raw environment, its secrets, a number that changes when those secrets change)
_env_cache: tuple[dict | None, list[str], int] = (None, [], 0)


def env_secrets(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of environment variables whose names end like a secret's."""
    if environ is None:
        return list(live_env()[0])
    return [v for k, v in environ.items()
            if ("_" + k.upper()).endswith(SECRET_ENV_SUFFIXES) and len(v.strip()) >= MIN_SECRET_LENGTH]


def live_env() -> tuple[list[str], int]:
    """The secrets of `os.environ` (not to be changed) and a number that changes when they change."""
    global _env_cache
    # Every scrubbed line and screen update asks; comparing the raw environment with a copy (a
    # C-level dict compare, 0.3 us) is far cheaper than decoding and testing every variable again.
    raw = getattr(os.environ, "_data", None)
    copy, found, generation = _env_cache
    if isinstance(raw, dict) and raw == copy:
        return found, generation
    fresh = env_secrets(dict(os.environ))
    if fresh != found:
        found, generation = fresh, generation + 1
    _env_cache = (dict(raw) if isinstance(raw, dict) else None, found, generation)
    return found, generation


def register(*values: str | None) -> None:
    """Remember secret values for the rest of the process (too short or empty ones are ignored, and so
    are values holding the `[redacted]` placeholder: a config read back from a session log has it
    where a secret was, and as a "secret" it would mask every later redaction again)."""
    global _version
    fresh = {v.strip() for v in values
             if isinstance(v, str) and len(v.strip()) >= MIN_SECRET_LENGTH and REDACTED not in v}
    with _lock:
        if fresh - _registered:
            _registered.update(fresh)
            _version += 1


def register_url(url: str | None) -> None:
    """Remember the credentials of `url`: user and password, and secret-named query values."""
    if not url:
        return
    try:
        parts = urlsplit(url)
        user, password = parts.username, parts.password
        query = parse_qsl(parts.query, keep_blank_values=False)
    except ValueError:
        return
    if password:
        register(password, f"{user}:{password}" if user else None)
    elif user and parts.netloc.count("@"):  # https://TOKEN@host: the user part is the token
        register(user)
    secret_name = re.compile(rf"(?i:{SECRET_QUERY_NAMES})")
    register(*(v for k, v in query if secret_name.fullmatch(k)))


def register_headers(headers: Mapping[str, str] | None) -> None:
    """Remember the values of credential-like headers (Authorization, api-key, X-...-Token, ...)."""
    for name, value in (headers or {}).items():
        if not isinstance(value, str) or not SECRET_HEADER.search(str(name)):
            continue
        scheme, _, token = value.strip().partition(" ")
        register(value, token if scheme.lower() in ("bearer", "basic", "token") else None)


def known_secrets(environ: Mapping[str, str] | None = None) -> list[str]:
    """Every secret value known now: registered ones and those of secret-named variables."""
    with _lock:
        registered = list(_registered)
    return [*env_secrets(environ), *registered]


def registered() -> tuple[int, list[str]]:
    """The registry's version (it grows with every new value) and the values registered so far."""
    with _lock:
        return _version, list(_registered)


def registry_version() -> int:
    """The registry's version: a cheap test of whether anything was registered since."""
    return _version

