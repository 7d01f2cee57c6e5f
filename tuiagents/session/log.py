"""The session log: one JSONL file per run, a header line then one event per line.

`SessionWriter` appends events as they happen (flushed per line, fsynced when the run stops or
the writer closes) and scrubs secrets from every line; it is a plain callable, so it can subscribe
to the engine's event bus directly. `read_session` (in `tuiagents.session.reader`, re-exported
here) turns a file back into a `SessionLog` of typed events.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable

from pydantic import BaseModel
from pydantic_core import PydanticSerializationError

from tuiagents.engine.events import RunStarted, RunStopped, TokenDelta
from tuiagents.session.header import (  # noqa: F401 - SessionError & co are importable from here too
    FORMAT_VERSION, HEADER_TYPE, ForkOrigin, SessionError, SessionHeader,
)
from tuiagents.session.secrets import Scrubber

#: Streamed text held back before token deltas are written anyway (see `SessionWriter.write`).
PENDING_CHARS = 16_384
#: When held-back text is written early, this much of its end stays held (longer than any key).
HOLD_BACK_CHARS = 512
#: File name suffix of session logs.
LOG_SUFFIX = ".jsonl"


def to_json(model: BaseModel) -> str:
    """`model` as one JSON line, whatever text it holds.

    Lone surrogates (`\\ud800`, which JSON allows and some servers send, or undecodable bytes kept
    with `surrogateescape`) cannot be encoded as UTF-8: such a line is written with `\\uXXXX`
    escapes instead, which the reader turns back into exactly the same text. NUL stays `\\u0000`.
    """
    try:
        return model.model_dump_json()
    except (PydanticSerializationError, UnicodeEncodeError):
        return json.dumps(model.model_dump(mode="json"), ensure_ascii=True, separators=(",", ":"))


def new_run_id() -> str:
    """A short, unique run id."""
    return uuid.uuid4().hex[:12]


def session_filename(team: str, run_id: str, when: datetime | None = None) -> str:
    """A log file name that sorts by time: `20240131-142501-<team>-<run_id>.jsonl`."""
    when = when or datetime.now()
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in team)[:40] or "run"
    return f"{when:%Y%m%d-%H%M%S}-{safe}-{run_id}{LOG_SUFFIX}"


def config_secrets(config: Any) -> list[str]:
    """API keys an AppConfig knows (in-memory keys, and the values of `api_key_env` variables)."""
    out: list[str] = []
    for m in getattr(config, "models", None) or []:
        key = getattr(m, "api_key", None)
        if key is not None:
            out.append(key.get_secret_value() if hasattr(key, "get_secret_value") else str(key))
        env = getattr(m, "api_key_env", None)
        if env and os.environ.get(env):
            out.append(os.environ[env])
    return out


def exists_error(path: Path) -> SessionError:
    """Why a new log cannot go to `path`, which exists: never overwritten, and who writes it, if anyone."""
    from tuiagents.session.lock import held_message, writer_of

    holder = writer_of(path) if path.is_file() else None
    why = f"; {held_message(path, holder, 'overwrite')}" if holder is not None else ""
    return SessionError(f"a file with this name already exists; it was left untouched{why}",
                        reason="exists", path=path)


def _blocking_file(path: Path) -> Path | None:
    """The nearest existing ancestor of `path` that is not a folder (it stops the log's folder being made)."""
    for parent in path.parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


class SessionWriter:
    """Appends a run's events to a JSONL log, one flushed line per event.

    Use it as an event-bus subscriber: `bus.subscribe(writer)`; `writer(event)` writes the event.
    With `header=None` the header is written when the first `RunStarted` arrives (built with
    `SessionHeader.from_run(event, config)`); events before it are held until then (or until
    `close()`, which writes them under a stand-in header when the run never started).
    `token_deltas=False` leaves streamed pieces out of the log (smaller files; replay then shows
    whole messages). Every line passes through a `Scrubber` first, so API keys from the
    environment, from `config` and from `secrets` never reach the file. The file is created with
    mode 0600 and never overwritten.

    The writer holds the log's lock (`tuiagents.session.lock`) until it closes, so no second
    process can append to, resume, fork or delete the log meanwhile. When a line cannot be written
    (disk full, a bug), the file is cut back to its last whole line, `failure` is set and every
    later write raises it: the event bus then stops the run (`required`), which never goes on
    with its log silently gone.
    """

    #: The event bus stops the run when this subscriber fails, instead of dropping it.
    required = True

    def __init__(self, path: str | os.PathLike, header: SessionHeader | None = None, *,
                 token_deltas: bool = True, config: Any = None, secrets: Iterable[str] = (),
                 work_dir: str | os.PathLike | None = None, _fd: int | None = None):
        self.path = Path(path)
        #: recorded in the header written at `RunStarted`, so a resume works in the same folder
        self.work_dir = str(work_dir) if work_dir is not None else None
        self.header = header
        self.token_deltas = token_deltas
        self.events_written = 0
        #: Set by `open_append` when a cut-off last line had to be removed.
        self.recovery_notice: str | None = None
        #: Why the log could not be written (set once; the writer then refuses every write).
        self.failure: SessionError | None = None
        self._config = config
        self._secrets = list(secrets)
        self._scrub = Scrubber([*self._secrets, *config_secrets(config)])
        self._lock = threading.Lock()
        self._pending: list[TokenDelta] = []
        self._pending_chars = 0
        self._early: list[Any] = []
        self._batch: list[bytes] | None = None
        self._closed = False
        created = _fd is None
        fd = self._create(self.path) if _fd is None else _fd
        self._file = open(fd, "ab", buffering=0)
        self._size = os.fstat(fd).st_size  # bytes on disk, always whole lines
        if header is not None and created:
            try:
                self._write_line(to_json(header))
            except OSError as exc:
                self._file.close()
                self.path.unlink(missing_ok=True)  # our own empty file: nothing to keep
                raise SessionError(f"cannot write the session log: {exc.strerror}", reason="write_failed",
                                   path=self.path) from None

    @staticmethod
    def _create(path: Path) -> int:
        """Create the log (never over an existing file) and take its lock; a clear error otherwise."""
        from tuiagents.session.lock import try_lock

        blocker = _blocking_file(path)
        if blocker is not None:
            raise SessionError(f"cannot create the session log: {blocker} is a file, not a folder; "
                               "choose a path inside a folder", reason="bad_input", path=path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            if path.is_dir():
                raise SessionError("is a folder; give the session log a file name inside it "
                                   f"(for example {path / 'run.jsonl'})", reason="bad_input", path=path) from None
            raise exists_error(path) from None
        except OSError as exc:
            raise SessionError(f"cannot create the session log: {exc.strerror or exc}; choose another path",
                               reason="bad_input", path=path) from None
        try:
            try_lock(fd, path, "write")
        except BaseException:
            os.close(fd)
            raise
        return fd

    @classmethod
    def open_append(cls, path: str | os.PathLike, *, token_deltas: bool = True, config: Any = None,
                    secrets: Iterable[str] = (), action: str = "resume") -> "SessionWriter":
        """Reopen an existing log to append more events (resume); no second header is written.

        The log's lock is taken first (`SessionError` with reason `locked`, naming the process,
        when another one writes it), then the log is read under it: `writer.log` holds what was
        read (so a log that cannot be used raises `SessionError`). A last line cut off by a crash
        is removed, so new events start on a line of their own; `writer.recovery_notice` then
        says so (the resumer can show it as a Notice).
        """
        import stat

        from tuiagents.session.lock import try_lock
        from tuiagents.session.reader import read_session

        p = Path(path)
        try:
            fd = os.open(p, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK)
        except FileNotFoundError:
            raise SessionError("no such file; check the path, or run `tuiagents sessions` to list logs",
                               reason="missing", path=p) from None
        except OSError as exc:
            raise SessionError(f"cannot open the log for writing: {exc.strerror or exc}", reason="bad_input",
                               path=p) from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise SessionError("not a regular file, so not a session log", reason="bad_input", path=p)
            try_lock(fd, p, action)
            log = read_session(p)
            notice = None
            if log.cut_off_at is not None:
                os.ftruncate(fd, log.cut_off_at)
                notice = log.notice
            writer = cls(p, log.header, token_deltas=token_deltas, config=config, secrets=secrets, _fd=fd)
        except BaseException:
            os.close(fd)
            raise
        writer.events_written = len(log.events)
        writer.recovery_notice = notice
        writer.log = log
        return writer

    @property
    def config(self) -> Any:
        """The config the run was built from (a resume's: the one given, else the log's copy)."""
        return self._config

    def use_config(self, config: Any) -> None:
        """Scrub the keys `config` knows too (resume learns the config from the log it locked)."""
        self._config = config
        self._scrub = Scrubber([*self._secrets, *config_secrets(config)])

    def __call__(self, event: Any) -> None:
        """Write `event` (the event-bus subscriber interface)."""
        self.write(event)

    def write(self, event: Any) -> None:
        """Append one event as a JSON line; flush, and fsync when the run stopped.

        Token deltas are held back until the next other event (or `close()`, or a large amount of
        streamed text), then scrubbed together: an API key that a model streams in several pieces
        is caught as a whole. Lines stay in `seq` order. Raises `SessionError` (reason
        `write_failed`) when the line cannot be written, and on every later call.
        """
        with self._lock:
            if self.failure is not None:
                raise self.failure
            if self._closed:
                raise SessionError("the session log was already closed", reason="closed", path=self.path)
            try:
                self._write_event(event)
            except Exception as exc:  # noqa: BLE001 - any failure (disk, a bug) ends the log's story here
                raise self._fail(exc) from exc

    def _write_event(self, event: Any) -> None:
        if isinstance(event, TokenDelta):
            if self.token_deltas:
                self._pending.append(event)
                self._pending_chars += len(event.text)
                if self._pending_chars > PENDING_CHARS and self.header is not None:
                    self._flush_deltas(keep=HOLD_BACK_CHARS)
            return
        if self.header is None:
            if not isinstance(event, RunStarted):
                self._early.append(event)  # kept until the header can be written
                return
            self._write_header(SessionHeader.from_run(event, self._config, work_dir=self.work_dir))
        self._flush_deltas()
        self._write_line(to_json(event))
        self.events_written += 1
        if isinstance(event, RunStopped):
            self._sync()

    def _fail(self, exc: BaseException) -> SessionError:
        """Record why writing failed and cut the file back to its last whole line."""
        if self.failure is None:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else f"{type(exc).__name__}: {exc}"
            self._batch = None
            try:
                os.ftruncate(self._file.fileno(), self._size)  # no half line at the end
            except OSError:
                pass  # the reader still drops a cut-off last line
            self.failure = SessionError(
                f"the session log cannot be written ({why}); the {self.events_written} events before "
                "this point stay readable", reason="write_failed", path=self.path)
        return self.failure

    def _write_header(self, header: SessionHeader) -> None:
        self.header = header
        self._write_line(to_json(header))
        early, self._early = self._early, []
        for ev in early:
            self._write_line(to_json(ev))
            self.events_written += 1

    def _flush_deltas(self, keep: int = 0) -> None:
        """Write held-back token deltas, scrubbed per agent; with `keep`, hold back the last
        `keep` characters of each agent's text (and any secret that reaches into them)."""
        if not self._pending:
            return
        pending = self._pending
        by_agent: dict[str, list[int]] = {}
        for i, ev in enumerate(pending):
            by_agent.setdefault(ev.agent, []).append(i)
        texts = [ev.text for ev in pending]
        cut = len(pending)
        for idx in by_agent.values():
            pieces = [pending[i].text for i in idx]
            for i, t in zip(idx, self._scrub.scrub_pieces(pieces)):
                texts[i] = t
            if keep:
                ends, total = [], 0
                for p in pieces:
                    total += len(p)
                    ends.append(total)
                spans = self._scrub.spans("".join(pieces))
                k = next((j for j, e in enumerate(ends) if e > total - keep), len(idx))
                while k > 0:  # no secret may straddle the cut
                    b = ends[k - 1]
                    inside = [a for a, z in spans if a < b < z]
                    if not inside:
                        break
                    k = next(j for j, e in enumerate(ends) if e > min(inside))
                if k < len(idx):
                    cut = min(cut, idx[k])
        lines = []
        for i in range(cut):
            ev = pending[i]
            if texts[i] != ev.text:
                ev = ev.model_copy(update={"text": texts[i]})
            lines.append(to_json(ev))
        if lines:
            # one scrubber test and one write for all the streamed lines, not one per line: they
            # were held back together, and most hold no secret
            self._write_raw("\n".join(self._scrub.scrub_lines(lines)))
            self.events_written += len(lines)
        self._pending = pending[cut:]
        self._pending_chars = sum(len(ev.text) for ev in self._pending)

    def _write_line(self, text: str) -> None:
        self._write_raw(self._scrub(text))

    def _write_raw(self, text: str) -> None:
        """Append `text`, already scrubbed, as whole lines."""
        data = (text + "\n").encode("utf-8")
        if self._batch is not None:
            self._batch.append(data)
        else:
            self._write_bytes(data)

    def _write_bytes(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = self._file.write(view)
            view = view[n:]
        self._size += len(data)

    def _sync(self) -> None:
        if self._batch:
            self._write_bytes(b"".join(self._batch))
            self._batch = []
        os.fsync(self._file.fileno())

    def write_many(self, events: Iterable[Any]) -> None:
        """Write many events with one system call (fork, import); same rules as `write`."""
        self._batch = []
        try:
            for ev in events:
                self.write(ev)
        finally:
            batch, self._batch = self._batch, None
        if batch:
            with self._lock:
                try:
                    self._write_bytes(b"".join(batch))
                except Exception as exc:  # noqa: BLE001 - same as a failed write
                    raise self._fail(exc) from exc

    def close(self) -> None:
        """Sync the file to disk, close it and drop the lock; further writes raise `SessionError`.

        Never raises: a failure to write what was still held back is kept in `failure`.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                if self.failure is None:
                    if self.header is None and (self._early or self._pending):
                        # the run failed before it started: keep what it said, under a stand-in header
                        self._write_header(SessionHeader(run_id=new_run_id(), team="(not started)"))
                    self._flush_deltas()
                    self._sync()
            except Exception as exc:  # noqa: BLE001 - recorded for whoever checks `failure`
                self._fail(exc)
            finally:
                self._file.close()

    @property
    def closed(self) -> bool:
        """True once `close()` ran."""
        return self._closed

    def __enter__(self) -> "SessionWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def __getattr__(name: str) -> Any:  # read_session & co live in reader.py; importable from here too
    if name in {"read_session", "SessionLog", "read_header"}:
        from tuiagents.session import reader

        return getattr(reader, name)
    raise AttributeError(name)
