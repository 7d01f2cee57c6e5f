"""`tuiagents attach [ID]` and `tuiagents ps`: the cockpit on a run in its own process, and the list
of live runs.

`attach_app(run_id)` is the plain function other front ends (the browser) call: it connects to
the run's socket and returns the app, whose cockpit shows everything so far and then the live
events. Leaving it (q, Ctrl+C, Ctrl+Q, a closed terminal) never stops the run; `s` does.
"""

from __future__ import annotations

import sys
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class AttachError(Exception):
    """No live run to attach to, as asked; the message says what there is and what to do."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def find_run(run_id: str | None, runs: list[Any] | None = None) -> Any:
    """The live run `run_id` names (a prefix is enough), or the only live one when `run_id` is None."""
    from tuiagents.session.live_runs import survey

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


def attach_app(run_id: str | None = None, *, options: Any = None) -> Any:
    """The app with its cockpit on the live run `run_id` (None: the only live run)."""
    from tuiagents.engine.handle import local_sender
    from tuiagents.session.run_client import RemoteRunHandle, RunUnreachable
    from tuiagents.ui.app import TuiAgentsApp
    from tuiagents.ui.settings import UIOptions

    found = find_run(run_id)
    try:
        # the history comes once the cockpit has painted its first frame (`sync`)
        handle = RemoteRunHandle(found.record.socket, local_sender("attached"), subscribe=False)
    except RunUnreachable as exc:
        raise AttachError(str(exc), EXIT_FAILED) from None
    banner = f"Attached to run {handle.run_id} ({found.record.team}): q leaves it running, s stops it."
    return TuiAgentsApp(handle=handle, options=options or UIOptions(), banner=banner)


def cli_attach(run_id: str | None, config_path: str | None = None) -> int:
    """`tuiagents attach [ID]`: open the cockpit on a live run; leaving it leaves the run going."""
    from tuiagents.ui.settings import UIOptions

    options = None
    try:
        from tuiagents.config import load_app_config

        options = UIOptions.from_config(load_app_config(config_path, required=False))
    except Exception:  # noqa: BLE001 - the look only; the run's own config is in its process
        options = None
    try:
        app = attach_app(run_id, options=options)
    except AttachError as exc:
        print(f"tuiagents: {exc}", file=sys.stderr)
        return exc.code
    handle = app.remote_handle
    try:
        app.run()
    finally:
        handle.close()
    if handle.stopped is None:
        print(f"Left run {handle.run_id}; it goes on. Come back with: tuiagents attach {handle.run_id}")
    else:
        print(f"Run {handle.run_id} stopped: {handle.stopped.reason}")
    if handle.welcome.session_path:
        print(f"Session log: {handle.welcome.session_path}")
    return EXIT_OK


def ps_table(runs: list[Any]) -> str:
    """Runs as `tuiagents ps` prints them: id, team, state, who is waiting, age."""
    from tuiagents.session.live_runs import age
    from tuiagents.text import one_line

    rows = [("ID", "TEAM", "STATE", "WAITING", "AGE")]
    for run in runs:
        rec = run.record
        state = run.state + (f": {one_line(run.reason, 160)}" if run.reason else "")
        rows.append((rec.run_id, one_line(rec.team, 24), state, ", ".join(run.waiting) or "-", age(rec.started)))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join([*(c.ljust(w) for c, w in zip(r[:4], widths)), r[4]]).rstrip() for r in rows)


def cli_ps() -> int:
    """`tuiagents ps`: the live runs (and those whose process died, as ended with the reason)."""
    from tuiagents.session.live_runs import survey

    runs = survey()
    if not runs:
        print("No live runs. Start one in the background with `tuiagents run --detach`.")
        return EXIT_OK
    print(ps_table(runs))
    if any(r.state == "waiting" for r in runs):
        print("\nwaiting: an agent waits for you; `tuiagents attach ID` to decide.")
    return EXIT_OK
