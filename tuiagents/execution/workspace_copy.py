"""Copying a block's changes back from the sandbox's copy of the work dir, and what both sides hold.

For a daemon that cannot see this disk (:mod:`workspace_mode`), the sandbox's work dir is a Docker
volume. Before a block, :mod:`workspace_pack` tars the host files that changed since the last sync
(the Docker API's ``put_archive`` unpacks it into the volume) and lists what was deleted here.
After it, :func:`unpack_changes` reads the volume's tar (``get_archive``) and brings back what
differs: never following a symlink, never leaving the work dir (absolute names, ``..``, a path
through a symlink are refused), never making device files, and never writing more than the disk
limit. A file is compared with the host's copy as it streams, so an unchanged file costs a read,
not a write. :class:`Manifest` remembers what both sides held after the last sync, so a file
changed here during a block is not overwritten by the sandbox's older copy, and a file made here
is not taken for one the block deleted.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from tuiagents.execution.sandbox_disk import DIR_FLAGS, remove_entry
from tuiagents.execution.sandbox_stage import STAGE

CHUNK = 1 << 20
COPYING = ".tuiagents-copying"  # a changed file is written under this name, then renamed
# Tar headers, long names and padding on top of the data a stream may carry back.
METADATA_ALLOWANCE = 64 << 20
MAX_NOTES = 5


@dataclass
class Synced:
    """One work-dir entry as both sides held it after the last sync."""

    kind: str  # "file", "dir", "link", or "special" (a FIFO, socket or device left there)
    digest: str  # sha256 of a file's bytes, a link's target, "" for a folder
    host: tuple[int, int, int, int]  # the host copy's (mtime_ns, size, inode, mode) then
    size: int = 0


@dataclass
class Manifest:
    """What the sandbox's copy of the work dir holds (relative POSIX path -> entry)."""

    entries: dict[str, Synced] = field(default_factory=dict)

    def total(self) -> int:
        """Bytes of file data the sandbox's copy holds."""
        return sum(entry.size for entry in self.entries.values())


@dataclass
class CopyBack:
    """What bringing a block's changes back did: files written, limits hit, what was refused."""

    written: int = 0
    files: int = 0  # files written or given new permissions here
    disk_hit: bool = False
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        """Keep a few notes for the result; the rest are counted by their kind."""
        if len(self.notes) < MAX_NOTES:
            self.notes.append(text)


def signature(st: os.stat_result) -> tuple[int, int, int, int]:
    """What tells a changed entry here from the one synced: times, size, inode, mode."""
    if stat.S_ISDIR(st.st_mode):  # a folder's times change with what is in it: not itself
        return 0, 0, st.st_ino, st.st_mode
    return st.st_mtime_ns, st.st_size, st.st_ino, st.st_mode


def kind_of(mode: int) -> str | None:
    """"file", "dir" or "link" for what crosses; None for what stays where it was made."""
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISLNK(mode):
        return "link"
    return None  # FIFOs, sockets and device nodes stay on the side that made them


class _Capped(io.RawIOBase):
    """The tar stream from the daemon, refused past ``cap`` bytes."""

    def __init__(self, chunks: Iterable[bytes], cap: int) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._buffer = b""
        self.cap = cap
        self.read_so_far = 0

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:  # type: ignore[override]
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        self.read_so_far += size
        if self.read_so_far > self.cap:
            raise OverflowError(self.cap)
        return size


def _safe_parts(name: str, top: str) -> list[str] | None:
    """The member's path below the work dir as components, or None if it would leave it."""
    if name.startswith("/"):
        return None
    parts = name.split("/")
    if not parts or parts[0] != top:
        return None
    parts = [p for p in parts[1:] if p != ""]
    if any(p in (".", "..") for p in parts):
        return None
    return parts


