"""Resume and fork: rebuild a live run from a session log and keep appending to it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tuiagents.config import AppConfig
    from tuiagents.engine.run import TeamRun


def _config_for(log: Any, config: "AppConfig | None") -> "AppConfig":
    from tuiagents.config import ConfigError, parse_config

    if config is not None:
        return config
    if not log.header.config:
        raise ConfigError("this log carries no config (it was imported); pass --config FILE with a team "
                          "whose agents match the log's")
    try:
        return parse_config(log.header.config)
    except ConfigError as exc:
        raise ConfigError(f"the config saved in the log no longer loads ({exc}); pass --config FILE") from None


def prepare_resume(path: str | Path, *, config: "AppConfig | None" = None, approve: str = "ask",
                   message: str | None = None) -> "TeamRun":
    """A TeamRun holding the log's state, appending to the same log when it runs.

    API keys are never in the log: they come from the environment (or `config`) at resume time.
    """
    from tuiagents.config import ConfigError
    from tuiagents.engine.factory import build_run
    from tuiagents.engine.restore import restore_state
    from tuiagents.session.log import SessionWriter
    from tuiagents.session.reader import read_session

    path = Path(path)
    log = read_session(path)
    cfg = _config_for(log, config)
    team = log.header.team
    if team not in {t.name for t in cfg.teams}:
        if len(cfg.teams) != 1:
            raise ConfigError(f"the log's team {team!r} is not in the config; teams: "
                              f"{', '.join(t.name for t in cfg.teams) or 'none'}")
        team = cfg.teams[0].name
    missing = [n for n in {m.message.sender for m in log.events if getattr(m, "type", "") == "message_delivered"}
               if n != "human" and n not in cfg.team(team).agents]
    if missing:
        raise ConfigError(f"agents {', '.join(sorted(missing))} of the log are not in team {team!r}")
    run = build_run(cfg, team, log.header.task, approve=approve, work_dir=path.with_suffix(".work"),
                    run_id=log.header.run_id)
    stopped = restore_state(run, log.events)
    run.bus.seq = max((e.seq for e in log.events), default=0)
    run.bus.history = [e for e in log.events if e.type != "token_delta"]  # what the UI shows first
    writer = SessionWriter.open_append(path, config=cfg)
    run.bus.subscribe(writer)
    run.session_path, run.session_writer = path, writer
    n_msgs = len(run.transcript)
    if log.notice:
        run.startup_notices.append(log.notice)
    if stopped is not None:
        run.startup_notices.append(f"resumed after {n_msgs} messages; the run had stopped: {stopped.reason}")
    else:
        run.startup_notices.append(f"resumed after {n_msgs} messages; the run had not stopped (crash?)")
    if message:
        run.inject(message)
    return run


def cli_resume(args: argparse.Namespace) -> int:
    """`tuiagents resume SESSION [--fork-at N]`: continue live, in the app or headless."""
    import asyncio

    from tuiagents.cli import load_app_config
    from tuiagents.config import ConfigError
    from tuiagents.session.log import SessionError

    path = Path(args.session)
    try:
        config = load_app_config(args.config, required=False) if args.config else None
        if args.fork_at is not None:
            from tuiagents.session.fork import fork_session

            path = fork_session(path, args.fork_at)
            print(f"forked {args.session} at event {args.fork_at} into {path}")
        run = prepare_resume(path, config=config, approve=args.approve or "ask", message=args.task)
    except (ConfigError, SessionError, ValueError) as exc:
        print(f"tuiagents: {exc}", file=sys.stderr)
        return 2
    if not args.headless:
        from tuiagents.ui.app import run_prepared_app

        return run_prepared_app(run, config_path=args.config)
    from tuiagents.headless import run_headless

    return asyncio.run(run_headless(run, ask=(args.approve or "ask") == "ask"))
