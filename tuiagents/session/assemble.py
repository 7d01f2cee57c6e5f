"""The one place a run is assembled: a new run here (`new_run`), a resume (CLI, F2, the demo; its
state restored by `session.resume`) and a run served in its own process all build through here.

A run is its config's team built by the engine, its session log attached first (so the log sees
every event) and the folder its code works in. That folder is recorded in the log's header, and
a resume works in the recorded one, whatever the config it resumes with says (once it is seen
to be a folder a run worked in: `recorded_work_dir`); a log written before the header held it
falls back to where runs worked then (`paths.run_work_dir`).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from tuiagents.paths import run_work_dir, sessions_dir
from tuiagents.text import one_line

if TYPE_CHECKING:
    from tuiagents.config import AppConfig
    from tuiagents.engine.run import TeamRun
    from tuiagents.engine.supervisor import ApproveMode


def default_session_path(config: "AppConfig", team: str, run_id: str) -> Path:
    """Where a run's log goes when `--session` is not given."""
    from tuiagents.session.log import session_filename

    return sessions_dir(config.session.dir) / session_filename(team, run_id)


class WorkDir(NamedTuple):
    """Where a resumed run works, and what to tell the person about it (None: nothing)."""

    path: Path
    notice: str | None = None


def recorded_work_dir(header: Any, config: "AppConfig", path: Path) -> WorkDir:
    """Where the run of a log worked: the header's record, else the folder found as before.

    A log is a file people pass around, and its code's folder is mounted into the sandbox: a
    recorded folder that exists is taken only when a tuiagents run worked in it (it holds the
    `.tuiagents` folder every block leaves) or it is where this config puts the run anyway; a
    crafted header naming, say, the home folder gets the usual folder instead, and a notice."""
    from tuiagents.execution.files import CONTROL_DIR

    usual = run_work_dir(config.docker.work_dir, path, header.run_id)
    if not getattr(header, "work_dir", None):
        return WorkDir(usual)
    recorded = Path(header.work_dir)
    if recorded == usual or not recorded.exists() or (recorded / CONTROL_DIR).is_dir():
        return WorkDir(recorded)
    return WorkDir(usual, f"the log names {one_line(str(recorded))} as its code's folder, but no tuiagents run "
                          f"worked there: the resumed run's code works in {usual} instead")


def build_logged_run(config: "AppConfig", team: str, task: str, *, run_id: str, work_dir: Path,
                     approve: str = "ask", seed: int | None = None) -> "TeamRun":
    """The engine's run of `team` on `task` (the caller attaches the log once restored)."""
    from tuiagents.engine.factory import build_run

    return build_run(config, team, task, approve=approve, work_dir=work_dir,  # type: ignore[arg-type]
                     run_id=run_id, seed=seed)


def attach_log(run: "TeamRun", path: Path, writer: Any) -> "TeamRun":
    """Subscribe the log's writer to the run's bus and record it on the run."""
    run.bus.subscribe(writer)
    run.attach_session(path, writer)
    return run


def new_run(config: "AppConfig", team: str, task: str, *, approve: "ApproveMode" = "ask",
            session_path: str | Path | None = None, seed: int | None = None,
            run_id: str | None = None) -> "TeamRun":
    """A new run with its log; the code work dir sits in `[docker] work_dir`/<run id> or beside the log.

    The task is filled from the config's `[context]` (a TemplateError, a ValueError, names the variable).
    """
    from tuiagents.session.log import SessionWriter

    # a task typed or given with --task is filled from `[context]` like the config's own texts
    task = config.fill(task, "the task (--task, or the task typed in the app)")
    run_id = run_id or uuid.uuid4().hex[:12]
    path = Path(session_path) if session_path else default_session_path(config, team, run_id)
    work_dir = run_work_dir(config.docker.work_dir, path, run_id)
    run = build_logged_run(config, team, task, run_id=run_id, work_dir=work_dir, approve=approve, seed=seed)
    # recorded absolute: a relative `[docker] work_dir` must not move with the folder a resume starts in
    return attach_log(run, path, SessionWriter(path, config=config, work_dir=work_dir.absolute()))

