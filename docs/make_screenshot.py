"""Render the README screenshot: the app mid-demo at 160×48, four agent panes and a code confirmation.

    python docs/make_screenshot.py [OUTPUT.svg]      # default: docs/screenshot.svg

It runs the real demo headless (Textual's `App.run_test()`): the scripted server on 127.0.0.1, the
planner's plan approved, the coder's draft approved, then stops at the confirmation of the coder's
Python block and exports the screen with Textual's SVG screenshot export. No Docker call is made
(the code is never run) and nothing is written outside a temporary folder, except the SVG.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

SIZE = (160, 48)
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "screenshot.svg"
IMAGE = "tuiagents-sandbox:latest"  # named in the confirmation; fixed so the picture does not vary


async def _wait(pilot, predicate, what: str, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise TimeoutError(f"the demo never reached: {what}")
        await pilot.pause(0.05)


def _waiting(app, kind: str) -> bool:
    cockpit = app.cockpit
    current = cockpit.current_request() if cockpit is not None else None
    return current is not None and current.request.kind.value == kind


async def render(output: Path = DEFAULT_OUTPUT) -> Path:
    """Drive the demo to the coder's code confirmation and save the screen as SVG at `output`."""
    from tuiagents.app.demo import BANNER, TASK, demo_config, demo_script
    from tuiagents.app.launch import prepare_run
    from tuiagents.testing.server import ScriptedServer
    from tuiagents.ui.app import TuiAgentsApp
    from tuiagents.ui.settings import UIOptions

    with tempfile.TemporaryDirectory() as tmp, ScriptedServer(demo_script()) as server:
        run = prepare_run(demo_config(server.url, IMAGE), "demo", TASK, approve="ask",
                          session_path=Path(tmp) / "demo.jsonl")
        run.startup_notices.append(BANNER)
        app = TuiAgentsApp(run=run, options=UIOptions(bell=False), banner=BANNER)
        async with app.run_test(size=SIZE) as pilot:
            for agent in ("planner", "coder"):
                await _wait(pilot, lambda agent=agent: _waiting(app, "message") and
                            app.cockpit.current_request().request.agent == agent, f"{agent}'s draft")
                await pilot.press("a")
            await _wait(pilot, lambda: _waiting(app, "code"), "the code confirmation")
            await pilot.pause(0.5)  # let the notifications fade and the panes settle
            app.clear_notifications()
            await pilot.pause(0.3)
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(app.export_screenshot(title="tuiagents demo"), encoding="utf-8")
            await app.stop_and_exit("screenshot taken")
    return output


def main(argv: list[str]) -> int:
    """Write the screenshot (to argv[0] when given) and say where."""
    os.environ.setdefault("TUIAGENTS_DATA_DIR", tempfile.mkdtemp(prefix="tuiagents-shot-"))
    output = Path(argv[0]) if argv else DEFAULT_OUTPUT
    print(f"wrote {asyncio.run(render(output))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
