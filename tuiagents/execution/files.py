"""Write files into a session's work dir without ever following a path out of it.

Code running in the sandbox can rewrite the work dir (it is bind-mounted), for example replace a
folder with a symlink to ``/etc``, or leave a FIFO, a socket or a device node where the next
block's ``# filename:`` goes. tuiagents writes into that same folder on the host, possibly as
root, so every write walks the path one component at a time with ``O_NOFOLLOW`` directory file
descriptors (a symlink anywhere on the way is refused instead of followed), and every open is
``O_NONBLOCK`` and checked with ``fstat``: anything but a regular file is refused with a message,
never opened for real (a FIFO would block until someone reads it). Callers on the event loop go
through :func:`off_loop`, so a slow or hung file system cannot freeze the app either.
"""

from __future__ import annotations

import asyncio
import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from tuiagents.execution.codeblocks import check_filename

# Scripts, full outputs and cancel markers live here, inside the work dir.
CONTROL_DIR = ".tuiagents"


# How long host-side file work in the work dir may take before the block is refused.
FILE_TIMEOUT = 10.0

_KINDS = {stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFSOCK: "a socket",
          stat.S_IFCHR: "a device node", stat.S_IFBLK: "a device node", stat.S_IFDIR: "a folder",
          stat.S_IFLNK: "a symbolic link"}


class UnsafePathError(ValueError):
    """A path would leave the work dir (absolute, ``..``, through a symlink) or is not a file."""


async def off_loop(func: Callable, *args, timeout: float = FILE_TIMEOUT):
    """Run blocking file work in a thread, giving up after ``timeout`` seconds.

    Raises :class:`UnsafePathError` with a message when the work does not finish in time.
    """
    try:
        return await asyncio.wait_for(asyncio.to_thread(func, *args), timeout)
    except asyncio.TimeoutError:
        raise UnsafePathError(
            f"gave up on the work dir after {timeout:g} s: the file system did not answer"
        ) from None


def _refuse_special(fd: int, relative: str) -> None:
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
        raise UnsafePathError(
            f"refused to use {relative!r}: it is {kind} left in the work dir; delete it or "
            "pick another file name"
        )


def _share(fd: int, owner: tuple[int, int] | None, is_dir: bool) -> None:
    """Let the sandbox user (``owner``) write what the host just created."""
    if owner is None:
        return
    if os.geteuid() == 0:
        os.fchown(fd, *owner)
    elif owner[0] != os.geteuid():
        # We cannot give the file away, so open it up instead: the work dir is the session's
        # scratch space, shared on purpose with the sandbox.
        os.fchmod(fd, 0o777 if is_dir else 0o666)


def _open_dir(parent_fd: int, name: str, shown: str, create: bool, owner) -> int:
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK
    try:
        return os.open(name, flags, dir_fd=parent_fd)
    except FileNotFoundError:
        if not create:
            raise
        os.mkdir(name, 0o755, dir_fd=parent_fd)
        fd = os.open(name, flags, dir_fd=parent_fd)
        _share(fd, owner, is_dir=True)
        return fd
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise UnsafePathError(
                f"refused to use {shown!r}: {name!r} is a symbolic link or not a folder, "
                "and could lead outside the work dir"
            ) from None
        raise


def open_in_work_dir(
    work_dir: Path, relative: str, flags: int, owner: tuple[int, int] | None = None
) -> int:
    """Open ``work_dir/relative`` safely and return the file descriptor.

    Missing folders are created. ``flags`` are ``os.open`` flags (``O_NOFOLLOW`` and
    ``O_NONBLOCK`` are added, and the file must turn out to be a regular one). Raises
    :class:`UnsafePathError` with a message for the agent when the path could escape or is a
    FIFO, socket, device node or symlink.
    """
    problem = check_filename(relative) if not relative.startswith(CONTROL_DIR + "/") else None
    if problem:
        raise UnsafePathError(problem)
    parts = PurePosixPath(relative.replace("\\", "/")).parts
    if not parts or ".." in parts or parts[0] == "/":
        raise UnsafePathError(f"refused to use {relative!r}: not a path inside the work dir")
    fd = os.open(Path(work_dir).resolve(), os.O_RDONLY | os.O_DIRECTORY | os.O_NONBLOCK)
    try:
        for part in parts[:-1]:
            if part == ".":
                continue
            next_fd = _open_dir(fd, part, relative, create=True, owner=owner)
            os.close(fd)
            fd = next_fd
        try:
            file_fd = os.open(parts[-1], flags | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644, dir_fd=fd)
        except OSError as exc:
            if exc.errno in (errno.ENXIO, errno.ENODEV, errno.EOPNOTSUPP):  # FIFO, socket
                raise UnsafePathError(
                    f"refused to use {relative!r}: it is a FIFO, socket or device node left in "
                    "the work dir; delete it or pick another file name"
                ) from None
            if exc.errno == errno.ELOOP:
                raise UnsafePathError(
                    f"refused to write {relative!r}: it is a symbolic link, which could point "
                    "outside the work dir"
                ) from None
            if exc.errno == errno.EISDIR:
                raise UnsafePathError(f"refused to write {relative!r}: it is a folder") from None
            raise
        _refuse_special(file_fd, relative)
        os.set_blocking(file_fd, True)
        if flags & os.O_CREAT:
            _share(file_fd, owner, is_dir=False)
        return file_fd
    finally:
        os.close(fd)


def write_in_work_dir(
    work_dir: Path, relative: str, data: bytes, owner: tuple[int, int] | None = None
) -> Path:
    """Create or replace ``work_dir/relative`` with ``data``; return its host path."""
    fd = open_in_work_dir(work_dir, relative, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, owner)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return Path(work_dir).resolve() / relative


def remove_in_work_dir(work_dir: Path, relative: str) -> None:
    """Delete a control file if it is still there (never through a symlink)."""
    parent, _, name = relative.rpartition("/")
    try:
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
        fd = os.open(Path(work_dir).resolve() / parent, flags)
    except OSError:
        return
    try:
        os.unlink(name, dir_fd=fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def share_dir(path: Path, owner: tuple[int, int] | None) -> None:
    """Make the work dir itself writable for the sandbox user ``owner`` (uid, gid)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _share(fd, owner, is_dir=True)
    finally:
        os.close(fd)
