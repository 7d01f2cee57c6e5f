"""Attaching to a run in its own process: the first frame after a long history, and keeping up
with a fast stream. The run is served by a real child process (`--serve`) on a real Unix socket.

- ``attach``: a live run whose history holds N delivered messages (the synthetic two-agent run of
  `tuiagents.session.sample`, without its streamed pieces, as a run keeps them). Reported, from
  connecting as `attach_app` does: its first full frame (``first frame``; the history is fetched
  beside it), and the frame with everything so far shown. Goal (issue 18): first frame ≤ 1 s at
  10,000.
- ``stream``: V views attached at once while the run streams token pieces at R per second for S
  seconds. Reported: pieces each view received, and how far behind the last one arrived (``lag``,
  from the run sending it to the slowest view having it). Goal: five views keep up at 5,000/s.

Run: ``python bench/bench_attach.py [--sizes 1000 10000] [--views 5] [--rate 5000]``.
Timing lives here, never in a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# -- the child: a served run ---------------------------------------------------------------------------
async def serve(sock: str, n: int, rate: int, seconds: float) -> None:
    from tuiagents.config import parse_config
    from tuiagents.engine.events import TokenDelta
    from tuiagents.engine.factory import build_run
    from tuiagents.engine.handle import LocalRunHandle
    from tuiagents.session.run_server import RunServer
    from tuiagents.session.sample import sample_events

    config = parse_config({
        "models": [{"name": "m", "model": "x", "base_url": "http://127.0.0.1:9/v1"}],
        "agents": [{"name": "coder", "kind": "assistant", "model": "m"},
                   {"name": "runner", "kind": "user_proxy", "human_input_mode": "TERMINATE"}],
        "teams": [{"name": "pair", "agents": ["coder", "runner"]}]})
    run = build_run(config, "pair", "bench", work_dir=Path(tempfile.mkdtemp()))
    run.bus.continue_after(list(sample_events(n, token_deltas=False, stop=False)))
    server = await RunServer(LocalRunHandle(run), sock).start()
    print("ready", flush=True)
    if rate:
        while len([c for c in server.clients if c.subscribed]) < int(os.environ.get("BENCH_VIEWS", "1")):
            await asyncio.sleep(0.01)
        start = time.perf_counter()
        total = int(rate * seconds)
        for i in range(total):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await run.bus.emit(TokenDelta(agent="coder", text=f"{time.time():.6f} "))
        print("sent", total, flush=True)
    await asyncio.sleep(3600)


def start_child(sock: str, n: int, rate: int = 0, seconds: float = 0, views: int = 1) -> subprocess.Popen:
    env = dict(os.environ, BENCH_VIEWS=str(views), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, __file__, "--serve", sock, "--n", str(n), "--rate", str(rate),
                             "--seconds", str(seconds)], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "ready"
    return proc


# -- the measurements -------------------------------------------------------------------------------
async def attach_once(sock: str) -> tuple[float, float]:
    from tuiagents.engine.handle import local_sender
    from tuiagents.session.run_client import RemoteRunHandle
    from tuiagents.ui.app import TuiAgentsApp

    t0 = time.perf_counter()
    handle = RemoteRunHandle(sock, local_sender("attached"), subscribe=False)  # as `attach_app` does
    app = TuiAgentsApp(handle=handle)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        app.screen._compositor.render_strips()
        first = time.perf_counter() - t0
        while app.cockpit is None or app.cockpit.events_handled < len(handle.events_since(-1)) or not handle._synced:
            await pilot.pause(0.02)
        await pilot.pause()
        app.screen._compositor.render_strips()
        everything = time.perf_counter() - t0
    handle.close()
    return first, everything


async def hello_once() -> float:
    """The anchor: a Textual app with one Static, to its first frame, in the same rounds."""
    from textual.app import App
    from textual.widgets import Static

    class Hello(App):
        def compose(self):
            yield Static("hello")

    t0 = time.perf_counter()
    app = Hello()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        app.screen._compositor.render_strips()
        return time.perf_counter() - t0


def bench_attach(sizes: list[int], rounds: int) -> None:
    asyncio.run(hello_once())  # warm: Textual's first app in a process pays for its own imports
    print("| messages | first frame (connect to painted) | everything so far shown | Textual hello, same rounds |")
    print("|---|---|---|---|")
    for n in sizes:
        sock = tempfile.mktemp(prefix="ba", dir="/tmp")
        child = start_child(sock, n)
        try:
            runs, hello = [], []
            for _ in range(rounds):
                runs.append(asyncio.run(attach_once(sock)))
                hello.append(asyncio.run(hello_once()))
        finally:
            child.kill()
        print(f"| {n:,} | {statistics.median(r[0] for r in runs) * 1000:.0f} ms | "
              f"{statistics.median(r[1] for r in runs):.2f} s | {statistics.median(hello) * 1000:.0f} ms |")


def bench_stream(views: int, rate: int, seconds: float) -> None:
    import threading

    from tuiagents.session.run_client import RemoteRunHandle

    sock = tempfile.mktemp(prefix="bs", dir="/tmp")
    child = start_child(sock, 10, rate, seconds, views)
    got: list[list[tuple[float, float]]] = [[] for _ in range(views)]
    handles = []
    try:
        for i in range(views):
            h = RemoteRunHandle(sock)
            h.subscribe(lambda e, i=i: e.type == "token_delta" and got[i].append((float(e.text), time.time())))
            handles.append(h)
        child.stdout.readline()  # "sent N"
        deadline = time.time() + 30
        total = int(rate * seconds)
        while time.time() < deadline and min(len(g) for g in got) < total:
            time.sleep(0.05)
    finally:
        for h in handles:
            h.close()
        child.kill()
    last_lag = max(g[-1][1] - g[-1][0] for g in got if g)
    worst = max(max(b - a for a, b in g) for g in got if g)
    print(f"| {views} views, {rate:,} pieces/s for {seconds:g} s | received {min(len(g) for g in got):,} "
          f"of {total:,} by each | lag of the last piece {last_lag * 1000:.0f} ms, worst {worst * 1000:.0f} ms |")
    del threading


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--serve")
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--rate", type=int, default=5000)
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--sizes", type=int, nargs="*", default=[1000, 10_000])
    p.add_argument("--views", type=int, default=5)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve, args.n, args.rate, args.seconds))
        return
    bench_attach(args.sizes, args.rounds)
    bench_stream(args.views, args.rate, args.seconds)


if __name__ == "__main__":
    main()
