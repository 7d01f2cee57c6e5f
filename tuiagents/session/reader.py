"""Reading session logs back: the header, typed events, and what was wrong with the file.

A last line cut off by a crash is expected: everything before it is kept and `SessionLog.notice`
says so. A corrupt line in the middle (disk trouble, a hand edit) is skipped with a notice naming
its line number, or raises with `strict=True`. Files that are not logs, are empty, or come from a
newer tuiagents raise `SessionError` with a message that says what to do.
"""

from __future__ import annotations

import gc
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, TypeAdapter, ValidationError

from tuiagents import __version__
from tuiagents.engine.events import Event, RunStarted, RunStopped, parse_event
from tuiagents.session.header import FORMAT_VERSION, HEADER_TYPE, SessionError, SessionHeader

_events_adapter: TypeAdapter[list[Event]] = TypeAdapter(list[Event])

#: How a token delta line marks its type. JSON escapes quotes inside strings, so this exact byte
#: sequence cannot come from content, only from an event's own `type` field.
_TOKEN_DELTA = b'"type":"token_delta"'
#: Lines validated per call on the fast path (bounded memory, and a damaged line only costs its chunk).
CHUNK_LINES = 4096
#: The header line is small; a first line longer than this is not a session header.
MAX_HEADER_BYTES = 4 << 20
#: Bytes of lines read from the file per batch (the whole file is never held at once).
READ_BATCH_BYTES = 1 << 20


@dataclass
class SessionLog:
    """A session log read back: header, typed events in order, and a notice about any damage."""

    path: Path
    header: SessionHeader
    events: list = field(default_factory=list)  # list[Event]
    #: One sentence for people when lines were cut off or skipped; None when the file was clean.
    notice: str | None = None
    #: Line numbers (1-based, the header is line 1) of corrupt lines that were skipped.
    skipped_lines: list[int] = field(default_factory=list)
    #: Byte offset where a cut-off last line starts (None when the file ends cleanly).
    cut_off_at: int | None = None

    @property
    def run_started(self) -> RunStarted | None:
        """The first `RunStarted` event, if any."""
        return next((e for e in self.events if isinstance(e, RunStarted)), None)

    @property
    def run_stopped(self) -> RunStopped | None:
        """The last `RunStopped` event, or None when the run never stopped (crash, kill)."""
        return next((e for e in reversed(self.events) if isinstance(e, RunStopped)), None)

    @property
    def finished(self) -> bool:
        """True when the run ended with a `RunStopped` event."""
        return self.run_stopped is not None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def parse_line(line: bytes | str) -> Event:
    """One log line back into its typed event; raises `ValidationError` for a line that is not one.

    The fast JSON parser rejects `\\ud800`-style escapes of lone surrogates, which the writer uses
    for text that has them (`tuiagents.session.log.to_json`); such a line is decoded with the
    standard library's parser instead, which gives back exactly the text that was written.
    """
    try:
        return parse_event(line)
    except ValidationError as exc:
        if exc.errors()[0]["type"] != "json_invalid":
            raise
        try:
            data = json.loads(line, parse_constant=_no_constant)
        except (ValueError, RecursionError):  # not JSON at all (UnicodeDecodeError included)
            raise exc from None
        return parse_event(data)


def _not_a_log(path: Path, why: str) -> SessionError:
    return SessionError(f"not a tuiagents session log ({why}); session logs are the .jsonl files "
                        "listed by `tuiagents sessions`", reason="not_a_log", path=path)


def parse_header(line: bytes, path: Path, *, cut_off: bool = False) -> SessionHeader:
    """Check and parse a log's first line; raises `SessionError` with the reason."""
    try:
        data = json.loads(line)
    except (ValueError, UnicodeDecodeError, RecursionError):
        if cut_off and line.lstrip().startswith(b'{"type":"session_header"'):
            raise SessionError("the header line is cut off (the run crashed while starting); "
                               "nothing can be recovered", reason="corrupt", path=path) from None
        raise _not_a_log(path, "the first line is not JSON") from None
    if not isinstance(data, dict) or data.get("type") != HEADER_TYPE:
        raise _not_a_log(path, "the first line is not a session header")
    version = data.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise _not_a_log(path, f"unknown log format {version!r}")
    if version > FORMAT_VERSION:
        raise SessionError(
            f"written by tuiagents {data.get('tuiagents_version', '?')} with log format {version}; "
            f"this tuiagents ({__version__}) reads formats 1 to {FORMAT_VERSION} — upgrade tuiagents "
            "(pip install -U tuiagents) to open it", reason="newer_format", path=path)
    try:
        return SessionHeader.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SessionError(f"the header is damaged ({where}: {first['msg']})",
                           reason="corrupt", path=path) from None


