"""The `tuiagents` command: the app, headless runs, sessions, the sandbox and the doctor.

Imports stay inside the command functions, so `tuiagents --help` loads neither Textual nor the
openai client. Exit codes: 0 finished, 1 the run failed, 2 usage or config error.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from tuiagents.app.cli_parser import build_parser

__all__ = ["COMMANDS", "EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main", "resolve_session"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
#: The reader of the output left (a pipe into `head`): 128 + SIGPIPE, as the shell's own tools end.
EXIT_PIPE = 141


def _err(message: str) -> None:
    print(f"tuiagents: {message}", file=sys.stderr)


def resolve_session(arg: str) -> str:
    """The log a SESSION argument names: a path, else a file name or run id in the sessions folder.

    Ids are what `tuiagents sessions` prints; a prefix is enough when only one log matches. An
    argument that names nothing comes back unchanged, so the command says the file is missing.
    """
    from pathlib import Path

    if Path(arg).expanduser().exists() or not arg or "/" in arg:
        return arg
    from tuiagents.config import load_app_config
    from tuiagents.paths import sessions_dir
    from tuiagents.session.catalog import find_session
    from tuiagents.session.header import SessionError

    try:
        cfg = load_app_config(None, required=False)
    except Exception:  # noqa: BLE001 - a broken config must not hide the sessions folder
        cfg = None
    try:
        found = find_session(sessions_dir(cfg.session.dir if cfg else None), arg)
    except SessionError as exc:  # an id several logs share: say which, do not guess
        _err(str(exc))
        raise SystemExit(EXIT_USAGE) from None
    return str(found) if found else arg


def _app_hooks(args: argparse.Namespace) -> None:
    """Before a command opens the app: its session browser (F2) resumes a session in a process of
    its own, as `tuiagents resume` does, and demo sessions on the demo's script."""
    if not getattr(args, "headless", False):
        from tuiagents.app.demo import install_app_hooks
        from tuiagents.app.resume import install_resumer

        install_app_hooks()
        install_resumer(getattr(args, "config", None))


def cmd_run(args: argparse.Namespace) -> int:
    """`tuiagents run`: the app, or the console with --headless (on a local model with --local)."""
    from tuiagents.config import ConfigError, load_app_config

    try:
        config = load_app_config(args.config, required=(args.headless or getattr(args, "detach", False)) and not args.local)
    except ConfigError as exc:
        _err(str(exc))
        return EXIT_USAGE
    if args.local and getattr(args, "detach", False):
        _err("--detach does not go with --local yet: the local model server lives with this terminal")
        return EXIT_USAGE
    if args.local:
        return _run_local(args, config)
    return _run(args, config)


def _run(args: argparse.Namespace, config) -> int:
    if getattr(args, "detach", False):
        return _run_detached(args, config)
    if not args.headless:
        from tuiagents.app.demo import demo_main
        from tuiagents.app.tui import run_app

        # a run of the config's own lives in its own process; a local model's lives with this terminal
        return run_app(config, args.config, args.team, args.task, approve=args.approve or "ask",
                       then_demo=demo_main, session=args.session, own_process=not args.local)
    from tuiagents.app.launch import run_headless_command

    return run_headless_command(config, args.team, args.task, args.approve or "ask", args.session)


def _run_detached(args: argparse.Namespace, config) -> int:
    from tuiagents.app.run_process import DetachError, say_detached, start_detached

    if args.headless:
        _err("--detach and --headless do not go together: a detached run has no console; "
             "`tuiagents attach ID` opens the cockpit on it")
        return EXIT_USAGE
    try:
        record = start_detached(config, config_path=args.config, team=args.team, task=args.task,
                                approve=args.approve or "ask", session=args.session)
    except DetachError as exc:
        _err(str(exc))
        return exc.code
    say_detached(record)
    return EXIT_OK


def cmd_attach(args: argparse.Namespace) -> int:
    """`tuiagents attach [ID]`: the cockpit on a live run."""
    from tuiagents.app.attach import cli_attach

    return cli_attach(args.run_id, getattr(args, "config", None))


def cmd_ps(args: argparse.Namespace) -> int:
    """`tuiagents ps`: the live runs."""
    from tuiagents.app.attach import cli_ps

    return cli_ps()


