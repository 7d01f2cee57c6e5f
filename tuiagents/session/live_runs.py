"""Live runs: each run served in its own process leaves a record beside its socket in the runtime
folder; `tuiagents ps` and `attach` read them. A record whose process is gone is a run that died:
it is shown as ended, with the reason its log gives, and its log resumes as any other. Once another
run has resumed that log, the dead record is no run any more: it is dropped.

A process is the record's only while it is the same process: a pid the system gave to another
process since (pid numbers wrap) is told apart by its start time, which the record keeps.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from pydantic import BaseModel, ValidationError

from tuiagents.paths import runtime_path
from tuiagents.session.header import RunId, safe_run_id
from tuiagents.session.wire import ShownName, ShownText

RECORD_SUFFIX = ".run.json"


class RunRecord(BaseModel):
    """What a run's process writes about itself when it starts serving."""

    run_id: RunId
    pid: int
    team: ShownName
    task: ShownText = ""
    session_path: str | None = None
    socket: str
    #: where the process's own output goes (errors it could not show anywhere else)
    output: str | None = None
    started: float
    #: the process's start time (clock ticks since boot, /proc/PID/stat), to tell a reused pid
    pid_start: int | None = None
    #: how many legs (`RunStarted`) its log held before this process began its own
    legs: int = 0


class LiveRun(BaseModel):
    """A run as `tuiagents ps` lists it: its record and how it stands now."""

    record: RunRecord
    #: running, waiting, paused, stopping, unreachable (its socket does not answer), ended
    state: str
    waiting: list[str] = []
    #: why it ended, for a run whose process is gone
    reason: str = ""

    @property
    def alive(self) -> bool:
        """True while its process serves it."""
        return self.state != "ended"


def record_path(run_id: str) -> Path:
    """Where the record of `run_id` lives (ValueError for what is no run id: see `safe_run_id`)."""
    return runtime_path() / f"{safe_run_id(run_id)}{RECORD_SUFFIX}"


def socket_path(run_id: str) -> Path:
    """The socket a run's process serves `run_id` on."""
    return runtime_path() / f"{safe_run_id(run_id)}.sock"


def output_path(run_id: str) -> Path:
    """Where a detached run's process writes its own output."""
    return runtime_path() / f"{safe_run_id(run_id)}.out"


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


def process_start(pid: int) -> int | None:
    """When process `pid` started (clock ticks since boot), or None where /proc does not say."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            # the fields after the command's closing parenthesis; starttime is field 22 of the line
            return int(f.read().rsplit(")", 1)[-1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def record_process_alive(record: RunRecord) -> bool:
    """True while the process that wrote `record` lives: its pid, with the same start time."""
    if not pid_alive(record.pid):
        return False
    return record.pid_start is None or process_start(record.pid) in (None, record.pid_start)


def _legs(events: list[object]) -> list[list[object]]:
    """A log's events cut at each `RunStarted`: the first leg, then one per resume."""
    from tuiagents.engine.events import RunStarted

    legs: list[list[object]] = []
    for event in events:
        if isinstance(event, RunStarted) or not legs:
            legs.append([])
        legs[-1].append(event)
    return legs


def death(record: RunRecord) -> str | None:
    """Why a run whose process is gone ended (its leg's stop, else that the process died), or None
    when another run has resumed its log since: then it is no run of its own any more."""
    from tuiagents.engine.events import RunStarted, RunStopped
    from tuiagents.session.header import SessionError
    from tuiagents.session.reader import read_session

    stopped = None
    if record.session_path:
        try:
            events = list(read_session(record.session_path).events)
        except (SessionError, OSError):
            events = []
        starts = sum(isinstance(e, RunStarted) for e in events)
        if starts > record.legs + 1:
            return None
        if starts == record.legs + 1:
            stopped = next((e for e in reversed(_legs(events)[-1]) if isinstance(e, RunStopped)), None)
    if stopped is not None:
        return stopped.reason
    return (f"the process died before the run stopped (pid {record.pid}); "
            f"`tuiagents resume {record.run_id}` continues it from its log")


def drop_record(record: RunRecord) -> None:
    """Remove the record of a dead run, unless a new process wrote its record there meanwhile."""
    try:
        now = RunRecord.model_validate_json(record_path(record.run_id).read_text())
    except (OSError, ValidationError):
        return
    if (now.pid, now.started) == (record.pid, record.started):
        remove_record(record.run_id)
        socket_path(record.run_id).unlink(missing_ok=True)


def survey(timeout: float = 3.0) -> list[LiveRun]:
    """Every recorded run and how it stands: asked over its socket, or ended when its process is
    gone (dropped once its log was resumed by another run)."""
    from tuiagents.session.run_client import RemoteRunHandle, RunUnreachable

    out = []
    for record in read_records():
        if not record_process_alive(record):
            reason = death(record)
            if reason is None:
                drop_record(record)
            else:
                out.append(LiveRun(record=record, state="ended", reason=reason))
            continue
        try:
            handle = RemoteRunHandle(record.socket, timeout=timeout, subscribe=False)
        except RunUnreachable as exc:
            # the record is written once the socket serves: a socket that does not answer now is a
            # run that is ending or too busy, never one still starting
            out.append(LiveRun(record=record, state="unreachable", reason=str(exc)))
            continue
        try:
            if handle.welcome.run_id != record.run_id:
                out.append(LiveRun(record=record, state="unreachable",
                                   reason=f"its socket serves another run ({handle.welcome.run_id})"))
                continue
            status = handle.status()
            out.append(LiveRun(record=record, state=status.state, waiting=status.waiting))
        except RunUnreachable as exc:
            out.append(LiveRun(record=record, state="unreachable", reason=str(exc)))
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