def _read_bytes(path: Path, limit: int | None = None) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read() if limit is None else f.readline(limit)
    except FileNotFoundError:
        raise SessionError("no such file; check the path, or run `tuiagents sessions` to list logs",
                           reason="missing", path=path) from None
    except IsADirectoryError:
        raise SessionError("is a folder, not a session log file", reason="bad_input", path=path) from None
    except OSError as exc:
        raise SessionError(f"cannot read: {exc.strerror}", reason="missing", path=path) from None


def _empty(path: Path) -> SessionError:
    return SessionError("the file is empty, so it is not a session log (a run that failed before "
                        "it started can leave one; it is safe to delete)", reason="empty", path=path)


def read_header(path: str | os.PathLike) -> SessionHeader:
    """Only the header of a log (fast: reads the first line)."""
    p = Path(path)
    first = _read_bytes(p, MAX_HEADER_BYTES)
    if not first.strip():
        raise _empty(p)
    return parse_header(first.rstrip(b"\r\n"), p, cut_off=not first.endswith(b"\n"))


def _error_text(exc: ValidationError) -> str:
    err = exc.errors()[0]
    if err["type"] == "json_invalid":
        return "invalid JSON"
    if err["type"] == "union_tag_invalid":
        return "unknown event type"
    where = ".".join(str(p) for p in err["loc"][1:]) or "event"
    return f"{where}: {err['msg']}"


def _skipped_note(bad: list[tuple[int, str]]) -> str | None:
    if not bad:
        return None
    if len(bad) == 1:
        return f"line {bad[0][0]} is not a valid event ({bad[0][1]}); skipped it"
    shown = ", ".join(str(n) for n, _ in bad[:10]) + (", ..." if len(bad) > 10 else "")
    return f"{len(bad)} lines are not valid events (lines {shown}); skipped them"


def _open(path: Path):
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise SessionError("no such file; check the path, or run `tuiagents sessions` to list logs",
                           reason="missing", path=path) from None
    except IsADirectoryError:
        raise SessionError("is a folder, not a session log file", reason="bad_input", path=path) from None
    except OSError as exc:
        raise SessionError(f"cannot read: {exc.strerror}", reason="missing", path=path) from None


class _Compactor:
    """Shares what thousands of events hold alike, so a long log takes less memory.

    Pydantic gives each model (an event, and a request, decision or message inside one) its own
    set of the field names it was given (728 bytes for five names, more than a token delta's
    data), and JSON parsing its own copy of each agent name: models of one shape share one set,
    and names are interned. Values do not change.
    """

    def __init__(self) -> None:
        self._sets: dict[frozenset[str], set[str]] = {}
        self._nested: dict[type, tuple[str, ...]] = {}  # per event class: fields that may hold models

    def _share(self, model: BaseModel) -> None:
        fields = model.__pydantic_fields_set__
        shared = self._sets.setdefault(frozenset(fields), fields)
        if shared is not fields:
            object.__setattr__(model, "__pydantic_fields_set__", shared)
        values = model.__dict__
        agent = values.get("agent")
        if agent.__class__ is str:
            values["agent"] = sys.intern(agent)

    def __call__(self, events: list) -> None:
        share, nested = self._share, self._nested
        for event in events:
            share(event)
            names = nested.get(event.__class__)
            if names is None:
                names = nested[event.__class__] = tuple(
                    n for n, v in event.__dict__.items() if isinstance(v, (BaseModel, list)))
            for name in names:
                value = event.__dict__[name]
                for inner in (value if isinstance(value, list) else (value,)):
                    if isinstance(inner, BaseModel):
                        share(inner)


