"""Fork a session: a new log holding the first N events of another, to continue differently.

The original is only read, never written. The fork gets a new run id, today's date, and
`forked_from = {path, at_event}` in its header; resume then continues it like any other log.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

from tuiagents import __version__
from tuiagents.paths import run_work_dir
from tuiagents.session.log import FORMAT_VERSION, LOG_SUFFIX, ForkOrigin, SessionError, SessionWriter, exists_error, new_run_id
from tuiagents.session.reader import SessionLog, read_session


def fork_path(src: Path, at_event: int) -> Path:
    """A free file name next to `src`: `<stem>-fork<N>.jsonl`, then `-fork<N>-2.jsonl`, ..."""
    stem = src.name[: -len(LOG_SUFFIX)] if src.name.endswith(LOG_SUFFIX) else src.stem
    candidate = src.with_name(f"{stem}-fork{at_event}{LOG_SUFFIX}")
    n = 2
    while candidate.exists():
        candidate = src.with_name(f"{stem}-fork{at_event}-{n}{LOG_SUFFIX}")
        n += 1
    return candidate


def fork_session(src: str | os.PathLike, at_event: int, dest: str | os.PathLike | None = None, *,
                 log: SessionLog | None = None) -> Path:
    """Write a new log with the first `at_event` events of `src` (1-based, header not counted).

    `dest` defaults to a free name next to `src`; an existing `dest` is never overwritten. A log
    that another process (or this app's own run) is writing raises `SessionError` (reason `locked`).
    Raises `SessionError` (reason `bad_input`) when `at_event` is out of range. Pass `log` when
    `src` is already read (a replay forking where it stands) to skip reading it again.
    """
    from tuiagents.session.lock import locked

    src_path = Path(src)
    # A log that a run still writes is refused (naming the run): its end is still moving.
    with locked(src_path, "fork"):
        if log is None or log.path.resolve() != src_path.resolve():
            # only the first N events are needed (an N past the end reads all, to say how many there are)
            limit = at_event if isinstance(at_event, int) and at_event > 0 else None
            log = read_session(src_path, max_events=limit)
    total = len(log.events)
    if not isinstance(at_event, int) or not 1 <= at_event <= total:
        raise SessionError(f"cannot fork at event {at_event}: the log has {total} events "
                           f"(choose 1 to {total})", reason="bad_input", path=src_path)
    dest_path = Path(dest) if dest is not None else fork_path(src_path, at_event)
    if dest_path.resolve() == src_path.resolve():
        raise SessionError("the fork must go to a new file, not over the original",
                           reason="bad_input", path=src_path)
    run_id = new_run_id()
    base = (log.header.config.get("docker") or {}).get("work_dir") if isinstance(log.header.config, dict) else None
    header = log.header.model_copy(update={
        "run_id": run_id,
        # a fork is a run of its own: its code works in a folder of its own, not in the original's
        "work_dir": str(run_work_dir(Path(base) if base else None, dest_path, run_id).absolute()),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "tuiagents_version": __version__,
        "format_version": FORMAT_VERSION,  # its lines are written by this tuiagents
        "forked_from": ForkOrigin(path=str(src_path.resolve()), at_event=at_event),
    })
    tmp = dest_path.with_name(f".{dest_path.name}.partial")
    if dest_path.exists():
        raise exists_error(dest_path)
    tmp.unlink(missing_ok=True)  # left by an earlier fork that crashed
    try:
        with SessionWriter(tmp, header) as w:
            w.write_many(log.events[:at_event])
        if dest_path.exists():  # appeared meanwhile: still never overwrite
            raise exists_error(dest_path)
        os.replace(tmp, dest_path)
    finally:
        tmp.unlink(missing_ok=True)
    return dest_path
