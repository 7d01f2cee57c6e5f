"""The one run `tuiagents serve -- run ... --task T` shows in every browser tab.

Served as is, such a command would start a run in every tab that opens it, and again at every
reload, each with its own model calls. Instead `serve` starts the run once, when it starts, in a
process of its own (`tuiagents run --detach`'s), and every tab runs `tuiagents attach ID`: the
cockpit on that run, with everything so far and then the live events. Starting it with `serve`
rather than at the first tab refuses a bad config, team or task at once (exit 2, in the terminal
that started `serve`, where a person reads it), and puts the run's id beside the URL.

Once the run ends, the terminal that started `serve` is told why, and a new tab (or a reload)
shows it as `tuiagents replay LOG` does; a tab open at the end keeps the ended cockpit. Stopping
`serve` does not stop the run: like a detached run it goes on, and `serve` says how to come back
to it (`tuiagents attach ID`). Losing a long run because a web server stopped would be worse than
one more line to read.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tuiagents.session.live_runs import RunRecord, death, record_process_alive

#: How often `serve` looks whether its run's process still lives (it is a local /proc read).
WATCH_SECONDS = 0.5


def wants_one_run(parsed: argparse.Namespace) -> bool:
    """True when the served command starts a run at once: `run` or `tuiagents` itself with --task,
    or `resume` (a log has one writer: a second tab's resume would be refused).

    Without --task the app asks each tab for one, and a run starts only when a person gives it.
    `--local` runs live with the app's process (its model server with it), as they do without
    `serve`, so each tab keeps its own.
    """
    command = getattr(parsed, "command", None)
    if getattr(parsed, "headless", False):
        return False
    if command == "resume":
        return True
    return command in (None, "run") and bool(getattr(parsed, "task", None)) and not getattr(parsed, "local", False)


@dataclass
class ServedRun:
    """The run `serve` started: what each tab runs on it, and how it stands."""

    record: RunRecord
    config_path: str | None = None
    #: why it ended, once `watch` saw its process go
    ended: str | None = None

    @property
    def run_id(self) -> str:
        """The run's id, as `tuiagents ps` lists it."""
        return self.record.run_id

    def live(self) -> bool:
        """True while the run's process lives and serves its socket."""
        return self.ended is None and record_process_alive(self.record) and Path(self.record.socket).exists()

    def tab_args(self) -> tuple[str, ...]:
        """What a new tab runs: the cockpit on the live run, else the replay of its log."""
        if not self.live() and self.record.session_path and Path(self.record.session_path).is_file():
            return ("replay", self.record.session_path)
        look = ("--config", str(Path(self.config_path).expanduser().absolute())) if self.config_path else ()
        return ("attach", self.run_id, *look)  # an ended run without a log: attach says it ended

    def hint(self) -> str:
        """How to reach the run without a browser."""
        return f"tuiagents attach {self.run_id}"

    async def watch(self, out: Callable[[str], None]) -> None:
        """Waits until the run's process ends, then says why in the terminal that started `serve`."""
        while record_process_alive(self.record):
            await asyncio.sleep(WATCH_SECONDS)
        self.ended = death(self.record) or "its log was resumed by another run"
        shown = f"Run {self.run_id} ended: {self.ended}."
        if self.record.session_path:
            shown += f" New tabs show its replay (tuiagents replay {self.record.session_path})."
        out(shown)

    def farewell(self) -> str:
        """What `serve` says of the run as it stops: how to come back to it, or where its log is."""
        if self.ended is None and record_process_alive(self.record):
            return (f"Run {self.run_id} goes on in its own process. Come back to it with: {self.hint()}  "
                    "(`tuiagents ps` lists it; s in its cockpit stops it)")
        return f"Session log of run {self.run_id}: {self.record.session_path}" if self.record.session_path else ""


def start_served_run(parsed: argparse.Namespace) -> ServedRun | None:
    """Starts the run of `parsed` (the app's arguments; a resume's log) in its own process; None
    without a config (then each tab opens the first-run setup, as `tuiagents` would). Raises
    `DetachError` (a fork's `SessionError` too)."""
    from tuiagents.app.run_process import start_detached, start_resumed
    from tuiagents.config import load_app_config

    if getattr(parsed, "command", None) == "resume":  # SESSION resolved to its path by the caller
        path = parsed.session
        if parsed.fork_at is not None:  # forked once, for every tab
            from tuiagents.session.fork import fork_session

            path = str(fork_session(path, parsed.fork_at))
        record = start_resumed(path, config_path=parsed.config, approve=parsed.approve or "ask",
                               message=parsed.task)
        return ServedRun(record, config_path=parsed.config)
    config = load_app_config(parsed.config, required=False)
    if config is None:
        return None
    record = start_detached(config, config_path=parsed.config, team=parsed.team, task=parsed.task,
                            approve=parsed.approve or "ask", session=parsed.session)
    return ServedRun(record, config_path=parsed.config)
