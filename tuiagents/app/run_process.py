"""A run in its own process: `tuiagents run --detach` starts one, and this module is that process.

`start_detached` checks the config, the task and the models' keys here (`check_run`), then
starts `python -m tuiagents.app.run_process` in a session of its own (`setsid`: no terminal, so closing the one that started it, or losing the
SSH connection, does not reach it), stdin from /dev/null and its output to a file in the runtime
folder. It returns once the run serves its socket. The process assembles the run as every run is
assembled (`session.assemble`), serves it (`session.run_server`), writes its record for `ps` and
`attach`, and when the run ends, closes the socket and removes the record. SIGTERM stops the run
(recorded in its log, with the reason); SIGHUP is ignored.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Sequence

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
#: The task (a resume's message) goes to the run's process in its environment, not its arguments:
#: any user of the machine can read a process's arguments (`ps aux`), only its owner its environment.
TASK_ENV = "TUIAGENTS_RUN_TASK"
START_TIMEOUT = 60.0


class DetachError(Exception):
    """The run could not start in the background; the message says why. `code` is the exit status."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def check_run(config: Any, team: str | None, task: str | None) -> tuple[str, str]:
    """The team and task a run of `config` would get, or `DetachError` saying what to pass."""
    from tuiagents.config import ConfigError

    if config is None:
        raise DetachError("no config file found: pass --config FILE (a detached run has nobody to set one up)")
    if not config.teams:
        raise DetachError("the config defines no [[teams]]; add one (see config.toml.example)")
    name = team or config.teams[0].name
    try:
        team_cfg = config.team(name)
    except ConfigError as exc:
        raise DetachError(str(exc)) from None
    task = task or team_cfg.task or ""
    if not task and not team_cfg.stages:  # a sequence's stages have tasks of their own
        raise DetachError("no task: pass --task TEXT (or set task = \"...\" on the team)")
    check_keys(config, name)
    return name, task


def check_keys(config: Any, team: str) -> None:
    """`DetachError` when an agent of `team` could get no key for the model its calls start at (its
    `api_key_env` names a variable that is not set), with the message the run would stop with.

    Only the entry a call starts at counts: the LLM client does not fall back past an entry it
    cannot build a client for (a configuration error ends the call at once), while a fallback
    whose key is missing is reached only if the first entry fails, and the run may never need it.
    """
    models = {m.name: m for m in config.models}
    first = config.models[0].name if config.models else None
    teams = [config.team(team), *(config.team(s.team) for s in config.team(team).stages)]
    by_name = {a.name: a for a in config.agents}
    wanted = [a.model or (first if a.kind == "assistant" else None)
              for a in (by_name[n] for n in config.team_reach(team) if n in by_name)]
    wanted += [t.selector_model for t in teams]
    for name in dict.fromkeys(n for n in wanted if n in models):
        try:
            models[name].resolved_api_key()
        except ValueError as exc:  # says which variable, never a key
            raise DetachError(str(exc)) from None


def start_detached(config: Any, *, config_path: str | None, team: str | None, task: str | None,
                   approve: str = "ask", session: str | None = None, timeout: float = START_TIMEOUT) -> Any:
    """Start a run in its own process and return its record once it serves its socket."""
    team, task = check_run(config, team, task)
    run_id = uuid.uuid4().hex[:12]
    argv = ["--run-id", run_id, "--team", team, "--approve", approve]
    if session:
        argv += ["--session", str(Path(session).expanduser().absolute())]
    return _spawn(run_id, argv, config_path, timeout, {TASK_ENV: task})


