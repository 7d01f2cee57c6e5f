"""One writer per session log: an advisory lock on the log file itself, and who holds it.

The process that writes a log holds `flock(LOCK_EX)` on it for as long as the run writes; the OS
drops the lock when that process ends, however it ends (`kill -9` included), so a stale lock
cannot exist. Resume, fork, delete and import over a log first take the lock themselves (without
waiting) and refuse with a message naming the holder when someone else has it. On Linux the
holder's pid comes from `/proc/locks` and what it is from its command line.

`flock` locks belong to an open file, not to a process: a second open of the same log in the same
process conflicts too, which is what lets the app refuse to delete or resume its own live log.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from tuiagents.secrets import mask
from tuiagents.session.header import SessionError

#: How long taking a lock retries before it gives up: a listing or a fork holds a shared lock
#: for a moment, which must not make a resume fail.
RETRY_SECONDS = 0.5


@dataclass(frozen=True)
class LockHolder:
    """Who holds a log's lock: a pid (None when the OS does not say), what it runs, and how."""

    pid: int | None
    command: str = ""
    writing: bool = True

    @property
    def is_this_process(self) -> bool:
        """True when the holder is the calling process (for example the app's own run)."""
        return self.pid == os.getpid()

    def describe(self) -> str:
        """`pid 1234 (python3 -m tuiagents run --headless ...)`, or `this process (pid 1234)`."""
        if self.pid is None:
            return "another process"
        if self.is_this_process:
            return f"this process (pid {self.pid}{': ' + self.command if self.command else ''})"
        return f"pid {self.pid}" + (f" ({self.command})" if self.command else "")


def _command_of(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    args = [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a]
    if not args:
        return ""
    args[0] = os.path.basename(args[0])
    text = " ".join(args)
    # a command line is ours to show but may be long; control characters stay out of messages
    text = "".join(c if c.isprintable() else "?" for c in mask(text))  # a key typed into a task stays masked
    return text if len(text) <= 120 else text[:119] + "…"


def holder_of(fd: int) -> LockHolder:
    """Who holds a lock on the file open as `fd` (looked up in `/proc/locks` on Linux)."""
    st = os.fstat(fd)
    dev = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    by_inode: list[LockHolder] = []
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return LockHolder(None)
    for line in lines:
        parts = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 fe:00:1466788 0 EOF"; waiters carry a "->" field
        if len(parts) < 6 or parts[1] == "->" or parts[1] != "FLOCK":
            continue
        try:
            pid = int(parts[4])
        except ValueError:
            continue
        holder = LockHolder(pid if pid > 0 else None, _command_of(pid) if pid > 0 else "",
                            writing=parts[3] == "WRITE")
        if parts[5] == dev:
            return holder
        if parts[5].rsplit(":", 1)[-1] == str(st.st_ino):
            by_inode.append(holder)  # some file systems (overlays) report another device
    return by_inode[0] if len(by_inode) == 1 else LockHolder(None)


def held_message(path: Path, holder: LockHolder, action: str) -> str:
    """Why `action` (resume, fork, delete, ...) of the log at `path` is refused, and what to do."""
    if holder.writing:
        what = f"the log is being written by {holder.describe()}"
        if holder.is_this_process:
            return (f"cannot {action} it: it is the run going on in this app ({what}); "
                    "stop that run first")
        return (f"cannot {action} it: {what}, and a log has one writer; wait until that run ends "
                f"(or stop it), then try again")
    return f"cannot {action} it now: {holder.describe()} is reading it; try again in a moment"


def try_lock(fd: int, path: Path, action: str, *, exclusive: bool = True) -> None:
    """Lock the open log `fd` without waiting long; raise `SessionError` (reason `locked`) naming the holder."""
    mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
    deadline = time.monotonic() + RETRY_SECONDS
    while True:
        try:
            fcntl.flock(fd, mode)
            return
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise SessionError(f"cannot lock the log: {exc.strerror}", reason="locked", path=path) from None
        holder = holder_of(fd)
        # a reader's shared lock lasts a moment; a writer's lasts the whole run
        if holder.writing or time.monotonic() >= deadline:
            raise SessionError(held_message(path, holder, action), reason="locked", path=path)
        time.sleep(0.02)


@contextmanager
def locked(path: str | os.PathLike, action: str, *, exclusive: bool = False) -> Iterator[int]:
    """Hold the log's lock (shared by default) for the `with` block; refuse when a writer has it.

    Yields the open file descriptor (read-only). A missing file raises `SessionError` (missing).
    """
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise SessionError("no such file; check the path, or run `tuiagents sessions` to list logs",
                           reason="missing", path=p) from None
    except OSError as exc:
        raise SessionError(f"cannot open: {exc.strerror}", reason="missing", path=p) from None
    try:
        try_lock(fd, p, action, exclusive=exclusive)
        yield fd
    finally:
        os.close(fd)  # closing the file drops the lock


def writer_of(path: str | os.PathLike) -> LockHolder | None:
    """The process writing the log at `path` now, or None when nobody writes it."""
    try:
        with locked(path, "check"):
            return None
    except SessionError as exc:
        if exc.reason != "locked":
            return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:  # gone meanwhile
        return None
    try:
        return holder_of(fd)
    finally:
        os.close(fd)
