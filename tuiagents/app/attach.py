"""`tuiagents attach [ID]` and `tuiagents ps`: the cockpit on a run in its own process, and the list
of live runs.

`attach_app(run_id)` is the plain function other front ends (the browser) call: it connects to
the run's socket and returns the app, whose cockpit shows everything so far and then the live
events. Leaving it (q, Ctrl+C, Ctrl+Q, a closed terminal) never stops the run; `s` does.
"""

from __future__ import annotations

import sys
from typing import Any

from tuiagents.session.live_attach import AttachError, connect, find_run, ps_table

__all__ = ["AttachError", "attach_app", "cli_attach", "cli_ps", "find_run", "ps_table"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def attach_app(run_id: str | None = None, *, options: Any = None, banner: str | None = None) -> Any:
    """The app with its cockpit on the live run `run_id` (None: the only live run)."""
    from tuiagents.ui.app import TuiAgentsApp
    from tuiagents.ui.settings import UIOptions

    attached = connect(run_id)
    return TuiAgentsApp(handle=attached.handle, options=options or UIOptions(), banner=banner or attached.banner)


def cli_attach(run_id: str | None, config_path: str | None = None, *, started_here: bool = False,
               banner: str | None = None) -> int:
    """`tuiagents attach [ID]`: open the cockpit on a live run; leaving it leaves the run going.

    `started_here`: this command started the run (a resume): q then asks first, d leaves it going."""
    from tuiagents.ui.settings import UIOptions

    options = None
    try:
        from tuiagents.config import load_app_config

        options = UIOptions.from_config(load_app_config(config_path, required=False))
    except Exception:  # noqa: BLE001 - the look only; the run's own config is in its process
        options = None
    try:
        app = attach_app(run_id, options=options, banner=banner)
    except AttachError as exc:
        print(f"tuiagents: {exc}", file=sys.stderr)
        return exc.code
    app.started_here = started_here
    try:
        app.run()
    finally:
        handle = app.remote_handle  # F2 may have attached the cockpit to another run meanwhile
        handle.close()
    if handle.stopped is None:
        print(f"Left run {handle.run_id}; it goes on. Come back with: tuiagents attach {handle.run_id}")
    else:
        print(f"Run {handle.run_id} stopped: {handle.stopped.reason}")
    if handle.welcome.session_path:
        print(f"Session log: {handle.welcome.session_path}")
    return EXIT_OK


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
