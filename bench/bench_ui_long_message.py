"""How a 5 MB one-line message affects the app: first paint, and how long a key press takes.

The app runs headless at 160×48 on a short two-agent conversation, then a message of `--mb` MB on a
single line is delivered to the coder's pane (and so to the timeline). Reported (medians):

- ``show``: from delivering the message to the frame that shows it;
- ``key t``: pressing ``t`` (switch panes/timeline: both show the message) until the next frame;
- ``key up``: scrolling the coder's pane one line until the next frame;
- ``see all``: pressing ``v`` on the pane until the full view of the message is on screen.

Each figure includes the pilot's own round trip (about 0.1-0.3 s on the shared 2-core machine):
compare with ``--mb 0.001``. Measured there: 5 MB shown in 0.14 s, ``t`` 0.18 s, ``up`` 0.11 s, the
full view 0.27 s, the same as with 1 KB; before the view cut long messages, 32.6 s to show the
message and 6.6 s for ``t``. Run: ``python bench/bench_ui_long_message.py [--mb 5] [--presses 10]``. Timing lives here, never in
a test assertion.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


async def measure(mb: float, presses: int) -> dict[str, float]:
    """Deliver the long message and time what a person does next."""
    from ui_support import T0, conversation, fixed_clock

    from tuiagents.engine.events import MessageDelivered
    from tuiagents.engine.messages import Message
    from tuiagents.ui.app import TuiAgentsApp
    from tuiagents.ui.settings import UIOptions

    app = TuiAgentsApp(events=conversation(["user", "coder"], kind="two_agent"), options=UIOptions(bell=False),
                       clock=fixed_clock())
    out: dict[str, float] = {}
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.3)
        cockpit = app.cockpit
        pane = cockpit.panes["coder"].transcript
        t0 = time.perf_counter()
        cockpit.handle_event(MessageDelivered(message=Message(sender="coder", content="x" * int(mb * 1_000_000)),
                                              round=5, ts=T0 + 60))
        await pilot.pause()
        out["show"] = time.perf_counter() - t0

        async def timed(key: str) -> float:
            start = time.perf_counter()
            await pilot.press(key)
            await pilot.pause()
            return time.perf_counter() - start

        out["key t"] = statistics.median([await timed("t") for _ in range(presses)])
        pane.focus()
        await pilot.pause()
        out["key up"] = statistics.median([await timed("up") for _ in range(presses)])
        if hasattr(pane, "action_show_full_visible"):
            pane.scroll_end(animate=False)
            await pilot.pause()
            times = []
            for _ in range(min(presses, 3)):
                times.append(await timed("v"))
                await pilot.press("escape")
                await pilot.pause()
            out["see all"] = statistics.median(times)
    return out


def main() -> None:
    """Run once and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=5.0)
    parser.add_argument("--presses", type=int, default=10)
    args = parser.parse_args()
    r = asyncio.run(measure(args.mb, args.presses))
    print(f"{args.mb:g} MB on one line: " + ", ".join(f"{k} {v * 1000:,.0f} ms" for k, v in r.items()))


if __name__ == "__main__":
    main()