def _run_local(args: argparse.Namespace, config) -> int:
    from tuiagents.app.local_model import LocalModelError, find_model_path, llama_server, local_config

    try:
        path, note = find_model_path(args.model_path, config)
        if note:
            print(f"tuiagents: {note}", file=sys.stderr)
        print(f"tuiagents: starting llama.cpp on 127.0.0.1 with {path.name} ...", file=sys.stderr)
        n_ctx = config.local.n_ctx if config else 4096
        port = config.local.port if config else 0
        with llama_server(path, n_ctx=n_ctx, port=port) as url:
            return _run(args, local_config(config, url))
    except LocalModelError as exc:
        _err(str(exc))
        return EXIT_USAGE


def cmd_doctor(args: argparse.Namespace) -> int:
    """`tuiagents doctor`: preflight checks, each failure with its fix."""
    from tuiagents.app.preflight import doctor_main

    return doctor_main(args.config, clean=args.clean)


def cmd_sandbox(args: argparse.Namespace) -> int:
    """`tuiagents sandbox build`: the offline sandbox image."""
    from tuiagents.execution.docker_client import reap_orphans, reaped_message
    from tuiagents.execution.sandbox_image import SandboxBuildError, build_sandbox_image

    cleaned = reaped_message(reap_orphans())  # leftovers of crashed sessions go, and we say so
    if cleaned:
        print(cleaned)

    try:
        build_sandbox_image(args.tag, suite=args.suite, mirror=args.mirror)
    except SandboxBuildError as exc:
        _err(str(exc))
        return EXIT_FAILED
    print(f"built {args.tag}")
    return EXIT_OK


def cmd_sessions(args: argparse.Namespace) -> int:
    """`tuiagents sessions`: the saved runs."""
    from tuiagents.config import load_app_config
    from tuiagents.paths import sessions_dir
    from tuiagents.session.commands import cli_sessions

    folder = args.dir
    if folder is None:
        cfg = load_app_config(None, required=False)
        folder = sessions_dir(cfg.session.dir if cfg else None)
    return cli_sessions(folder)


def cmd_export(args: argparse.Namespace) -> int:
    """`tuiagents export`: Markdown, HTML or JSON."""
    from tuiagents.session.commands import cli_export

    return cli_export(resolve_session(args.session), args.format, args.output)


def cmd_replay(args: argparse.Namespace) -> int:
    """`tuiagents replay`: the app fed from the log, or the transcript on the console."""
    args.session = resolve_session(args.session)
    if args.headless:
        from tuiagents.app.replay import cli_replay_headless

        return cli_replay_headless(args.session)
    from tuiagents.app.replay import run_replay_app

    return run_replay_app(args.session)


def cmd_resume(args: argparse.Namespace) -> int:
    """`tuiagents resume`: continue (or fork) a session."""
    from tuiagents.app.resume import cli_resume

    args.session = resolve_session(args.session)
    from tuiagents.app.demo import demo_resume, is_demo_log

    if is_demo_log(args.session):  # its scripted server ended with the demo: start the script again
        return demo_resume(args)
    return cli_resume(args)


def cmd_import(args: argparse.Namespace) -> int:
    """`tuiagents import`: an AutoGen 0.2 history as a session log."""
    from tuiagents.session.commands import cli_import

    return cli_import(args.history, args.output)


def cmd_demo(args: argparse.Namespace) -> int:
    """`tuiagents demo`: the scripted scenario."""
    from tuiagents.app.demo import demo_main

    return demo_main(headless=args.headless)


