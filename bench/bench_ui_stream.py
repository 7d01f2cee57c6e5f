"""How fast the cockpit takes streamed tokens into a pane, and how often it redraws them.

The app runs headless at 160×48 on two agents. A producer on the app's loop plays the engine: it
hands `TokenDelta` events to the same bus bridge the engine uses (one Textual message per token),
yielding to the loop after each one as the engine does between stream chunks. Tokens are short
words; every 25th ends a line, so the text wraps and grows like a real reply. Reported:

- ``tokens/s``: tokens taken in and shown, from the first token to the frame that shows the last,
  with the producer going as fast as the loop lets it;
- ``redraws``: how often the streaming message was rendered (coalesced every 50 ms by default);
- ``keypress``: with the producer paced at ``--paced`` tokens/s (far above a real model's stream),
  the median time for a key press (scrolling the pane) to be handled: how responsive the app
  stays while streaming.

Run: ``python bench/bench_ui_stream.py [--tokens 20000] [--interval-ms 50]``. Timing lives here,
never in a test assertion.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from textual import events

from tuiagents.engine.events import AgentInfo, RunStarted, TokenDelta
from tuiagents.ui.engine_messages import EngineBridge


async def measure(tokens: int, interval_ms: int, paced: float = 0.0) -> dict:
    """Stream `tokens` tokens into the coder's pane; return throughput and responsiveness."""
    from tuiagents.ui.app import TuiAgentsApp
    from tuiagents.ui.settings import UIOptions

    start_events = [RunStarted(run_id="bench", team="bench", team_kind="two_agent", task="bench",
                               agents=[AgentInfo(name="planner", model="m"), AgentInfo(name="coder", model="m")])]
    app = TuiAgentsApp(events=start_events, options=UIOptions(bell=False, stream_interval_ms=interval_ms))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        cockpit = app.cockpit
        bridge = EngineBridge(cockpit)
        pane = cockpit.panes["coder"].transcript
        renders_before = pane.renders
        key_latencies: list[float] = []

        async def produce() -> None:
            begin = time.perf_counter()
            for i in range(tokens):
                bridge(TokenDelta(agent="coder", text=f"tok{i}" + ("\n" if i % 25 == 24 else " ")))
                if paced and i % 20 == 19:
                    await asyncio.sleep(max(0.0, begin + (i + 1) / paced - time.perf_counter()))
                else:
                    await asyncio.sleep(0)

        handled: list[float] = []
        scroll_up = pane.action_scroll_up

        def timed_scroll_up() -> None:
            handled.append(time.perf_counter())
            scroll_up()

        pane.action_scroll_up = timed_scroll_up  # type: ignore[method-assign]

        async def press_keys() -> None:
            pane.focus()
            while paced and not producer.done():
                key = events.Key("up", None)
                key.set_sender(app)
                count, sent = len(handled), time.perf_counter()
                app._driver.send_message(key)
                while len(handled) == count and not producer.done():
                    await asyncio.sleep(0.0005)
                if len(handled) > count:
                    key_latencies.append(handled[-1] - sent)
                await asyncio.sleep(0.05)

        t0 = time.perf_counter()
        producer = asyncio.ensure_future(produce())
        keys = asyncio.ensure_future(press_keys())
        await producer
        last = f"tok{tokens - 1}"
        entry = cockpit.feed.live["coder"]
        while not entry.content.endswith(last + ("\n" if (tokens - 1) % 25 == 24 else " ")) or cockpit.feed.dirty:
            await asyncio.sleep(0.001)
        pane.scroll_end(animate=False)
        await pilot.pause()
        shown = "\n".join(s.text for s in app.screen._compositor.render_strips())
        elapsed = time.perf_counter() - t0
        await keys
        # A message longer than the view's cut shows its start and says how much more there is.
        assert last in shown or "more characters" in shown, "neither the last token nor the cut is on screen"
        return {"tokens": tokens, "elapsed": elapsed, "tps": tokens / elapsed,
                "redraws": pane.renders - renders_before,
                "key_ms": statistics.median(key_latencies) * 1000 if key_latencies else float("nan"),
                "chars": len(entry.content)}


def main() -> None:
    """Run once and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=20000)
    parser.add_argument("--interval-ms", type=int, default=50)
    parser.add_argument("--paced", type=float, default=2000.0, help="tokens/s for the responsiveness run")
    args = parser.parse_args()
    r = asyncio.run(measure(args.tokens, args.interval_ms))
    print(f"as fast as possible: {r['tokens']:,} tokens ({r['chars']:,} chars) in {r['elapsed']:.2f} s: "
          f"{r['tps']:,.0f} tokens/s, {r['redraws']} redraws of the streaming message")
    n = int(args.paced * 5)
    r = asyncio.run(measure(n, args.interval_ms, paced=args.paced))
    print(f"paced at {args.paced:,.0f} tokens/s: {n:,} tokens in {r['elapsed']:.2f} s, {r['redraws']} redraws, "
          f"median key press handled in {r['key_ms']:.1f} ms")


if __name__ == "__main__":
    main()
