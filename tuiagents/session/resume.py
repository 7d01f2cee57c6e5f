"""Resume and fork: rebuild a live run from a session log and keep appending to it."""

from __future__ import annotations

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


def resume_notice(log: Any, stopped: Any, n_msgs: int) -> str:
    """What a resumed run tells first: where it picks up, and how the log it continues ended."""
    msgs = f"{n_msgs} message{'' if n_msgs == 1 else 's'}"
    origin = log.header.forked_from
    if origin is not None and len(log.events) == origin.at_event:
        # a fork that has not run yet: it ends where it was cut from its original, not in a crash
        return f"forked from {Path(origin.path).name} at event {origin.at_event}; continuing after {msgs}"
    if stopped is not None:
        return f"resumed after {msgs}; the run had stopped: {stopped.reason}"
    return f"resumed after {msgs}; the run had not stopped (crash?)"


def _close_cut_off_blocks(run: "TeamRun", writer: Any, events: list) -> None:
    """End, in the log and on screen, the story of blocks that were running when the process died."""
    from tuiagents.engine.events import ExecutionFinished
    from tuiagents.engine.restore import unfinished_code
    from tuiagents.execution.base import EXIT_CANCELLED

    last_ts = max((e.ts for e in events), default=0.0)
    for started, finished in unfinished_code(events):
        if finished is not None:
            continue
        # it ran at least until the last event the dead process logged
        ev = ExecutionFinished(exec_id=started.exec_id, agent=started.agent, exit_code=EXIT_CANCELLED,
                               duration=max(0.0, last_ts - started.ts), cancelled=True,
                               error="interrupted: tuiagents stopped while this block ran (crash?); "
                                     "its end is unknown and it was not run again")
        writer.write(run.bus.record(ev))


def prepare_resume(path: str | Path, *, config: "AppConfig | None" = None, approve: str = "ask",
                   message: str | None = None) -> "TeamRun":
    """A TeamRun holding the log's state, appending to the same log when it runs.

    The log's lock is taken first: a log another process (or this app) still writes is refused
    with `SessionError` (reason `locked`) naming that process, so two runs never share a log.
    API keys are never in the log: they come from the environment (or `config`) at resume time.
    """
    from tuiagents.session.log import SessionWriter

    path = Path(path)
    writer = SessionWriter.open_append(path)  # locks, then reads under the lock
    try:
        run = _rebuild(path, writer, config, approve)
    except BaseException:
        writer.close()
        raise
    if message:
        run.inject(message)
    return run


def _rebuild(path: Path, writer: Any, config: "AppConfig | None", approve: str) -> "TeamRun":
    from tuiagents.config import ConfigError
    from tuiagents.engine.restore import restore_state
    from tuiagents.session.assemble import attach_log, build_logged_run, recorded_work_dir

    log = writer.log
    cfg = _config_for(log, config)
    writer.use_config(cfg)
    team = log.header.team
    if team not in {t.name for t in cfg.teams}:
        if len(cfg.teams) != 1:
            raise ConfigError(f"the log's team {team!r} is not in the config; teams: "
                              f"{', '.join(t.name for t in cfg.teams) or 'none'}")
        team = cfg.teams[0].name
    missing = [n for n in {m.message.sender for m in log.events if getattr(m, "type", "") == "message_delivered"}
               if n != "human" and n not in cfg.team_reach(team)]
    if missing:
        raise ConfigError(f"agents {', '.join(sorted(missing))} of the log are not in team {team!r}")
    # where the run worked: a resume must find the files its code wrote
    work_dir = recorded_work_dir(log.header, cfg, path)
    run = build_logged_run(cfg, team, log.header.task, approve=approve, run_id=log.header.run_id,
                           work_dir=work_dir.path)
    stopped = restore_state(run, log.events)
    run.bus.continue_after(log.events)  # its history is what the UI shows first
    _close_cut_off_blocks(run, writer, log.events)
    attach_log(run, path, writer)
    if log.notice:
        run.startup_notices.append(log.notice)
    if work_dir.notice:
        run.startup_notices.append(work_dir.notice)
    # every chat's messages: a sequence's root chat says nothing itself, its stages do
    said = sum(1 for e in log.events if getattr(e, "type", "") == "message_delivered")
    run.startup_notices.append(resume_notice(log, stopped, said))
    return run
