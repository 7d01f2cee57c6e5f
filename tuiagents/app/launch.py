"""Prepares a run (config → TeamRun with its session log attached) and runs one on the console."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

EXIT_FAILED, EXIT_USAGE = 1, 2

if TYPE_CHECKING:
    from tuiagents.config import AppConfig
    from tuiagents.engine.run import TeamRun
    from tuiagents.engine.supervisor import ApproveMode


def _err(message: str) -> None:
    print(f"tuiagents: {message}", file=sys.stderr)


def default_session_path(config: "AppConfig", team: str, run_id: str) -> Path:
    """Where a run's log goes when `--session` is not given."""
    from tuiagents.paths import sessions_dir
    from tuiagents.session.log import session_filename

    return sessions_dir(config.session.dir) / session_filename(team, run_id)


def prepare_run(config: "AppConfig", team: str, task: str, *, approve: "ApproveMode" = "ask",
                session_path: str | Path | None = None, seed: int | None = None) -> "TeamRun":
    """Build the TeamRun and subscribe a SessionWriter first, so the log sees every event.

    The task is filled from the config's `[context]` (a TemplateError, a ValueError, names the
    variable). The session's code work dir sits beside its log (`<log stem>.work/`) or in `[docker] work_dir`.
    """
    import uuid

    from tuiagents.engine.factory import build_run
    from tuiagents.paths import run_work_dir
    from tuiagents.session.log import SessionWriter

    # a task typed or given with --task is filled from `[context]` like the config's own texts
    task = config.fill(task, "the task (--task, or the task typed in the app)")
    run_id = uuid.uuid4().hex[:12]
    path = Path(session_path) if session_path else default_session_path(config, team, run_id)
    work_dir = run_work_dir(config.docker.work_dir, path, run_id)
    run = build_run(config, team, task, approve=approve, work_dir=work_dir, run_id=run_id, seed=seed)
    writer = SessionWriter(path, config=config)
    run.bus.subscribe(writer)
    run.attach_session(path, writer)
    return run


def run_headless_command(config, team: str | None, task: str | None, approve: str, session: str | None) -> int:
    """Run a team on the console; the shared path of `run --headless` and `demo --headless`."""
    import asyncio

    from tuiagents.config import ConfigError
    from tuiagents.headless import run_headless
    from tuiagents.session.log import SessionError

    if not config.teams:
        _err("the config defines no [[teams]]; add one (see config.toml.example)")
        return EXIT_USAGE
    team_name = team or config.teams[0].name
    try:
        team_cfg = config.team(team_name)
    except ConfigError as exc:
        _err(str(exc))
        return EXIT_USAGE
    task = task or team_cfg.task
    if not task and team_cfg.kind != "sequence":  # a sequence's stages have their tasks
        _err("no task: pass --task TEXT (or set task = \"...\" on the team)")
        return EXIT_USAGE
    try:
        run = prepare_run(config, team_name, task or "", approve=approve, session_path=session)
    except (SessionError, ValueError) as exc:
        _err(str(exc))
        return EXIT_USAGE

    async def main() -> int:
        task_ = asyncio.ensure_future(run_headless(run, ask=approve == "ask"))
        try:
            return await asyncio.shield(task_)
        except asyncio.CancelledError:
            run.request_stop("stopped by you (Ctrl+C)")
            return await task_

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        print("\nStopped by you (Ctrl+C).", file=sys.stderr)
        return EXIT_FAILED
