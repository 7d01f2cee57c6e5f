"""The `tuiagents` command: the app, headless runs, sessions, the sandbox and the doctor.

Imports stay inside the command functions, so `tuiagents --help` loads neither Textual nor the
openai client. Exit codes: 0 finished, 1 the run failed, 2 usage or config error.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import textwrap
from typing import Callable, Sequence

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
SESSION_HELP = ("a session log: its path, its file name in the sessions folder, or its id "
                "(as `tuiagents sessions` lists them)")


def _err(message: str) -> None:
    print(f"tuiagents: {message}", file=sys.stderr)


def _add_run_options(p: argparse.ArgumentParser, keep_earlier: bool = False) -> None:
    # keep_earlier: a subcommand's copy of an option must not reset the value given before the
    # subcommand (`tuiagents --session F run ...`) to its default.
    unset = {"default": argparse.SUPPRESS} if keep_earlier else {}
    p.add_argument("--config", metavar="FILE", help="config file (default: $TUIAGENTS_CONFIG, "
                   "./config.toml, then the user config dir)", **unset)
    p.add_argument("--team", metavar="NAME", help="team to run (default: the first team)", **unset)
    p.add_argument("--task", metavar="TEXT", help="the task to give the team", **unset)
    p.add_argument("--approve", choices=["ask", "all", "none"],
                   help="ask: you decide at every gate; all: approve everything, code included; "
                        "none: run no code or tools (default: ask)", **unset)
    p.add_argument("--session", metavar="FILE", help="session log to write (default: user data dir)",
                   **unset)
    p.add_argument("--local", action="store_true", help="run the team on a local GGUF model (llama.cpp)",
                   **unset)
    p.add_argument("--model-path", metavar="FILE", help="GGUF model for --local", **unset)


class _Parser(argparse.ArgumentParser):
    """A parser whose epilog may be computed only when its help is shown (`lazy_epilog`), so
    that reading it from the UI's registry does not load Textual for every command."""

    lazy_epilog: Callable[[], str] | None = None

    def format_help(self) -> str:
        """The help text, with the epilog filled in first."""
        if self.lazy_epilog is not None:
            self.epilog, self.lazy_epilog = self.lazy_epilog(), None
        return super().format_help()


def _replay_keys_help() -> str:
    """The replay's keys and speeds, as the UI's action registry and the replay cursor define them."""
    from tuiagents.session.replay import SPEEDS
    from tuiagents.ui.actions import InReplay, Where, actions_of
    from tuiagents.ui.replay_player import ReplayPlayer, format_speed

    actions = [*actions_of(Where.REPLAY),
               *(a for a in actions_of(Where.COCKPIT) if a.in_replay is InReplay.WORKS and a.show)]
    keys = [a.key_display or " / ".join(a.keys.split(",")) for a in actions]
    width = max(map(len, keys))
    rows = [f"  {k:<{width}}  {a.text} [{a.id}]" for k, a in zip(keys, actions)]
    return "\n".join(["keys in the replay (F1 lists them too; remap them by [id] under [keymap]):", *rows, "",
                      f"speeds: {', '.join(format_speed(s) for s in SPEEDS)}; it starts at "
                      f"{format_speed(inspect.signature(ReplayPlayer).parameters['speed'].default)}, "
                      f"and - / + step through them.",
                      "No model, tool or Docker call is made: the log is shown as it was recorded."])


