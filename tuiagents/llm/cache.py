"""On-disk response cache (SQLite), keyed by the request and a seed, like AutoGen's ``cache_seed``.

The key is the SHA-256 of the canonical JSON of everything that shapes the answer (model, messages,
tools, temperature, max_tokens, response_format, extra body fields, and ``user``, the agent name)
plus the seed. ``stream`` and ``stream_options`` are left out, so a streamed and a non-streamed call
share an entry. The agent name is kept in, so two agents never share an answer (the scripted test
server answers per agent, and so may a real deployment). No API key or base URL is part of the key
or of the stored value, and the stored value goes through :func:`tuiagents.secrets.scrub` first, so
a key that a model echoes is stored as ``[redacted]``.

The database lives in ``platformdirs.user_cache_dir("tuiagents")/llm-cache.sqlite3`` unless a
``cache_dir`` is given. It uses WAL mode and a busy timeout so several processes can share it; in
one process each operation is a single short statement run on the event loop thread, so concurrent
async calls cannot interleave inside it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from tuiagents.llm.streaming import Reply
from tuiagents.llm.types import ToolCall
from tuiagents.secrets import scrub

log = logging.getLogger(__name__)

CACHE_FILE = "llm-cache.sqlite3"
_IGNORED_KEYS = frozenset({"stream", "stream_options"})
_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created REAL NOT NULL
)
"""


def default_cache_dir() -> Path:
    """The per-user cache folder of tuiagents (platform-specific; `$TUIAGENTS_CACHE_DIR` overrides)."""
    from tuiagents.paths import user_cache_path

    return user_cache_path()


def cache_key(body: dict[str, Any], seed: int, endpoint: str = "") -> str:
    """SHA-256 hex digest of the canonical request ``body`` (answer-shaping fields), ``seed`` and the
    ``endpoint`` that answers (without credentials): the same request to another server is another
    question, and its reply must not come from this one's."""
    relevant = {k: v for k, v in body.items() if k not in _IGNORED_KEYS}
    canonical = json.dumps(
        {"seed": seed, "endpoint": endpoint, "request": relevant},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    # surrogatepass: a history may hold a model's lone surrogate, which plain UTF-8 refuses.
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _owner_only(path: Path) -> None:
    """Make the cache file readable by its owner alone (it holds whole model replies); SQLite gives
    its WAL and shared-memory files the database file's permissions."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)  # a cache made before it was kept private
    finally:
        os.close(fd)


class ResponseCache:
    """A SQLite table of replies by cache key; opened lazily on first use."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory).expanduser() if directory else default_cache_dir()
        self.path = self.directory / CACHE_FILE
        self._conn: sqlite3.Connection | None = None
        self._warned = False

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            _owner_only(self.path)
            conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError:
                pass  # e.g. a filesystem without shared memory: the default journal still works
            conn.execute("PRAGMA busy_timeout=10000")
            conn.execute(_SCHEMA)
            self._conn = conn
        return self._conn

    def get(self, key: str) -> Reply | None:
        """The cached reply for ``key``, or None (also when the stored row cannot be read)."""
        try:
            row = self._connection().execute("SELECT value FROM responses WHERE key = ?", (key,)).fetchone()
        except (sqlite3.Error, OSError) as exc:
            self._warn("read", exc)
            return None
        if row is None:
            return None
        try:
            data = json.loads(row[0])
            return Reply(
                content=data["content"],
                tool_calls=[ToolCall(**c) for c in data.get("tool_calls", [])],
                model=data["model"],
                prompt_tokens=int(data.get("prompt_tokens", 0)),
                completion_tokens=int(data.get("completion_tokens", 0)),
                finish_reason=data.get("finish_reason"),
            )
        except (ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, reply: Reply) -> None:
        """Store ``reply`` under ``key`` (replacing any older value). Errors are ignored: a cache
        that cannot be written must not fail the call it was meant to speed up."""
        value = scrub(json.dumps(
            {
                "content": reply.content,
                "tool_calls": [c.model_dump() for c in reply.tool_calls],
                "model": reply.model,
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "finish_reason": reply.finish_reason,
            }
        ))
        try:
            self._connection().execute(
                "INSERT OR REPLACE INTO responses (key, value, created) VALUES (?, ?, ?)",
                (key, value, time.time()),
            )
        except (sqlite3.Error, OSError) as exc:
            self._warn("write", exc)

    def _warn(self, action: str, exc: Exception) -> None:
        if not self._warned:
            self._warned = True
            log.warning("could not %s the LLM cache at %s (%s); calls go on without it", action, self.path, exc)

    def close(self) -> None:
        """Close the database connection (it reopens on next use)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
