"""Live runs: each run served in its own process leaves a record beside its socket in the runtime
folder; `tuiagents ps` and `attach` read them. A record whose process is gone is a run that died:
it is shown as ended, with the reason its log gives, and its log resumes as any other.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from pydantic import BaseModel, ValidationError

from tuiagents.paths import runtime_path

RECORD_SUFFIX = ".run.json"


class RunRecord(BaseModel):
    """What a run's process writes about itself when it starts serving."""

    run_id: str
    pid: int
    team: str
    task: str = ""
    session_path: str | None = None
    socket: str
    #: where the process's own output goes (errors it could not show anywhere else)
    output: str | None = None
    started: float


class LiveRun(BaseModel):
    """A run as `tuiagents ps` lists it: its record and how it stands now."""

    record: RunRecord
    #: running, waiting, paused, starting, ended
    state: str
    waiting: list[str] = []
    #: why it ended, for a run whose process is gone
    reason: str = ""

    @property
    def alive(self) -> bool:
        """True while its process serves it."""
        return self.state != "ended"


def record_path(run_id: str) -> Path:
    """Where the record of `run_id` lives."""
    return runtime_path() / f"{run_id}{RECORD_SUFFIX}"


def socket_path(run_id: str) -> Path:
    """The socket a run's process serves `run_id` on."""
    return runtime_path() / f"{run_id}.sock"


def output_path(run_id: str) -> Path:
    """Where a detached run's process writes its own output."""
    return runtime_path() / f"{run_id}.out"


def write_record(record: RunRecord) -> Path:
    """Write `record` (0600) atomically."""
    path = record_path(record.run_id)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(record.model_dump_json())
    tmp.replace(path)
    return path


def remove_record(run_id: str) -> None:
    """The run ended cleanly: forget it (its log keeps everything)."""
    for path in (record_path(run_id), output_path(run_id)):
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def read_records() -> list[RunRecord]:
    """Every record in the runtime folder, oldest first (unreadable ones are skipped)."""
    out = []
    for path in runtime_path().glob(f"*{RECORD_SUFFIX}"):
        try:
            out.append(RunRecord.model_validate_json(path.read_text()))
        except (OSError, ValidationError):
            continue
    return sorted(out, key=lambda r: r.started)


def pid_alive(pid: int) -> bool:
    """True when process `pid` exists (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def death_reason(record: RunRecord) -> str:
    """Why a run whose process is gone ended: its log's stop, else that the process died."""
    from tuiagents.engine.events import RunStopped
    from tuiagents.session.header import SessionError
    from tuiagents.session.reader import read_session

    stopped = None
    if record.session_path:
        try:
            stopped = next((e for e in reversed(read_session(record.session_path).events)
                            if isinstance(e, RunStopped)), None)
        except (SessionError, OSError):
            stopped = None
    if stopped is not None:
        return stopped.reason
    return (f"its process (pid {record.pid}) died before the run stopped; "
            f"`tuiagents resume {record.run_id}` continues it from its log")


def survey(timeout: float = 3.0) -> list[LiveRun]:
    """Every recorded run and how it stands: asked over its socket, or ended when its process is gone."""
    from tuiagents.session.run_client import RemoteRunHandle, RunUnreachable

    out = []
    for record in read_records():
        if not pid_alive(record.pid):
            out.append(LiveRun(record=record, state="ended", reason=death_reason(record)))
            continue
        try:
            handle = RemoteRunHandle(record.socket, timeout=timeout, subscribe=False)
        except RunUnreachable:
            out.append(LiveRun(record=record, state="starting"))
            continue
        try:
            status = handle.status()
            out.append(LiveRun(record=record, state=status.state, waiting=status.waiting))
        except RunUnreachable:
            out.append(LiveRun(record=record, state="starting"))
        finally:
            handle.close()
    return out


def age(started: float, now: float | None = None) -> str:
    """`started` as an age people read: 45s, 12m, 3h05m, 2d04h."""
    secs = max(0, int((now or time.time()) - started))
    if secs < 60:
        return f"{secs}s"
    if secs < 3600:
        return f"{secs // 60}m"
    if secs < 86400:
        return f"{secs // 3600}h{secs % 3600 // 60:02d}m"
    return f"{secs // 86400}d{secs % 86400 // 3600:02d}h"
