"""The list of saved sessions: what ran, when, how far it got, what it cost, how it ended.

Listing must stay quick with many long logs, so it never builds typed events: it reads the header,
then scans the raw bytes once. JSON escapes every quote inside a string, so the byte sequence
`"type":"turn_started"` can only be an event's own type; usage lines (a few percent of a log) are
the only ones decoded. `quick=True` skips the scan and only looks at the file's last lines.
Summaries are cached per (path, size, mtime), so refreshing a listing costs almost nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from tuiagents.engine.events import RunStarted, RunStopped
from tuiagents.session.log import LOG_SUFFIX, SessionError
from tuiagents.session.reader import MAX_HEADER_BYTES, parse_header, parse_line

#: `running`: a process holds the log's lock and is writing it now
Status = Literal["finished", "interrupted", "running", "corrupt"]
CHUNK = 1 << 20
TAIL = 64 << 10
_TURN = b'"type":"turn_started"'
_STOP = b'"type":"run_stopped"'
_START = b'"type":"run_started"'
_USAGE = b'"type":"usage"'


@dataclass
class SessionSummary:
    """One line of the sessions listing."""

    path: Path
    status: Status
    created: datetime | None = None
    run_id: str = ""
    team: str = ""
    task: str = ""
    #: None when not counted (`quick=True`, or a corrupt log)
    turns: int | None = None
    events: int | None = None
    tokens: int | None = None
    cost: float | None = None
    stop_reason: str | None = None
    stop_kind: str | None = None
    size: int = 0
    forked_from: str | None = None
    imported_from: str | None = None
    #: Why the log is corrupt, or what a cut-off last line means.
    error: str | None = None
    #: Who writes the log now (`pid 1234 (python3 -m tuiagents run ...)`), when it is running.
    writer: str | None = None


_cache: dict[tuple[str, int, int, bool], SessionSummary] = {}


def _stop_from(line: bytes) -> RunStopped | None:
    try:
        ev = parse_line(line)
    except ValidationError:
        return None
    return ev if isinstance(ev, RunStopped) else None


def _lines_with(data: bytes, marker: bytes):
    """The lines of `data` (newline-terminated) that contain `marker`."""
    i = data.find(marker)
    while i >= 0:
        a = data.rfind(b"\n", 0, i) + 1
        b = data.index(b"\n", i)
        yield data[a:b]
        i = data.find(marker, b)


def _scan_body(f, s: SessionSummary) -> tuple[bytes, bytes]:
    """Count events, turns, tokens and cost; return the last run_stopped line and the tail."""
    events = turns = tokens = 0
    cost = 0.0
    last_stop, stop_after_start, carry = b"", False, b""
    while True:
        chunk = f.read(CHUNK)
        if not chunk:
            break
        data = carry + chunk
        cut = data.rfind(b"\n") + 1
        data, carry = data[:cut], data[cut:]
        events += data.count(b"\n")
        turns += data.count(_TURN)
        for line in _lines_with(data, _USAGE):
            try:
                u = json.loads(line)
                tokens += int(u.get("prompt_tokens", 0)) + int(u.get("completion_tokens", 0))
                cost += float(u.get("cost", 0.0))
            except (ValueError, TypeError, AttributeError):
                pass
        i_stop, i_start = data.rfind(_STOP), data.rfind(_START)
        if i_stop >= 0 and i_stop > i_start:
            a = data.rfind(b"\n", 0, i_stop) + 1
            last_stop, stop_after_start = data[a:data.index(b"\n", i_stop)], True
        elif i_start >= 0:
            stop_after_start = False
    s.events, s.turns, s.tokens, s.cost = events, turns, tokens, cost
    return (last_stop if stop_after_start else b""), carry


def _scan_tail(f, size: int, start: int) -> tuple[bytes, bytes]:
    """Only the end of the file: the last run_stopped line (if it is the last such event)."""
    f.seek(max(start, size - TAIL))
    data = f.read()
    cut = data.rfind(b"\n") + 1
    data, carry = data[:cut], data[cut:]
    i_stop, i_start = data.rfind(_STOP), data.rfind(_START)
    if i_stop >= 0 and i_stop > i_start:
        a = data.rfind(b"\n", 0, i_stop) + 1
        return data[a:data.index(b"\n", i_stop)], carry
    return b"", carry


def summarize_session(path: str | os.PathLike, *, quick: bool = False) -> SessionSummary:
    """The listing line of one log; never raises for a bad log (its status is `corrupt`).

    A log without a stop that a process is still writing is `running` (with its `writer`), not
    `interrupted`; that is asked anew every time, since the lock changes without the file.
    """
    from dataclasses import replace

    from tuiagents.session.lock import writer_of

    s = _summary(Path(path), quick)
    if s.status == "interrupted":
        holder = writer_of(s.path)
        if holder is not None:
            return replace(s, status="running", writer=holder.describe())
    return s


def _summary(p: Path, quick: bool) -> SessionSummary:
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns, quick)
    if key in _cache:
        return _cache[key]
    s = SessionSummary(path=p, status="corrupt", size=st.st_size,
                       created=datetime.fromtimestamp(st.st_mtime, timezone.utc))
    if not stat.S_ISREG(st.st_mode):  # a FIFO named *.jsonl would block the listing forever
        s.error = "not a regular file, so not a session log"
        return s
    try:
        with open(p, "rb") as f:
            first = f.readline(MAX_HEADER_BYTES)
            if not first.strip():
                raise SessionError("the file is empty", reason="empty", path=p)
            h = parse_header(first.rstrip(b"\r\n"), p, cut_off=not first.endswith(b"\n"))
            s.run_id, s.team, s.task = h.run_id, h.team, h.task
            s.created = h.created_at or s.created
            s.forked_from = f"{h.forked_from.path} @ {h.forked_from.at_event}" if h.forked_from else None
            s.imported_from = h.imported_from
            if quick:
                stop_line, tail = _scan_tail(f, st.st_size, len(first))
            else:
                stop_line, tail = _scan_body(f, s)
    except SessionError as exc:
        s.error = str(exc).removeprefix(f"{p}: ")
    except OSError as exc:
        s.error = f"cannot read: {exc.strerror}"
    else:
        stop = _stop_from(stop_line) if stop_line else None
        if tail.strip():  # a last line without its newline: complete, or cut off by a crash
            try:
                ev = parse_line(tail)
            except ValidationError:
                s.error = "the last line is cut off (the run probably crashed)"
            else:
                s.events = None if s.events is None else s.events + 1
                stop = ev if isinstance(ev, RunStopped) else None if isinstance(ev, RunStarted) else stop
        s.status = "finished" if stop else "interrupted"
        if stop:
            s.stop_reason, s.stop_kind = stop.reason, stop.kind.value
    _cache[key] = s
    return s


def list_sessions(folder: str | os.PathLike, *, quick: bool = False) -> list[SessionSummary]:
    """Every `*.jsonl` log in `folder`, newest first (an absent folder has none)."""
    d = Path(folder).expanduser()
    if not d.is_dir():
        return []
    out = []
    for p in d.glob(f"*{LOG_SUFFIX}"):
        try:
            out.append(summarize_session(p, quick=quick))
        except FileNotFoundError:  # deleted while listing
            continue
    epoch = datetime.min.replace(tzinfo=timezone.utc)
    out.sort(key=lambda s: (s.created or epoch, s.path.name), reverse=True)
    return out


def find_session(folder: str | os.PathLike, ident: str) -> Path | None:
    """The log of `folder` that a session ID names: its file name (with or without `.jsonl`), or its
    run id as `tuiagents sessions` prints it (a prefix is enough when only one log matches).

    None when nothing matches. Several logs matching (a copy of a log beside it holds the same run
    id) raise SessionError (reason `ambiguous`) naming every candidate, so the person can pass one
    of the paths instead.
    """
    d = Path(folder).expanduser()
    if not ident or not d.is_dir():
        return None
    for name in (ident, f"{ident}{LOG_SUFFIX}"):
        if (d / name).is_file():
            return d / name
    summaries = [s for s in list_sessions(d, quick=True) if s.run_id]
    exact = [s.path for s in summaries if s.run_id == ident]
    matches = exact or [s.path for s in summaries if s.run_id.startswith(ident)]
    if len(matches) > 1:
        paths = ", ".join(str(p) for p in sorted(matches))
        raise SessionError(f"session ID {ident!r} is ambiguous: {len(matches)} logs match ({paths}); "
                           "pass one of these paths instead", reason="ambiguous")
    return matches[0] if matches else None


def delete_session(path: str | os.PathLike, *, work_dir: bool = False, force: bool = False) -> list[Path]:
    """Delete a session log (and, with `work_dir`, its `<stem>.work/` folder); return what went.

    Refuses (SessionError) to delete a file that is not a session log unless `force` is set, so a
    wrong path cannot destroy something else, and a log that a run is writing (reason `locked`).
    """
    from tuiagents.session.reader import read_header

    from tuiagents.session.lock import locked

    p = Path(path)
    if not p.exists():
        raise SessionError("no such file", reason="missing", path=p)
    if not force:
        if not p.is_file():  # a FIFO would block the read below
            raise SessionError("not a regular file, so not a session log; refusing to delete it",
                               reason="not_a_log", path=p)
        try:
            read_header(p)
        except SessionError as exc:
            if exc.reason in ("not_a_log", "bad_input"):
                raise SessionError("not a session log; refusing to delete it", reason=exc.reason,
                                   path=p) from None
    # A log a run is writing is refused, naming the run (deleted, the run would write into nothing).
    with locked(p, "delete", exclusive=True):
        p.unlink()
    removed = [p]
    wd = p.with_suffix(".work")
    if work_dir and wd.is_dir():
        shutil.rmtree(wd)
        removed.append(wd)
    for k in [k for k in _cache if k[0] == str(p)]:
        del _cache[k]
    return removed
