"""Write files into a session's work dir without ever following a path out of it.

Code running in the sandbox can rewrite the work dir (it is bind-mounted), for example replace a
folder with a symlink to ``/etc``. tuiagents writes into that same folder on the host, possibly
as root, so every write walks the path one component at a time with ``O_NOFOLLOW`` directory
file descriptors: a symlink anywhere on the way is refused instead of followed.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path, PurePosixPath

from tuiagents.execution.codeblocks import check_filename

# Scripts, full outputs and cancel markers live here, inside the work dir.
CONTROL_DIR = ".tuiagents"


class UnsafePathError(ValueError):
    """A path would leave the work dir (absolute, ``..``, or through a symlink)."""


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
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
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

    Missing folders are created. ``flags`` are ``os.open`` flags (``O_NOFOLLOW`` is added).
    Raises :class:`UnsafePathError` with a message for the agent when the path could escape.
    """
    problem = check_filename(relative) if not relative.startswith(CONTROL_DIR + "/") else None
    if problem:
        raise UnsafePathError(problem)
    parts = PurePosixPath(relative.replace("\\", "/")).parts
    if not parts or ".." in parts or parts[0] == "/":
        raise UnsafePathError(f"refused to use {relative!r}: not a path inside the work dir")
    fd = os.open(Path(work_dir).resolve(), os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            if part == ".":
                continue
            next_fd = _open_dir(fd, part, relative, create=True, owner=owner)
            os.close(fd)
            fd = next_fd
        try:
            file_fd = os.open(parts[-1], flags | os.O_NOFOLLOW, 0o644, dir_fd=fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UnsafePathError(
                    f"refused to write {relative!r}: it is a symbolic link, which could point "
                    "outside the work dir"
                ) from None
            if exc.errno == errno.EISDIR:
                raise UnsafePathError(f"refused to write {relative!r}: it is a folder") from None
            raise
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
