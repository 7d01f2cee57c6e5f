"""What goes into the sandbox's copy of the work dir before a block: a tar of what changed here.

See :mod:`workspace_copy` for the way back and the :class:`Manifest` both directions keep.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile
import tempfile
from dataclasses import dataclass

from tuiagents.execution.sandbox_stage import STAGE
from tuiagents.execution.workspace_copy import CHUNK, Manifest, Synced, kind_of, signature


@dataclass
class Packed:
    """What goes in before a block: paths to delete there first, then a tar of what changed."""

    tar: tempfile.SpooledTemporaryFile
    removed: list[str]
    changed: int  # entries in the tar
    entries: dict[str, Synced]  # the manifest's entries once both steps are done


def pack_changes(work_dir: str, manifest: Manifest, owner: tuple[int, int]) -> Packed:
    """Blocking: tar what changed in ``work_dir`` since ``manifest``, owned by ``owner`` there."""
    spool = tempfile.SpooledTemporaryFile(max_size=8 << 20)
    seen: dict[str, Synced] = {}
    changed: dict[str, Synced] = {}
    removed: list[str] = []
    with tarfile.open(fileobj=spool, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for folder, dirs, files, dir_fd in os.fwalk(work_dir, follow_symlinks=False):
            rel_folder = os.path.relpath(folder, work_dir)
            if rel_folder == ".":  # the watchdog's folder there (sandbox_stage): never crosses
                dirs[:] = [name for name in dirs if name != STAGE]
                files = [name for name in files if name != STAGE]
            for name in sorted(dirs) + sorted(files):
                rel = name if rel_folder == "." else f"{rel_folder}/{name}"
                try:
                    st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                except OSError:
                    continue
                kind = kind_of(st.st_mode)
                if kind is None:
                    continue
                known = manifest.entries.get(rel)
                if known is not None and known.host == signature(st) and known.kind == kind:
                    seen[rel] = known
                    continue
                entry = _add(tar, dir_fd, name, rel, st, kind, owner)
                if entry is None:
                    continue
                if known is not None and known.kind != kind:
                    removed.append(rel)  # a file became a folder or the reverse: made anew
                seen[rel] = changed[rel] = entry
    for rel, known in manifest.entries.items():
        if known.kind == "special":  # made there and never here: nothing to delete there
            seen.setdefault(rel, known)
        elif rel not in seen and not any(rel.startswith(gone + "/") for gone in removed):
            removed.append(rel)
    spool.seek(0)
    return Packed(tar=spool, removed=sorted(set(removed)), changed=len(changed), entries=seen)


def _add(tar: tarfile.TarFile, dir_fd: int, name: str, rel: str, st: os.stat_result, kind: str,
         owner: tuple[int, int]) -> Synced | None:
    info = tarfile.TarInfo(rel)
    info.uid, info.gid = owner
    info.mode = stat.S_IMODE(st.st_mode) & 0o777
    info.mtime = st.st_mtime
    if kind == "dir":
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
        return Synced("dir", "", signature(st))
    if kind == "link":
        info.type = tarfile.SYMTYPE
        info.linkname = os.readlink(name, dir_fd=dir_fd)
        tar.addfile(info)
        return Synced("link", info.linkname, signature(st))
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as source:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            return None
        digest = hashlib.sha256()
        data = tempfile.SpooledTemporaryFile(max_size=8 << 20)
        while chunk := source.read(CHUNK):  # what is read is what is sent, even if it changes
            digest.update(chunk)
            data.write(chunk)
        info.size = data.tell()
        data.seek(0)
        tar.addfile(info, data)
        data.close()
    return Synced("file", digest.hexdigest(), signature(opened), info.size)
