"""`tuiagents resume SESSION [--fork-at N]`: a session continued live, in the app or on the console."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tuiagents.config import ConfigError, load_app_config
from tuiagents.session.fork import fork_session
from tuiagents.session.log import SessionError
from tuiagents.session.resume import prepare_resume


def cli_resume(args: argparse.Namespace) -> int:
    """`tuiagents resume SESSION [--fork-at N]`: continue live, in the app or headless.

    In the app (the default) and with `--detach` the resumed run lives in a process of its own, as
    a new run does: it outlives the terminal, `d` leaves it going and `tuiagents attach ID` comes
    back. `--headless` continues on this console.
    """
    import asyncio

    path = Path(args.session)
    detach = getattr(args, "detach", False)
    if detach and args.headless:
        print("tuiagents: --detach and --headless do not go together: a detached run has no console; "
              "`tuiagents attach ID` opens the cockpit on it", file=sys.stderr)
        return 2
    try:
        config = load_app_config(args.config, required=False) if args.config else None
        if args.fork_at is not None:
            path = fork_session(path, args.fork_at)
            print(f"forked {args.session} at event {args.fork_at} into {path}")
        if not args.headless:
            return _resume_in_own_process(path, args, detach)
        run = prepare_resume(path, config=config, approve=args.approve or "ask", message=args.task)
    except (ConfigError, SessionError, ValueError) as exc:
        print(f"tuiagents: {exc}", file=sys.stderr)
        return 2
    from tuiagents.headless import run_headless

    return asyncio.run(run_headless(run, ask=(args.approve or "ask") == "ask"))


def _resume_in_own_process(path: Path, args: argparse.Namespace, detach: bool) -> int:
    from tuiagents.app.attach import cli_attach
    from tuiagents.app.run_process import DetachError, say_detached, start_resumed

    try:
        record = start_resumed(path, config_path=args.config, approve=args.approve or "ask", message=args.task)
    except DetachError as exc:
        print(f"tuiagents: {exc}", file=sys.stderr)
        return exc.code
    if detach:
        say_detached(record, "resumed")
        return 0
    return cli_attach(record.run_id, args.config, started_here=True,
                      banner=f"Run {record.run_id} ({record.team}), resumed in its own process: d leaves it going, "
                             f"s stops it.")


def install_resumer(config_path: str | None = None) -> None:
    """Let the app's session browser (F2) resume a session in a process of its own: `d` then
    leaves it going, and it outlives the app, as a run started from the app does."""
    from tuiagents.ui.app import TuiAgentsApp

    def resumer(path: Path, approve: str) -> object:
        from tuiagents.app.run_process import DetachError, start_resumed
        from tuiagents.engine.handle import local_sender
        from tuiagents.session.run_client import RemoteRunHandle

        try:  # with the config saved in the log, as F2 always did; the app's config if that fails
            record = start_resumed(path, fallback_config=config_path, approve=approve)
        except DetachError as exc:
            raise RuntimeError(str(exc)) from None
        return RemoteRunHandle(record.socket, local_sender("cockpit"), subscribe=False)

    TuiAgentsApp.resumer = staticmethod(resumer)