def _open_parent(root_fd: int, parts: list[str]) -> int:
    """A new fd of the folder holding ``parts[-1]``, every step without following a link."""
    fd = os.dup(root_fd)
    try:
        for part in parts[:-1]:
            child = os.open(part, DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def unpack_changes(chunks: Iterable[bytes], work_dir: str, top: str, manifest: Manifest,
                   budget: int, owner: tuple[int, int] | None,
                   scope: list[str] | None = None) -> CopyBack:
    """Blocking: bring what differs in the sandbox's tar (folder ``top``) into ``work_dir``.

    Writes at most ``budget`` bytes of changed files; updates ``manifest`` to what both sides
    hold. Entries of the manifest that the tar no longer has were deleted by the block and are
    deleted here, unless this side changed them since. With ``scope``, the tar is the watchdog's
    gathering of the block's changes (:mod:`sandbox_stage`): it holds the work dir's top entries
    ``scope`` names (those it lacks were deleted), and nothing else is touched.
    """
    report = CopyBack()
    named = None if scope is None else set(scope)
    cap = manifest.total() + budget + METADATA_ALLOWANCE + 1024 * len(manifest.entries)
    stream = _Capped(chunks, cap)
    seen: set[str] = set()
    complete = False
    root_fd = os.open(work_dir, DIR_FLAGS)
    try:
        with tarfile.open(fileobj=io.BufferedReader(stream, CHUNK), mode="r|") as tar:
            for member in tar:
                parts = _safe_parts(member.name, top)
                if parts is None:
                    report.note(f"{member.name!r} was not copied back: it would leave the work dir")
                    continue
                if not parts or parts[0] == STAGE and scope is None:
                    continue  # the watchdog's own folder (a full read): never crosses
                if named is not None and parts[0] not in named:
                    report.note(f"{member.name!r} was not copied back: the block did not change it")
                    continue
                rel = "/".join(parts)
                try:
                    parent = _open_parent(root_fd, parts)
                except OSError:
                    report.note(f"{rel} was not copied back: its folder is a link or missing here")
                    continue
                try:
                    if _bring(tar, member, parent, parts[-1], rel, manifest, report, budget, owner,
                              (root_fd, top)):
                        seen.add(rel)
                except OSError as exc:
                    report.note(f"{rel} was not copied back: {exc.strerror or exc}")
                finally:
                    os.close(parent)
            complete = True
    except OverflowError:
        report.disk_hit = True
        report.note("the sandbox's work dir holds more than the disk limit allows back: "
                    "the copy back stopped")
    except tarfile.TarError as exc:
        report.note(f"the copy back stopped: the daemon's archive is unreadable ({exc})")
    finally:
        if complete:
            _apply_deletions(root_fd, manifest, seen, scope)
        os.close(root_fd)
    return report


def _bring(tar: tarfile.TarFile, member: tarfile.TarInfo, parent: int, name: str, rel: str,
           manifest: Manifest, report: CopyBack, budget: int, owner: tuple[int, int] | None,
           root: tuple[int, str]) -> bool:
    """Bring one member into ``parent``; whether it now exists on both sides."""
    known = manifest.entries.get(rel)
    try:
        here = os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        here = None
    if member.isdir():
        if here is None or not stat.S_ISDIR(here.st_mode):
            if here is not None:
                remove_entry(parent, name)
            os.mkdir(name, 0o700, dir_fd=parent)
        fd = os.open(name, DIR_FLAGS, dir_fd=parent)
        try:
            os.fchmod(fd, (member.mode & 0o777) | 0o700)
            if owner is not None and os.geteuid() == 0:
                os.fchown(fd, *owner)
            manifest.entries[rel] = Synced("dir", "", signature(os.fstat(fd)))
        finally:
            os.close(fd)
        return True
    if member.issym():
        if here is not None and stat.S_ISLNK(here.st_mode) \
                and os.readlink(name, dir_fd=parent) == member.linkname:
            manifest.entries[rel] = Synced("link", member.linkname, signature(here))
            return True
        if known is not None and here is not None and known.host != signature(here) \
                and known.digest == member.linkname:
            return True  # changed here since, unchanged there: this side's wins
        if here is not None:
            remove_entry(parent, name)
        os.symlink(member.linkname, name, dir_fd=parent)  # made, never followed
        after = os.stat(name, dir_fd=parent, follow_symlinks=False)
        manifest.entries[rel] = Synced("link", member.linkname, signature(after))
        return True
    if member.islnk():  # a second name of a file this archive brought: a copy of it here
        source = _linked(member.linkname, root)
        if source is None:
            report.note(f"{rel} was not copied back: it is a hard link to what is not here")
            return known is not None
        with source:
            copy = tarfile.TarInfo(member.name)
            copy.size, copy.mode, copy.mtime = os.fstat(source.fileno()).st_size, member.mode, member.mtime
            return _bring_file(source, copy, parent, name, rel, here, known, manifest, report,
                               budget, owner)
    if not member.isreg():
        if known is None or known.kind != "special":  # said once, not after every block
            report.note(f"{rel} was not copied back: it is a device file, FIFO or socket")
        manifest.entries[rel] = Synced("special", "", (0, 0, 0, 0))
        return True
    return _bring_file(tar.extractfile(member), member, parent, name, rel, here, known, manifest,
                       report, budget, owner)


def _linked(linkname: str, root: tuple[int, str]):
    """The host's file a hard link member names (inside the work dir, no link followed), or None."""
    root_fd, top = root
    parts = _safe_parts(linkname, top)
    if not parts:
        return None
    try:
        parent = _open_parent(root_fd, parts)
    except OSError:
        return None
    try:
        fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=parent)
    except OSError:
        return None
    finally:
        os.close(parent)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return os.fdopen(fd, "rb")