def _port(text: str) -> int:
    """A TCP port number (0: any free one), for argparse."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: give a number from 1 to 65535, or 0 for a free one")
    return port


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    from tuiagents import __version__

    parser = argparse.ArgumentParser(
        prog="tuiagents",
        description="A terminal cockpit for supervising teams of LLM agents. Without a command, "
                    "opens the app.")
    parser.add_argument("--version", action="version", version=f"tuiagents {__version__}")
    _add_run_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = sub.add_parser("run", help="run a team (in the app, or --headless on the console)",
                         description="Run a team of the config on a task. In the app you watch every agent "
                                     "and approve, edit or reject each step, and code runs in the Docker "
                                     "sandbox only after you confirm it; with --headless the conversation "
                                     "is printed on the console (add --approve all for an unattended run). "
                                     "In the app the run lives in a process of its own: d leaves it going "
                                     "and `tuiagents attach` comes back to it. "
                                     "Every run writes a session log that `tuiagents replay`, `resume` and "
                                     "`export` read. Exit status: 0 finished, 1 the run failed, 2 a usage "
                                     "or config error.")
    _add_run_options(run, keep_earlier=True)
    run.add_argument("--headless", action="store_true", help="no UI: print the conversation")
    run.add_argument("--detach", action="store_true",
                     help="start the run in the background, in a process of its own that outlives this "
                          "terminal; print its id and return. `tuiagents attach ID` opens the cockpit on it, "
                          "`tuiagents ps` lists live runs")

    attach = sub.add_parser("attach", help="open the cockpit on a live run (started with `run --detach`, or left with d)",
                            description="Open the cockpit on a run that lives in its own process: everything "
                                        "so far from its log, then the live events. Decisions made here go to "
                                        "the run; several views may be attached at once, and the first answer "
                                        "to a request wins. Leaving (q, Ctrl+C, closing the terminal) leaves "
                                        "the run going; s stops it. In the app, F2 lists the live runs and "
                                        "Enter on one attaches to it.")
    attach.add_argument("run_id", metavar="ID", nargs="?",
                        help="the run's id as `tuiagents ps` lists it (a prefix is enough; default: the only "
                             "live run)")
    attach.add_argument("--config", metavar="FILE", help="config whose [ui] settings to use (look only)")

    sub.add_parser("ps", help="list live runs: id, team, state, who is waiting, age",
                   description="List the runs that live in their own process (`run --detach`): id, team, "
                               "state (running, waiting for you, paused; ended with the reason when its "
                               "process died), who is waiting, and age. A dead run drops out once its log "
                               "was resumed; a pid since given to another process is not taken for the "
                               "run. F2 in the app lists the same live runs.")

    demo = sub.add_parser("demo", help="open the app on a built-in scripted scenario (no API key needed)",
                          description="A planner, a coder and a critic solve a small data task with replies "
                                      "from a built-in script served on 127.0.0.1. In the app you approve "
                                      "every step, and the coder's code runs in the Docker sandbox only "
                                      "after you confirm it (the demo offers to prepare the sandbox image "
                                      "if it is missing).")
    demo.add_argument("--headless", action="store_true",
                      help="run the demo on the console with every step approved: the coder's code runs "
                           "in the Docker sandbox without asking (like `run --approve all`)")

    doctor = sub.add_parser("doctor", help="check Docker, the sandbox image, work dir and models")
    doctor.add_argument("--config", metavar="FILE", help="config whose [docker] settings and models "
                        "to check (default: $TUIAGENTS_CONFIG, ./config.toml, then the user config dir)")
    doctor.add_argument("--clean", action="store_true", help="remove containers left by crashed runs")

    sandbox = sub.add_parser("sandbox", help="manage the code sandbox image")
    sandbox_sub = sandbox.add_subparsers(dest="sandbox_command", metavar="ACTION", required=True)
    build = sandbox_sub.add_parser("build", help="build a minimal Debian+python3 image offline "
                                                 "(debootstrap + docker import)")
    build.add_argument("--tag", default="tuiagents-sandbox:latest",
                       help="name of the image to build (default: %(default)s); set the same name as "
                            "[docker] image in config.toml so runs use it")
    build.add_argument("--suite", default="bookworm", help="Debian release to install (default: %(default)s)")
    build.add_argument("--mirror", default=None, metavar="URL",
                       help="Debian mirror to install from (default: the one apt uses, else "
                            "http://deb.debian.org/debian)")

    replay = sub.add_parser("replay", help="replay a session log (no LLM or Docker calls)",
                            description="Show a session log in the app as it happened, at a speed you choose, "
                                        "or print its transcript with --headless.",
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    replay.lazy_epilog = _replay_keys_help
    replay.add_argument("session", metavar="SESSION", help=SESSION_HELP)
    replay.add_argument("--headless", action="store_true", help="print the transcript instead")

    resume = sub.add_parser("resume", help="continue a session live, appending to its log")
    resume.add_argument("session", metavar="SESSION", help=SESSION_HELP)
    resume.add_argument("--fork-at", type=int, metavar="N",
                        help="copy the first N events into a new log and continue that one; the original "
                             "stays untouched")
    resume.add_argument("--config", metavar="FILE",
                        help="use this config's models and agents instead of the copy saved in the log "
                             "(API keys always come from the environment)")
    resume.add_argument("--approve", choices=["ask", "all", "none"], default=None,
                        help="ask: you decide at every gate; all: approve everything, code included; "
                             "none: run no code or tools (default: ask)")
    resume.add_argument("--headless", action="store_true", help="no UI: continue on the console")
    resume.add_argument("--task", metavar="TEXT", help="a human message to continue with")

    sessions = sub.add_parser("sessions", help="list saved sessions")
    sessions.add_argument("--dir", metavar="DIR", help="session folder (default: user data dir)")

    export = sub.add_parser("export", help="export a session to Markdown, HTML or JSON")
    export.add_argument("session", metavar="SESSION", help=SESSION_HELP)
    export.add_argument("--format", choices=["md", "html", "json"], default="md",
                        help="md (Markdown), html or json (default: md)")
    export.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")

    serve = sub.add_parser("serve", help="serve the app to a web browser (127.0.0.1, with a token)",
                           description=textwrap.fill("Serve the app to a web browser through textual-serve. It prints a "
                                       "URL holding a random token: open it in a browser. Without the token "
                                       "every page, file and websocket is refused. Each browser tab gets its "
                                       "own app: closing the tab quits it, as closing a terminal would, and "
                                       "stopping serve (Ctrl+C) quits them all. What follows `--` is what "
                                       "each tab runs, as on the command line: nothing for the app itself, "
                                       "or `demo`, `run --team T --task X`, `replay SESSION`, `resume "
                                       "SESSION`, `attach ID`.", 90),
                           epilog="examples:\n"
                                  "  tuiagents serve                             the app, as `tuiagents` opens it\n"
                                  "  tuiagents serve --port 0 -- demo            the demo, on a free port\n"
                                  "  tuiagents serve -- --config c.toml run --team pair --task 'Sum 1..100'\n"
                                  "  tuiagents serve -- attach ID                a run started with --detach\n\n"
                                  "from another machine, through SSH (the connection is encrypted, the port "
                                  "stays on loopback):\n"
                                  "  ssh -N -L 8000:127.0.0.1:8000 SERVER       then open the printed URL "
                                  "there",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default: %(default)s, this machine only); another "
                            "address needs --allow-remote")
    serve.add_argument("--port", type=_port, default=8000, help="port (default: %(default)s; 0 picks a free one)")
    serve.add_argument("--allow-remote", action="store_true",
                       help="listen on an address other machines reach: plain HTTP, no TLS, so the token, "
                            "keys and screen cross the network readable (prefer an SSH tunnel)")
    serve.add_argument("app_args", nargs=argparse.REMAINDER, metavar="-- [APP ARGS]",
                       help="what each browser tab runs: tuiagents' own arguments (default: the app)")

    imp = sub.add_parser("import", help="turn an AutoGen 0.2 chat history (JSON) into a session log")
    imp.add_argument("history", metavar="HISTORY.json", help="an AutoGen 0.2 chat history: a JSON list of "
                     "messages, or an object with them under \"messages\" / \"chat_history\"")
    imp.add_argument("-o", "--output", metavar="FILE",
                     help="session log to write (default: a new file in the sessions folder)")
    return parser


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
    """Before a command opens the app: its session browser (F2) resumes demo sessions too."""
    if not getattr(args, "headless", False):
        from tuiagents.app.demo import install_app_hooks

        install_app_hooks()


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
    from tuiagents.app.run_process import DetachError, start_detached

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
    print(f"Run {record.run_id} ({record.team}) started in the background (pid {record.pid}).")
    print(f"  attach:  tuiagents attach {record.run_id}")
    print("  list:    tuiagents ps")
    if record.session_path:
        print(f"  log:     {record.session_path}")
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
                                        allow_remote=args.allow_remote))
    except ServeError as exc:
        _err(str(exc))
        return EXIT_USAGE


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


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