def cmd_serve(args: argparse.Namespace) -> int:
    """`tuiagents serve`: the app in a browser, each tab running what follows `--`."""
    from tuiagents.app.serve import ServeError, ServeSettings, check_app_command, serve_main

    app_args = list(args.app_args)
    if app_args[:1] == ["--"]:
        app_args = app_args[1:]
    given = [f"--{name.replace('_', '-')}" for name in ("config", "team", "task", "approve", "session",
                                                       "local", "model_path") if getattr(args, name, None)]
    if given:
        _err(f"{', '.join(given)} before `serve` would not reach the app: put the app's options after "
             f"`--`, as in `tuiagents serve -- {given[0]} ...`")
        return EXIT_USAGE
    try:
        parsed = build_parser().parse_args(app_args)
    except SystemExit as exc:  # argparse said what is wrong (or printed the help it was asked for)
        if exc.code:
            _err("the app's arguments after `serve --` are not valid (see above)")
        return EXIT_USAGE if exc.code else EXIT_OK
    try:
        check_app_command(parsed)
        _check_served_config(parsed)
        return serve_main(ServeSettings(host=args.host, port=args.port, app_args=tuple(app_args),
                                        allow_remote=args.allow_remote),
                          start_run=_served_run_starter(parsed))
    except ServeError as exc:
        _err(str(exc))
        return exc.code


def _served_run_starter(parsed: argparse.Namespace):
    # `serve -- run ... --task T`: one run for every tab, started with serve (see app/serve_run.py).
    from tuiagents.app.serve_run import wants_one_run

    if not wants_one_run(parsed):
        return None
    if parsed.command == "resume":
        from tuiagents.app.demo import is_demo_log

        parsed.session = resolve_session(parsed.session)
        if is_demo_log(parsed.session):  # resumed on the demo's own script, in each tab's app
            return None

    def start():
        from tuiagents.app.run_process import DetachError
        from tuiagents.app.serve import ServeError
        from tuiagents.app.serve_run import start_served_run
        from tuiagents.session.header import SessionError

        try:
            return start_served_run(parsed)
        except DetachError as exc:
            raise ServeError(f"the run to serve did not start: {exc}", exc.code) from None
        except SessionError as exc:  # a fork that cannot be made
            raise ServeError(f"the run to serve did not start: {exc}", 2) from None

    return start


def _check_served_config(parsed: argparse.Namespace) -> None:
    # A config the app would refuse is said here once, not in every browser tab that opens.
    from tuiagents.app.serve import ServeError
    from tuiagents.config import ConfigError, load_app_config

    if parsed.command in ("replay", "resume"):
        from pathlib import Path

        if not Path(resolve_session(parsed.session)).expanduser().is_file():
            raise ServeError(f"no session log {parsed.session!r}: give its path, its file name in the sessions "
                             "folder, or its id as `tuiagents sessions` lists it")
    if parsed.command not in (None, "run"):
        return
    try:
        load_app_config(parsed.config, required=False)
    except ConfigError as exc:
        raise ServeError(str(exc)) from None


COMMANDS = {"run": cmd_run, "doctor": cmd_doctor, "sandbox": cmd_sandbox, "sessions": cmd_sessions,
            "export": cmd_export, "replay": cmd_replay, "resume": cmd_resume, "import": cmd_import,
            "demo": cmd_demo, "serve": cmd_serve, "attach": cmd_attach, "ps": cmd_ps}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `tuiagents` console script."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        # SIGTERM ends like Ctrl+C: atexit handlers run, so sandbox containers are removed.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        code = _dispatch(argv)
        sys.stdout.flush()  # here, not at exit: a reader gone by then is still ours to say nothing about
        return code
    except BrokenPipeError:
        if not _reader_gone(sys.stdout):
            raise
        return _quiet_after_reader_left()
    except SystemExit:  # argparse's --help (or usage error) printed to a reader that left
        if _reader_gone(sys.stdout):
            return _quiet_after_reader_left()
        raise


def _dispatch(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args.headless = False
        _app_hooks(args)
        return cmd_run(args)
    try:
        if args.command in ("run", "replay", "resume", "demo"):
            _app_hooks(args)
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("\nStopped by you (Ctrl+C).", file=sys.stderr)
        return EXIT_FAILED


def _reader_gone(stream) -> bool:
    """True when `stream` is a pipe whose reader has closed it (`tuiagents ps | head -3`)."""
    import select

    try:
        poller = select.poll()
        poller.register(stream.fileno(), select.POLLOUT)
        return any(mask & select.POLLERR for _, mask in poller.poll(0))
    except (AttributeError, OSError, ValueError):
        return False


def _quiet_after_reader_left() -> int:
    # What is still buffered would be flushed again at exit into the closed pipe ("Exception
    # ignored ... BrokenPipeError"): stdout points at /dev/null from here on.
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_PIPE


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
