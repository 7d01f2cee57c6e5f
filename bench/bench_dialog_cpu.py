"""CPU time from a key that opens a screen over the cockpit until the app is idle again, headless.

The app runs on a real two-agent run against the scripted server at 160×48 with a draft waiting;
for F1, Ctrl+P, ``r``, ``e`` and ``i`` the script presses the key under the pilot, waits for the
app to be idle, and takes the process's CPU time (pilot included); then Escape. Six rounds,
medians in ms. CPU time, unlike time to screen, hardly moves with the load of a shared machine,
so two checkouts can be compared on a busy day: ``PYTHONPATH=<checkout> python
bench/bench_dialog_cpu.py <checkout>``.

2026-12-07 (load 5-6 on 2 cores), two interleaved runs each, translucent dialogs -> opaque:
F1 306/318 -> 278/241, palette 194/228 -> 96/85, reject 205/202 -> 88/83, edit 310/305 -> 124/234,
inject 277/206 -> 99/95. Timing lives here, never in a test assertion.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))


async def measure(rounds: int = 6) -> dict[str, float]:
    """Median CPU ms per key, from the key to the app idle with its screen shown."""
    from ui_support import make_app, pair_config, waiting

    from tuiagents.config import parse_config
    from tuiagents.engine.decisions import RequestKind
    from tuiagents.testing import Rule, ScriptedServer

    with ScriptedServer() as server:
        server.load([Rule(agent="coder", reply="Draft. " * 400), Rule(agent="user", reply="ok")])

        def make_config(**kw: object) -> object:
            kw.setdefault("llm", {"cache_seed": False})
            return parse_config({"models": [{"name": "default", "model": "scripted-model", "base_url": server.url,
                                             "max_retries": 0}], **kw})

        app = make_app(pair_config(make_config), "pair", "Say hello", Path(tempfile.mkdtemp()))
        samples: dict[str, list[float]] = {}
        async with app.run_test(size=(160, 48)) as pilot:
            while not waiting(app, RequestKind.MESSAGE):
                await pilot.pause(0.05)
            await pilot.pause(0.5)
            for _ in range(rounds):
                for key in ("f1", "ctrl+p", "r", "e", "i"):
                    start = time.process_time()
                    await pilot.press(key)
                    await pilot.pause()
                    await pilot.pause()
                    samples.setdefault(key, []).append(time.process_time() - start)
                    while app.screen is not app.cockpit:
                        await pilot.press("escape")
                        await pilot.pause()
    return {key: statistics.median(values) * 1e3 for key, values in samples.items()}


def main() -> None:
    """Run once and print the medians."""
    result = asyncio.run(measure())
    print(f"{ROOT}: " + ", ".join(f"{key} {ms:.1f} ms" for key, ms in result.items()))


if __name__ == "__main__":
    main()
