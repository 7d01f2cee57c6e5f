"""What every session module shares: the log's header line, its format version, and `SessionError`.

The writer (`log.py`), the reader (`reader.py`) and the lock (`lock.py`) all import this module,
and it imports none of them.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from tuiagents import __version__
from tuiagents.engine.events import AgentInfo, RunStarted

#: The log format this tuiagents writes; it reads every format up to it. Format 2 says which chat each
#: event and request belongs to (`chat`); a format 1 log's events all belong to the root chat.
#: Format 3 adds chats inside a run (`chat_started`, `chat_ended`), handoffs, one decision per tool
#: call with the original arguments of an edit, and the run's work dir and `[context]`: a reader of
#: format 2 would not know those lines, so it is told the log is newer than it.
FORMAT_VERSION = 3
HEADER_TYPE = "session_header"


_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def safe_run_id(value: str) -> str:
    """`value` when it can name a run's files (socket, record, work dir); ValueError otherwise.

    A run id comes from logs people pass around and from the command line, and it becomes file
    names: letters, digits, ".", "_" and "-" only, no "..", so it never reaches another folder."""
    if not _RUN_ID.fullmatch(value) or ".." in value:
        raise ValueError(f"{value[:80]!r} is not a run id (letters, digits, '.', '_' and '-', "
                         f"at most 64, as the 12 hex digits tuiagents gives a run)")
    return value


#: A run id that is safe as a file name (see `safe_run_id`).
RunId = Annotated[str, AfterValidator(safe_run_id)]


class SessionError(Exception):
    """A session log cannot be used; the message says why and what to do.

    `reason` is one of: missing, empty, not_a_log, newer_format, corrupt, exists, closed,
    bad_input, import, locked (another process writes the log), ambiguous (a session ID that
    several logs share), write_failed (the disk is full,
    permissions, ...). The CLI maps every reason except `closed` and `write_failed` to exit code 2
    (bad input).
    """

    def __init__(self, message: str, *, reason: str = "corrupt", path: str | os.PathLike | None = None):
        self.reason = reason
        self.path = Path(path) if path is not None else None
        super().__init__(f"{path}: {message}" if path is not None else message)


class ForkOrigin(BaseModel):
    """Where a forked log came from: the source log and how many of its events were kept."""

    path: str
    at_event: int


class SessionHeader(BaseModel):
    """The first line of a session log: what ran, with which config (no secrets) and agents."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["session_header"] = HEADER_TYPE
    format_version: int = FORMAT_VERSION
    tuiagents_version: str = __version__
    created: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    run_id: RunId
    team: str
    team_kind: str = "two_agent"
    task: str = ""
    config: dict[str, Any] = Field(default_factory=dict)
    agents: list[AgentInfo] = Field(default_factory=list)
    forked_from: ForkOrigin | None = None
    imported_from: str | None = None
    #: the folder the run's code works in; a resume works there too (None: a log from before it was kept)
    work_dir: str | None = None

    @classmethod
    def from_run(cls, run: RunStarted, config: Any = None, **kw: Any) -> "SessionHeader":
        """A header for the run `run` announces; `config` is an AppConfig or a snapshot dict."""
        snap = config.snapshot() if hasattr(config, "snapshot") else dict(config or {})
        return cls(run_id=run.run_id, team=run.team, team_kind=run.team_kind, task=run.task,
                   agents=list(run.agents), config=snap, **kw)

    @property
    def created_at(self) -> datetime | None:
        """`created` as an aware datetime, or None when it does not parse."""
        try:
            dt = datetime.fromisoformat(self.created)
        except ValueError:
            return None
        return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
