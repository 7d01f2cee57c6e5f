"""Prepares a run for the UI or the console: config → TeamRun with its session log attached."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tuiagents.config import AppConfig
    from tuiagents.engine.run import TeamRun
    from tuiagents.engine.supervisor import ApproveMode


def default_session_path(config: "AppConfig", team: str, run_id: str) -> Path:
    """Where a run's log goes when `--session` is not given."""
    from tuiagents.paths import sessions_dir
    from tuiagents.session.log import session_filename

    return sessions_dir(config.session.dir) / session_filename(team, run_id)


def prepare_run(config: "AppConfig", team: str, task: str, *, approve: "ApproveMode" = "ask",
                session_path: str | Path | None = None, seed: int | None = None) -> "TeamRun":
    """Build the TeamRun and subscribe a SessionWriter first, so the log sees every event.

    The session's code work dir sits beside its log (`<log stem>.work/`).
    """
    import uuid

    from tuiagents.engine.factory import build_run
    from tuiagents.session.log import SessionWriter

    run_id = uuid.uuid4().hex[:12]
    path = Path(session_path) if session_path else default_session_path(config, team, run_id)
    work_dir = config.docker.work_dir / run_id if config.docker.work_dir else path.with_suffix(".work")
    run = build_run(config, team, task, approve=approve, work_dir=work_dir, run_id=run_id, seed=seed)
    writer = SessionWriter(path, config=config)
    run.bus.subscribe(writer)
    run.attach_session(path, writer)
    return run
