"""Reaching a live run by its id: the one way `tuiagents attach`, the browser and F2 connect a
view to a run in its own process (`connect`), and the table `tuiagents ps` prints.

`find_run` resolves an id (a prefix is enough) among the recorded runs, or the only live one;
`connect` opens a `RemoteRunHandle` on it and says, in the banner a cockpit shows, how to leave.
"""

from __future__ import annotations

import shutil
import textwrap
from dataclasses import dataclass
from typing import Any

from tuiagents.session.live_runs import LiveRun, age, survey
from tuiagents.text import one_line

EXIT_FAILED, EXIT_USAGE = 1, 2


class AttachError(Exception):
    """No live run to attach to, as asked; the message says what there is and what to do."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Attached:
    """A connection to a live run: its handle, its record, and the banner its cockpit shows."""

    handle: Any
    run: LiveRun
    banner: str


def ps_table(runs: list[LiveRun], width: int | None = None) -> str:
    """Runs as `tuiagents ps` prints them: id, team, state (one word), who is waiting, age; then
    each run's reason (why it ended and how to continue it, why its socket does not answer) once
    below the table, wrapped to `width` (the terminal's), so no row wraps at 80 columns."""
    rows = [("ID", "TEAM", "STATE", "WAITING", "AGE")]
    for run in runs:
        rec = run.record
        rows.append((rec.run_id, one_line(rec.team, 24), one_line(run.state, 12), ", ".join(run.waiting) or "-",
                     age(rec.started)))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    table = "\n".join("  ".join([*(c.ljust(w) for c, w in zip(r[:4], widths)), r[4]]).rstrip() for r in rows)
    width = max(width or shutil.get_terminal_size().columns, 40)
    notes = [textwrap.fill(f"{r.record.run_id} {one_line(r.state, 12)}: {one_line(r.reason, 400)}", width,
                           subsequent_indent="    ", break_on_hyphens=False) for r in runs if r.reason]
    return "\n\n".join([table, *(["\n".join(notes)] if notes else [])])


def find_run(run_id: str | None, runs: list[LiveRun] | None = None) -> LiveRun:
    """The live run `run_id` names (a prefix is enough), or the only live one when `run_id` is None."""
    runs = survey() if runs is None else runs
    if run_id:
        matches = [r for r in runs if r.record.run_id.startswith(run_id)]
        if len(matches) > 1:
            raise AttachError(f"{run_id!r} names {len(matches)} runs; give more of the id:\n" + ps_table(matches))
        if not matches:
            raise AttachError(f"no live run has the id {run_id!r}; `tuiagents ps` lists them")
        found = matches[0]
        if not found.alive:
            raise AttachError(f"run {found.record.run_id} has ended: {found.reason}", EXIT_FAILED)
        return found
    live = [r for r in runs if r.alive]
    if not live:
        raise AttachError("no run is live; start one with `tuiagents run --detach`")
    if len(live) > 1:
        raise AttachError("several runs are live; attach to one by its id:\n" + ps_table(live))
    return live[0]


def connect(run_id: str | None, runs: list[LiveRun] | None = None) -> Attached:
    """Connect a view to the live run `run_id` (None: the only live run); `AttachError` says why not.

    The handle does not fetch the history yet: the cockpit asks for it once it has painted (`sync`).
    """
    from tuiagents.engine.handle import local_sender
    from tuiagents.session.run_client import RemoteRunHandle, RunUnreachable

    found = find_run(run_id, runs)
    try:
        handle = RemoteRunHandle(found.record.socket, local_sender("attached"), subscribe=False)
    except RunUnreachable as exc:
        raise AttachError(str(exc), EXIT_FAILED) from None
    banner = f"Attached to run {handle.run_id} ({found.record.team}): q leaves it running, s stops it."
    return Attached(handle=handle, run=found, banner=banner)
