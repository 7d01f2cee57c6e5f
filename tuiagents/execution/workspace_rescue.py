"""A block's files in a copied work dir when the run's process dies mid-block: kept, then recovered.

In a copied workspace (:mod:`sandbox_workspace`) a block writes the sandbox's volume, not this disk;
its files come back when the host reads them after the block. If the host dies first (``kill -9``,
a crash), the watchdog sees its line close, kills the block, saves its files into the volume and
exits: the stopped container keeps them. So before each block the host writes a record here (this
machine, the user's data dir, owner-only): the container, the work dir and where the container
holds it, the owner, the disk limit and the manifest of what both sides held. Once the block's
files are back the record goes. Whoever reaps the dead run's container (the next start or resume,
doctor: :func:`docker_client.reap_orphans`) first copies its files back through the same checks as
after a block (:func:`workspace_copy.unpack_changes`: nothing leaves the work dir, no device or
hard link out, at most the disk limit, a file changed here since wins, what the block deleted is
deleted), then removes container and volume as before. A lock on the record keeps two reapers
from doing it twice, and a container another process is recovering is left to it.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from tuiagents.execution.workspace_copy import CHUNK, Manifest, Synced, unpack_changes
from tuiagents.paths import user_data_path

# How long a dead run's watchdog may take to save the block's files before they are read.
SAVE_WAIT = 30.0


@dataclass
class PendingCopy:
    """What a block running in a copied work dir needs to get its files back without its host."""

    container: str
    work_dir: str
    root: str  # the work dir's place in the container
    owner: tuple[int, int] | None
    budget: int
    daemon: str = ""  # the Docker daemon's address the container is on
    entries: dict[str, Synced] = field(default_factory=dict)


@dataclass
class Rescue:
    """What recovering a container's files did: a line for the user (or None), and whether the
    container may be removed now (not while another process is recovering it)."""

    note: str | None = None
    removable: bool = True


def records_dir() -> Path:
    """The owner-only folder of the records of blocks whose files are not back yet."""
    folder = user_data_path() / "sandbox-copies"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _record_path(container: str) -> Path:
    return records_dir() / f"{''.join(c for c in container if c.isalnum())}.json"


def save_pending(record: PendingCopy) -> None:
    """Blocking: write ``record`` (whole or not at all) before its block runs."""
    path = _record_path(record.container)
    partial = path.with_suffix(f".{os.getpid()}.part")
    data = {"container": record.container, "work_dir": record.work_dir, "root": record.root,
            "owner": record.owner, "budget": record.budget, "daemon": record.daemon,
            # rows, not objects: a work dir of 150,000 files is written in a fraction of a second
            "entries": [[rel, e.kind, e.digest, *e.host, e.size] for rel, e in record.entries.items()]}
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out, separators=(",", ":"))
    os.replace(partial, path)


def drop_pending(container: str) -> None:
    """Blocking: the block's files are back (or the container is gone): forget its record."""
    try:
        _record_path(container).unlink()
    except OSError:  # gone already, or the data dir is unwritable: nothing better to do here
        pass


def prune_records(daemon: str, present: set[str], since: float) -> None:
    """Blocking: forget the records of containers gone from ``daemon`` (removed by hand, say),
    among those written before ``since`` (when the listing ``present`` was asked for)."""
    try:
        paths = list(records_dir().glob("*.json"))
    except OSError:
        return
    for path in paths:
        try:
            if path.stat().st_mtime >= since:
                continue
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("daemon") == daemon and data.get("container") not in present:
                path.unlink()
        except (OSError, ValueError, AttributeError):
            continue


def _load(text: str) -> PendingCopy:
    data = json.loads(text)
    entries = {str(rel): Synced(str(kind), str(digest), (int(a), int(b), int(c), int(d)), int(size))
               for rel, kind, digest, a, b, c, d, size in data["entries"]}
    owner = tuple(data["owner"]) if data["owner"] is not None else None
    return PendingCopy(str(data["container"]), str(data["work_dir"]), str(data["root"]),
                       owner, int(data["budget"]), str(data.get("daemon", "")),  # type: ignore[arg-type]
                       entries)


def rescue(api: Any, container: str) -> Rescue:
    """Blocking: bring back the files a dead run's block left in ``container``, if it has a record."""
    path = _record_path(container)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return Rescue()
    except OSError as exc:
        return Rescue(f"the files of a block cut off in sandbox {container[:12]} could not be "
                      f"recovered: its record is unreadable ({exc.strerror or exc})")
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return Rescue(removable=False)  # another process is recovering it
        try:
            if os.stat(path).st_ino != os.fstat(fd).st_ino:
                return Rescue()
        except FileNotFoundError:  # recovered by the process that held the lock before us
            return Rescue()
        try:
            with os.fdopen(os.dup(fd), encoding="utf-8") as source:
                record = _load(source.read())
        except (ValueError, KeyError, TypeError) as exc:
            note: str | None = (f"the files of a block cut off in sandbox {container[:12]} could "
                                f"not be recovered: its record is damaged ({exc})")
        else:
            note = _recover(api, record)
        drop_pending(container)
        return Rescue(note)
    finally:
        os.close(fd)


def _recover(api: Any, record: PendingCopy) -> str | None:
    where = record.work_dir
    try:
        api.wait(record.container, timeout=SAVE_WAIT)  # the watchdog saves, then exits
    except Exception:  # noqa: BLE001 - still running or gone: read what is there
        pass
    try:
        if not os.path.isdir(where):
            raise FileNotFoundError(f"the work dir {where} is gone")
        chunks, _ = api.get_archive(record.container, record.root, chunk_size=CHUNK)
        report = unpack_changes(chunks, where, PurePosixPath(record.root).name,
                                Manifest(record.entries), record.budget, record.owner)
    except Exception as exc:  # noqa: BLE001 - the daemon or the disk: said to the user
        return (f"the files a block wrote before its run's process ended could not be recovered "
                f"into {where}: {exc}")
    if not report.files and not report.notes:
        return None
    text = (f"recovered {report.files} file(s) a block wrote before its run's process ended, "
            f"into {where}")
    if report.notes:
        text += "; not recovered: " + "; ".join(report.notes)
    return text