def start_resumed(session: str | Path, *, config_path: str | None = None, fallback_config: str | None = None,
                  approve: str = "ask", message: str | None = None, timeout: float = START_TIMEOUT) -> Any:
    """Resume the session log `session` in a process of its own (it locks the log, restores the
    run and serves it as `start_detached`'s do); returns its record once it serves.

    `config_path` replaces the config saved in the log (`resume --config`); `fallback_config` is
    used only when that one does not load, or the log has none (F2's resume, as in the app)."""
    from tuiagents.session.header import SessionError
    from tuiagents.session.live_runs import read_records, record_process_alive
    from tuiagents.session.reader import read_header

    path = Path(session).expanduser().absolute()
    try:
        header = read_header(path)
    except SessionError as exc:
        raise DetachError(str(exc), EXIT_USAGE if exc.reason not in ("closed", "write_failed") else EXIT_FAILED) \
            from None
    run_id = header.run_id
    resumed_config = _resume_config(header, config_path, fallback_config)
    if resumed_config is not None and any(t.name == header.team for t in resumed_config.teams):
        check_keys(resumed_config, header.team)
    live = next((r for r in read_records() if r.run_id == run_id and record_process_alive(r)), None)
    if live is not None:  # its log has a writer already: say where that run is, not only that
        raise DetachError(f"run {run_id} is live in its own process (pid {live.pid}): "
                          f"`tuiagents attach {run_id}` opens the cockpit on it")
    argv = ["--run-id", run_id, "--resume", str(path), "--approve", approve]
    if fallback_config:
        argv += ["--fallback-config", str(Path(fallback_config).expanduser().absolute())]
    return _spawn(run_id, argv, config_path, timeout, {TASK_ENV: message} if message else {})


def _resume_config(header: Any, config_path: str | None, fallback_config: str | None) -> Any:
    """The config a resume of the log `header` heads will run with, as its process chooses it
    (`--config`, else the log's own, else the fallback); None when none loads (the process says why)."""
    from tuiagents.config import ConfigError, load_app_config, parse_config

    try:
        if config_path:
            return load_app_config(config_path, required=True)
        if header.config:
            return parse_config(header.config)
    except (ConfigError, ValueError):
        if config_path:
            return None
    try:
        return load_app_config(fallback_config, required=True) if fallback_config else None
    except (ConfigError, ValueError):
        return None


def _spawn(run_id: str, args: list[str], config_path: str | None, timeout: float,
           env: dict[str, str] | None = None) -> Any:
    """Start `python -m tuiagents.app.run_process ARGS` in a session of its own (with `env` added to
    this process's environment); its record once it serves its socket, or DetachError with what it
    said."""
    from tuiagents.session.live_runs import output_path, pid_alive, read_records

    argv = [sys.executable, "-m", "tuiagents.app.run_process", *args]
    if config_path:
        argv += ["--config", str(Path(config_path).expanduser().absolute())]
    out = output_path(run_id)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=fd, stderr=fd, start_new_session=True,
                                close_fds=True, env={**os.environ, **(env or {})})
    finally:
        os.close(fd)
    # reaped when it ends, should this process still be there then (an app that started it)
    threading.Thread(target=proc.wait, name=f"reap-run-{run_id}", daemon=True).start()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            code = proc.poll()
            # a resumed run's id is its log's: a record its dead process left is not this one
            record = next((r for r in read_records() if r.run_id == run_id and r.pid == proc.pid), None)
            if record is not None and Path(record.socket).exists():
                return record
            if code is not None:
                said = _tail(out)
                out.unlink(missing_ok=True)
                raise DetachError(said or f"the run's process ended at once (exit {code})",
                                  EXIT_USAGE if code == EXIT_USAGE else EXIT_FAILED)
            time.sleep(0.05)
    except (KeyboardInterrupt, SystemExit):
        # Ctrl+C (or SIGTERM) before the run's id was shown: nobody could find that run again, and
        # its process is in a session of its own, out of the signal's reach. It stops here.
        proc.terminate()
        raise
    if pid_alive(proc.pid):
        raise DetachError(f"the run's process (pid {proc.pid}) did not start serving within {timeout:.0f}s; "
                          f"what it said is in {out}", EXIT_FAILED)
    raise DetachError(_tail(out) or "the run's process ended before it served", EXIT_FAILED)


def say_detached(record: Any, done: str = "started") -> None:
    """What `run --detach` and `resume --detach` print: the run's id and how to come back to it."""
    print(f"Run {record.run_id} ({record.team}) {done} in the background (pid {record.pid}).")
    print(f"  attach:  tuiagents attach {record.run_id}")
    print("  list:    tuiagents ps")
    if record.session_path:
        print(f"  log:     {record.session_path}")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(line.removeprefix("tuiagents: ") for line in text.strip().splitlines()[-lines:])


