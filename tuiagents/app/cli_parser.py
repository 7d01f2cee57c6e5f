"""The `tuiagents` command line: its subcommands, options and help texts (cli.py runs them).

Nothing here imports Textual or the openai client at import time, so `tuiagents --help` stays fast.
"""

from __future__ import annotations

import argparse
import inspect
import textwrap

__all__ = ["SESSION_HELP", "build_parser"]

SESSION_HELP = ("a session log: its path, its file name in the sessions folder, or its id "
                "(as `tuiagents sessions` lists them)")


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
    resume.add_argument("--detach", action="store_true",
                        help="resume in the background (its own process): print the run's id and return; "
                             "`tuiagents attach ID` opens the cockpit on it")
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
                                       "SESSION`, `attach ID`. A `run` with --task is started once, with "
                                       "serve, in a process of its own: every tab (a reload too) shows that "
                                       "one run, and it goes on when serve stops (`tuiagents attach ID`).", 90),
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
