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
    from tuiagents.session.assemble import default_session_path as where

    return where(config, team, run_id)


def prepare_run(config: "AppConfig", team: str, task: str, *, approve: "ApproveMode" = "ask",
                session_path: str | Path | None = None, seed: int | None = None) -> "TeamRun":
    """Build the TeamRun with its session log subscribed first (`session.assemble.new_run`).

    The task is filled from the config's `[context]` (a TemplateError, a ValueError, names the
    variable). The session's code work dir sits beside its log (`<log stem>.work/`) or in
    `[docker] work_dir`, and the log's header records it.
    """
    from tuiagents.session.assemble import new_run

    return new_run(config, team, task, approve=approve, session_path=session_path, seed=seed)


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
