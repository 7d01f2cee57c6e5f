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
    """`tuiagents resume SESSION [--fork-at N]`: continue live, in the app or headless."""
    import asyncio

    path = Path(args.session)
    try:
        config = load_app_config(args.config, required=False) if args.config else None
        if args.fork_at is not None:
            path = fork_session(path, args.fork_at)
            print(f"forked {args.session} at event {args.fork_at} into {path}")
        run = prepare_resume(path, config=config, approve=args.approve or "ask", message=args.task)
    except (ConfigError, SessionError, ValueError) as exc:
        print(f"tuiagents: {exc}", file=sys.stderr)
        return 2
    if not args.headless:
        from tuiagents.app.tui import run_prepared_app  # Textual only when the app opens

        return run_prepared_app(run, config_path=args.config)
    from tuiagents.headless import run_headless

    return asyncio.run(run_headless(run, ask=(args.approve or "ask") == "ask"))
