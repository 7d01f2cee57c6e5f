"""Time to first paint of a long conversation in the cockpit (2,000 and 10,000 messages).

The app starts headless at 160×48 and is fed a finished conversation (RunStarted, then N delivered
Markdown messages with code blocks, alternating between two agents) through the cockpit's single
event entry point, as replay does. Reported per size:

- ``first paint``: from creating the app to the first frame that shows the end of the conversation
  (panes and timeline each hold N entries);
- ``rendered``: entries actually rendered to line strips (the rest are only estimated);
- ``scroll top``: jumping to the start of the timeline and painting it;
- ``peak RSS``: the process's peak resident memory afterwards.

For comparison, one Textual ``Markdown`` widget per message took 99 s and 3 GB for 10,000.

Run: ``python bench/bench_ui_mount.py [--sizes 2000 10000]``. Timing lives here, never in a test.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time

from tuiagents.engine.events import AgentInfo, MessageDelivered, RunStarted
from tuiagents.engine.messages import Message

BODY = ("Message {i}: here is **some** Markdown with `inline code`, a list\n\n"
        "- first point\n- second point\n\n```python\nprint({i} * 2)\n```\n")


def events(n: int) -> list:
    """RunStarted and `n` delivered messages."""
    agents = [AgentInfo(name="planner", model="m"), AgentInfo(name="coder", model="m")]
    out: list = [RunStarted(run_id="bench", team="bench", team_kind="two_agent", task="bench", agents=agents)]
    for i in range(n):
        sender = agents[i % 2].name
        out.append(MessageDelivered(message=Message(sender=sender, content=BODY.format(i=i)), round=i))
    return out


async def measure(n: int) -> dict:
    """One app, `n` messages: first paint, rendered entries, scroll to top."""
    from tuiagents.ui.app import TuiAgentsApp
    from tuiagents.ui.settings import UIOptions

    feed = events(n)
    start = time.perf_counter()
    app = TuiAgentsApp(events=feed, options=UIOptions(bell=False))
    async with app.run_test(size=(160, 48)) as pilot:
        cockpit = app.cockpit
        while cockpit is None or not cockpit.is_mounted or cockpit.events_handled < len(feed):
            await asyncio.sleep(0)
            cockpit = app.cockpit
        await pilot.pause()
        app.screen._compositor.render_strips()  # the first full frame
        first_paint = time.perf_counter() - start
        pane = cockpit.panes["coder"].transcript
        assert pane.count == n // 2 and cockpit.timeline.count == n + 1
        rendered = sum(p.transcript.renders for p in cockpit.panes.values())
        await pilot.press("t")
        await pilot.pause()
        t0 = time.perf_counter()
        cockpit.timeline.scroll_home(animate=False)
        await pilot.pause()
        app.screen._compositor.render_strips()
        scroll = time.perf_counter() - t0
        assert "Message 0:" in "\n".join(s.text for s in app.screen._compositor.render_strips())
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"n": n, "first_paint": first_paint, "rendered": rendered, "scroll": scroll, "rss_mb": rss_mb}


def main() -> None:
    """Run the sizes given on the command line and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000])
    args = parser.parse_args()
    print(f"{'messages':>9} {'first paint':>12} {'rendered':>9} {'scroll top':>11} {'peak RSS':>9}")
    for n in args.sizes:
        r = asyncio.run(measure(n))
        print(f"{r['n']:>9,} {r['first_paint']:>10.2f} s {r['rendered']:>9} {r['scroll'] * 1000:>8.0f} ms "
              f"{r['rss_mb']:>6.0f} MB")


if __name__ == "__main__":
    main()
