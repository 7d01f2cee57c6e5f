"""Attaching to a run in its own process: the first frame after a long history, and keeping up
with a fast stream. The run is served by a real child process (`--serve`) on a real Unix socket.

- ``attach``: `tuiagents attach ID` in a real terminal (tmux, polled with capture-pane) on a live
  run whose history holds N delivered messages (the synthetic two-agent run of
  `tuiagents.session.sample`, without its streamed pieces, as a run keeps them). Reported, from
  spawning the command: the first frame with the run's panes, and the frame showing the last
  turn of the history; beside a Textual hello app in the same rounds. Goal (issue 18): first frame
  ≤ 1 s at 10,000. Needs tmux.
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
    if os.environ.get("TUIAGENTS_RUNTIME_DIR"):
        from tuiagents.session.live_runs import RunRecord, write_record

        write_record(RunRecord(run_id=run.run_id, pid=os.getpid(), team="pair", socket=sock, started=time.time()))
    print("ready", run.run_id, flush=True)
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
    line = proc.stdout.readline().split()
    assert line[0] == "ready"
    proc.run_id = line[1]  # type: ignore[attr-defined]
    return proc


# -- the measurements -------------------------------------------------------------------------------
SESSION = "tuiagents-bench-attach"
HELLO = """from textual.app import App
from textual.widgets import Static


class Hello(App):
    def compose(self):
        yield Static("Hello, first frame")


Hello().run()
"""


def capture() -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", SESSION], capture_output=True, text=True).stdout


def in_tmux(command: str, marks: list, timeout: float = 180.0) -> list[float]:
    """Seconds from spawning `command` in tmux until the screen shows each of `marks` in turn."""
    subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
    start = time.perf_counter()
    subprocess.run(["tmux", "new", "-d", "-s", SESSION, "-x", "160", "-y", "48", command], check=True)
    out = []
    try:
        for shows in marks:
            while not shows(capture()):
                if time.perf_counter() - start > timeout:
                    raise TimeoutError(f"{command!r} never showed the mark:\n{capture()}")
                time.sleep(0.002)
            out.append(time.perf_counter() - start)
        return out
    finally:
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)


def bench_attach(sizes: list[int], rounds: int) -> None:
    """`tuiagents attach ID` in a real terminal, against the Textual hello anchor, interleaved."""
    print("| messages | first frame (spawn to the panes) | everything so far shown | Textual hello, same rounds |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        (Path(tmp) / "hello.py").write_text(HELLO)
        env = (f"cd {tmp} && TUIAGENTS_RUNTIME_DIR={tmp}/rt PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX={tmp}/pyc "
               f"PYTHONPATH={ROOT} ")
        os.environ["TUIAGENTS_RUNTIME_DIR"] = f"{tmp}/rt"
        for n in sizes:
            child = start_child(f"{tmp}/r{n}.sock", n)
            attach = f"{env}{sys.executable} -m tuiagents attach {child.run_id}"  # type: ignore[attr-defined]
            marks = [lambda s: "coder" in s and "runner" in s, lambda s, n=n: f"turn {n}" in s]
            try:
                in_tmux(attach, marks)  # warm-up, uncounted (bytecode cache)
                in_tmux(f"{env}{sys.executable} hello.py", [lambda s: "Hello, first frame" in s])
                runs, hello = [], []
                for _ in range(rounds):
                    runs.append(in_tmux(attach, marks))
                    hello.append(in_tmux(f"{env}{sys.executable} hello.py", [lambda s: "Hello, first frame" in s])[0])
            finally:
                child.kill()
            print(f"| {n:,} | {statistics.median(r[0] for r in runs) * 1000:.0f} ms | "
                  f"{statistics.median(r[1] for r in runs):.2f} s | {statistics.median(hello) * 1000:.0f} ms |")


def bench_stream(views: int, rate: int, seconds: float) -> None:
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
