"""Opening a long session log in replay mode: read, first paint, jump to the end, step back, scroll.

A synthetic two-agent log (`tuiagents.session.sample`, every message streamed in pieces, with code,
decisions and usage) is written once per size, then replayed headless at 160×48 as
`tuiagents replay` does. Reported per size:

- ``first paint``: from creating the app to its first full frame (the loading screen: the events
  are read in a thread, as `tuiagents replay` does);
- ``ready``: from creating the app to the first frame of the replay itself (at event 0), which
  includes reading and validating every event of the log;
- ``to end``: pressing End — every event fed through the cockpit's handlers — until the frame
  showing the end of the conversation is painted;
- ``step back``: pressing ← at the end (the screen is drawn again from the start) until painted;
- ``scroll top``: scrolling the merged timeline to its first entry and painting it;
- ``rendered``: entries rendered to line strips by the end (the others are only estimated);
- ``RSS ready``, ``peak RSS``: the process's peak resident memory when the replay is ready, and
  at the end (after every event went through the cockpit).

``--rounds N`` replays each size N times (interleaved) and prints the median of each column.

Run: ``python bench/bench_ui_replay_open.py [--sizes 1000 10000]``. Timing lives here, never in a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def frame(app) -> str:
    """Paint a full frame and return its text."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def measure(path: Path, n: int) -> dict:
    """Replay the log at `path` (`n` messages) and time the steps above."""
    from tuiagents.app.replay import ReplayApp
    from tuiagents.ui.screens.replay_screen import ReplayScreen
    from tuiagents.ui.settings import UIOptions

    out = {"n": n}
    start = time.perf_counter()
    app = ReplayApp(path, options=UIOptions(bell=False), autoplay=False)
    async with app.run_test(size=(160, 48)) as pilot:
        while not app.screen_stack or not app.screen.is_mounted or app.screen is app.screen_stack[0]:
            await asyncio.sleep(0)
        frame(app)
        out["first_paint"] = time.perf_counter() - start
        while not isinstance(app.screen, ReplayScreen) or not app.screen.is_mounted:
            await asyncio.sleep(0.001)
        screen = app.screen
        log = screen.session_log
        await pilot.pause()
        frame(app)
        out["ready"] = time.perf_counter() - start
        out["rss_ready"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out["events"] = len(log.events)

        t0 = time.perf_counter()
        await pilot.press("end")
        while screen.position < len(log.events):
            await asyncio.sleep(0)
        await pilot.pause()
        shown = frame(app)
        out["to_end"] = time.perf_counter() - t0
        assert f"event {len(log.events):,} of {len(log.events):,}" in shown

        t0 = time.perf_counter()
        await pilot.press("left")
        while screen.rebuilds < 1:
            await asyncio.sleep(0)
        await pilot.pause()
        frame(app)
        out["step_back"] = time.perf_counter() - t0

        await pilot.press("t")
        await pilot.pause()
        t0 = time.perf_counter()
        screen.timeline.scroll_home(animate=False)
        await pilot.pause()
        shown = frame(app)
        out["scroll"] = time.perf_counter() - t0
        assert "team pair" in shown
        out["rendered"] = screen.timeline.renders + sum(p.transcript.renders for p in screen.panes.values())
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def run_isolated(path: Path, n: int) -> dict:
    """`measure` in a fresh process, so each replay's peak memory is its own."""
    code = ("import asyncio, json, sys; sys.path.insert(0, sys.argv[1]); import bench_ui_replay_open as b; "
            "from pathlib import Path; print(json.dumps(asyncio.run(b.measure(Path(sys.argv[2]), int(sys.argv[3])))))")
    out = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), str(path), str(n)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    """Write a log per size, replay it, print a table."""
    from tuiagents.session.sample import write_sample_session

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    print(f"{'messages':>9} {'events':>8} {'first paint':>12} {'ready':>7} {'to end':>8} {'step back':>10} "
          f"{'scroll top':>11} {'rendered':>9} {'RSS ready':>10} {'peak RSS':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        paths = {n: write_sample_session(Path(tmp) / f"replay-{n}.jsonl", n) for n in args.sizes}
        runs: dict[int, list[dict]] = {n: [] for n in args.sizes}
        for _ in range(args.rounds):
            for n in args.sizes:
                runs[n].append(run_isolated(paths[n], n))
        for n in args.sizes:
            r = {k: statistics.median(x[k] for x in runs[n]) for k in runs[n][0]}
            print(f"{n:>9,} {r['events']:>8,} {r['first_paint']:>10.2f} s {r['ready']:>5.2f} s {r['to_end']:>6.2f} s "
                  f"{r['step_back']:>8.2f} s {r['scroll'] * 1000:>8.0f} ms {r['rendered']:>9.0f} {r['rss_ready']:>7.0f} MB "
                  f"{r['rss_mb']:>6.0f} MB")


if __name__ == "__main__":
    main()