def _chunks(lines: list[tuple[int, bytes]], size: int):
    for start in range(0, len(lines), size):
        yield lines[start:start + size]


def read_session(path: str | os.PathLike, *, strict: bool = False, token_deltas: bool = True,
                 max_events: int | None = None) -> SessionLog:
    """Read a whole log into typed events.

    Corrupt lines in the middle are skipped (and named in `notice`), or raise `SessionError`
    when `strict` is true. A cut-off last line is always dropped with a notice.
    `token_deltas=False` leaves streamed pieces out (they are about half the events of a long
    run and nothing but a streaming replay needs them), which makes reading about twice as fast.
    `max_events` stops after that many events (fork needs only the first N); the rest of the
    file is then not checked. The file is read a batch of lines at a time (never all at once),
    and events of one shape share their bookkeeping (`_Compactor`), which keeps the peak memory
    near what the events themselves need.
    """
    p = Path(path)
    collecting = gc.isenabled()
    # The events hold no cycles, but creating 100,000s of objects sets off the cyclic collector
    # again and again, each time walking every event made so far: more than half the read time.
    gc.disable()
    try:
        with _open(p) as f:
            return _read_open(p, f, strict=strict, token_deltas=token_deltas, max_events=max_events)
    except OSError as exc:
        raise SessionError(f"cannot read: {exc.strerror}", reason="missing", path=p) from None
    finally:
        if collecting:
            gc.enable()


def _read_open(p: Path, f, *, strict: bool, token_deltas: bool, max_events: int | None) -> SessionLog:
    first = f.readline()
    if not first.strip() and not f.read(READ_BATCH_BYTES).strip() and not f.read().strip():
        raise _empty(p)
    terminated = first.endswith(b"\n")
    header = parse_header(first[:-1].rstrip(b"\r") if terminated else first, p, cut_off=not terminated)
    log = SessionLog(path=p, header=header)
    if not terminated:
        return log
    compact = _Compactor()
    events: list = []
    bad: list[tuple[int, str]] = []
    offset, lineno = len(first), 1
    tail, tail_at = b"", 0
    while max_events is None or len(events) < max_events:
        batch = f.readlines(READ_BATCH_BYTES)
        if not batch:
            break
        numbered: list[tuple[int, bytes]] = []
        for line in batch:
            lineno += 1
            if not line.endswith(b"\n"):  # only the file's last line can lack one
                tail, tail_at = line, offset
                break
            offset += len(line)
            if not line.strip() or (not token_deltas and _TOKEN_DELTA in line):
                continue
            numbered.append((lineno, line[:-1]))
        del batch
        for chunk in _chunks(numbered, CHUNK_LINES):
            if max_events is not None and len(events) >= max_events:
                break
            try:  # fast path: one validation call per chunk of lines
                parsed = _events_adapter.validate_json(b"[" + b",".join(ln for _, ln in chunk) + b"]")
                if len(parsed) == len(chunk):
                    compact(parsed)
                    events += parsed
                    continue
            except ValidationError:
                pass
            for n, ln in chunk:  # a damaged line in this chunk: find it
                try:
                    events.append(parse_line(ln))
                except ValidationError as exc:
                    if strict:
                        raise SessionError(f"line {n} is not a valid event ({_error_text(exc)})",
                                           reason="corrupt", path=p) from None
                    bad.append((n, _error_text(exc)))
        if tail:
            break
    if max_events is not None and len(events) >= max_events:
        log.events = events[:max_events]
        log.notice = _skipped_note(bad)
        return log
    log.events = events
    notes = []
    if bad:
        log.skipped_lines = [n for n, _ in bad]
        notes.append(_skipped_note(bad))
    if tail.strip():
        try:
            last = parse_line(tail)
            if token_deltas or last.type != "token_delta":
                events.append(last)
        except ValidationError:
            log.cut_off_at = tail_at
            notes.append(f"line {lineno} is cut off (the run probably crashed); "
                         f"kept the {len(events)} events before it")
    log.notice = "; ".join(notes) or None
    return log