# -- the run's own process ---------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tuiagents.app.run_process",
                                description="Serve one run on a Unix socket (started by `tuiagents run --detach`).")
    p.add_argument("--run-id", required=True)
    p.add_argument("--config")
    p.add_argument("--team")
    p.add_argument("--task")
    p.add_argument("--approve", choices=["ask", "all", "none"], default="ask")
    p.add_argument("--session")
    p.add_argument("--resume", help=f"continue this session log instead of starting a run (${TASK_ENV}: a "
                                    "human message to continue with)")
    p.add_argument("--fallback-config", help="with --resume: the config to use when the log's own does not load")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """The run's own process: assemble, serve, run, clean up."""
    from tuiagents.config import ConfigError, load_app_config
    from tuiagents.session.assemble import new_run
    from tuiagents.session.header import SessionError

    args = _parser().parse_args(argv)
    given_task = os.environ.pop(TASK_ENV, None)  # not for what the run starts (its code, its tools)
    try:
        if args.resume:
            from tuiagents.session.resume import prepare_resume

            given = load_app_config(args.config, required=True) if args.config else None
            try:
                run = prepare_resume(args.resume, config=given, approve=args.approve, message=given_task)
            except ConfigError:
                if given is not None or not args.fallback_config:
                    raise
                run = prepare_resume(args.resume, config=load_app_config(args.fallback_config, required=True),
                                     approve=args.approve, message=given_task)
            if run.run_id != args.run_id:
                raise SessionError(f"the log {args.resume} changed its run id while its run started")
            config, task = run.resources.session_writer.config, run.task
        else:
            task = args.task if args.task is not None else given_task
            if args.team is None or task is None:
                raise ValueError(f"--team and --task (or ${TASK_ENV}) are needed to start a run (or --resume LOG)")
            config = load_app_config(args.config, required=True)
            run = new_run(config, args.team, task, approve=args.approve, session_path=args.session,
                          run_id=args.run_id)
    except (ConfigError, SessionError, ValueError) as exc:
        print(f"tuiagents: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return asyncio.run(serve(run, config, task=task))
    except OSError as exc:  # the socket could not be made (its folder, its path's length)
        print(f"tuiagents: cannot serve the run on its socket: {exc}; set TUIAGENTS_RUNTIME_DIR to a short "
              "folder of yours", file=sys.stderr)
        return EXIT_FAILED


async def serve(run: Any, config: Any, *, task: str = "") -> int:
    """Serve `run` on its socket until it ends; its record says where, for `ps` and `attach`."""
    from tuiagents.engine.handle import LocalRunHandle
    from tuiagents.engine.events import RunStarted
    from tuiagents.session.live_runs import (
        RunRecord, output_path, process_start, remove_record, socket_path, write_record,
    )
    from tuiagents.session.log import config_secrets
    from tuiagents.session.run_server import RunServer
    from tuiagents.text import one_line

    loop = asyncio.get_running_loop()
    server = RunServer(LocalRunHandle(run), socket_path(run.run_id), secrets=config_secrets(config),
                       session_path=str(run.session_path) if run.session_path else None)
    await server.start()
    loop.add_signal_handler(signal.SIGTERM, run.request_stop, "its process was asked to end (SIGTERM)")
    loop.add_signal_handler(signal.SIGHUP, lambda: None)  # no terminal of its own to lose
    write_record(RunRecord(run_id=run.run_id, pid=os.getpid(), team=run.team_name, task=one_line(task, 200),
                           session_path=str(run.session_path) if run.session_path else None,
                           socket=str(server.path), output=str(output_path(run.run_id)), started=time.time(),
                           pid_start=process_start(os.getpid()),
                           # the legs its log held already (a resume): a later one is another run's
                           legs=sum(isinstance(e, RunStarted) for e in run.bus.history)))
    code = EXIT_OK
    try:
        result = await run.run()
        kind = getattr(result, "stop_kind", None)
        code = EXIT_FAILED if getattr(kind, "value", kind) == "error" else EXIT_OK
    except Exception as exc:  # noqa: BLE001 - said in the output file; the log has the events
        print(f"tuiagents: the run failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        code = EXIT_FAILED
    finally:
        try:
            await run.aclose()
        finally:
            await server.close()
            remove_record(run.run_id)
    return code


if __name__ == "__main__":  # pragma: no cover - the detached process
    raise SystemExit(main())