def _bring_file(source, member, parent, name, rel, here, known, manifest, report, budget, owner) -> bool:
    host = None
    if here is not None and stat.S_ISREG(here.st_mode):
        host = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=parent)
    digest, out, offset, refused = hashlib.sha256(), None, 0, False
    try:
        while True:
            chunk = source.read(CHUNK) if source is not None else b""
            if not chunk:
                break
            digest.update(chunk)
            if out is None and host is not None and os.pread(host, len(chunk), offset) == chunk:
                offset += len(chunk)
                continue
            if out is None and not refused:
                out, refused = _start_copy(parent, host, offset, member.size, report, budget)
            if out is not None:
                os.write(out, chunk)
            offset += len(chunk)
        if out is None and not refused and (host is None or os.fstat(host).st_size != member.size):
            out, refused = _start_copy(parent, host, offset, member.size, report, budget)
        if refused:
            report.note(f"disk limit reached: {rel} ({member.size} bytes) was not copied back")
            return known is not None
        same_there = known is not None and known.digest == digest.hexdigest()
        if out is None:
            final = os.fstat(host)
            if known is not None and known.host != signature(final):
                return True  # changed here since (its mode, say): this side's wins, sent next
            changed = _same_mode(host, member)
            report.files += changed is not None
            final = changed or final
        elif same_there and here is not None and known.host != signature(here):
            os.close(out)  # changed here during the block and not there: this side's wins
            out = None
            remove_entry(parent, COPYING)
            return True
        else:
            report.written += member.size
            report.files += 1
            os.fchmod(out, member.mode & 0o777 | 0o600)
            if owner is not None and os.geteuid() == 0:
                os.fchown(out, *owner)
            os.utime(out, (member.mtime, member.mtime))
            final = os.fstat(out)
            os.close(out)
            out = None
            if here is not None and stat.S_ISDIR(here.st_mode):
                remove_entry(parent, name)
            os.rename(COPYING, name, src_dir_fd=parent, dst_dir_fd=parent)
        manifest.entries[rel] = Synced("file", digest.hexdigest(), signature(final), member.size)
        return True
    finally:
        if out is not None:
            os.close(out)
            remove_entry(parent, COPYING)
        if host is not None:
            os.close(host)


def _same_mode(fd: int, member: tarfile.TarInfo) -> os.stat_result | None:
    """A file whose bytes are the same there but not its permissions (a ``chmod +x``): take
    them, as a written file does; never setuid, setgid or sticky, never another owner. The
    host's copy after, or None if it had them already."""
    mode = member.mode & 0o777 | 0o600
    if stat.S_IMODE(os.fstat(fd).st_mode) == mode:
        return None
    os.fchmod(fd, mode)
    return os.fstat(fd)


def _start_copy(parent: int, host: int | None, offset: int, size: int, report: CopyBack,
                budget: int) -> tuple[int | None, bool]:
    """Open the file a changed one is written to, with the host's equal prefix; or refuse."""
    if report.written + size > budget:
        report.disk_hit = True
        return None, True
    remove_entry(parent, COPYING)
    out = os.open(COPYING, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600,
                  dir_fd=parent)
    done = 0
    while host is not None and done < offset:
        data = os.pread(host, min(CHUNK, offset - done), done)
        if not data:
            break
        os.write(out, data)
        done += len(data)
    return out, False


def _apply_deletions(root_fd: int, manifest: Manifest, seen: set[str],
                     scope: list[str] | None) -> None:
    """Delete here what the block deleted there (what this side changed since is kept).

    ``scope`` (the top entries the archive covered, or None for all) bounds what is looked at."""
    inside = None if scope is None else set(scope)
    gone = sorted((rel for rel in manifest.entries if rel not in seen and (
        inside is None or rel.split("/", 1)[0] in inside)), key=len)
    for rel in gone:
        known = manifest.entries.pop(rel)
        parts = PurePosixPath(rel).parts
        try:
            parent = _open_parent(root_fd, list(parts))
        except OSError:
            continue  # its folder went first
        try:
            here = os.stat(parts[-1], dir_fd=parent, follow_symlinks=False)
            if known.kind == "dir" or here.st_mtime_ns == known.host[0]:
                remove_entry(parent, parts[-1])
        except OSError:
            pass
        finally:
            os.close(parent)
