"""What the session log costs: the writer per event, and a whole streamed run with and without its log.

    python bench/bench_session_write.py [--messages 1000] [--turns 20] [--words 100] [--rounds 5]

1. The writer: the events of a `--messages` sample log (`tuiagents.session.sample`) written through
   `SessionWriter`, in CPU microseconds per event: without any scrubbing (the floor), with the
   scrubber, and with the scrubber knowing one API key (so fragments of it are looked for too).
2. A streamed run: a two-agent pair on the scripted OpenAI-compatible server (real `openai`
   client, real HTTP on 127.0.0.1, one streamed chunk per word), `--turns` turns of a `--words`
   reply each, run to its end without a session log, with one, and with one whose scrubber knows
   an API key. Process CPU time (the server
   thread included), so load from other work on a shared machine counts less.

Every variant runs once per round, `--rounds` interleaved rounds, and the median is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import secrets as pysecrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

from tuiagents.config import parse_config
from tuiagents.engine.factory import build_run
from tuiagents.session.log import SessionWriter
from tuiagents.session.sample import sample_events, sample_header
from tuiagents.testing import Reply, Rule, ScriptedServer

KEY = f"sk-proj-{pysecrets.token_urlsafe(36)}"


class _NoScrub:
    """A scrubber that scrubs nothing: the writer's floor."""

    def __call__(self, text: str) -> str:
        return text

    def scrub_pieces(self, pieces: list[str]) -> list[str]:
        return list(pieces)

    def scrub_lines(self, lines: list[str]) -> list[str]:
        return list(lines)

    def spans(self, text: str) -> list:
        return []


def _writer_case(events: list, tmp: Path, *, scrub: bool, secrets: tuple[str, ...] = ()) -> Callable[[], float]:
    def case() -> float:
        path = Path(tempfile.mkstemp(dir=tmp, suffix=".jsonl")[1])
        path.unlink()
        writer = SessionWriter(path, sample_header(), secrets=secrets)
        if not scrub:
            writer._scrub = _NoScrub()
        t = time.process_time()
        for ev in events:
            writer(ev)
        writer.close()
        return (time.process_time() - t) / len(events) * 1e6
    return case


def _run_case(server: ScriptedServer, tmp: Path, turns: int, *, log: bool, logged: list[int],
              secrets: tuple[str, ...] = ()) -> Callable[[], float]:
    config = parse_config({
        "models": [{"name": "default", "model": "scripted-model", "base_url": server.url, "max_retries": 0}],
        "llm": {"cache_seed": False},
        "agents": [{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER", "default_auto_reply": "go on"},
                   {"name": "assistant", "kind": "assistant", "model": "default"}],
        "teams": [{"name": "pair", "agents": ["user", "assistant"], "max_turns": turns}],
    })

    def case() -> float:
        run = build_run(config, "pair", "write something long", approve="all", work_dir=tmp / "work")
        writer = None
        if log:
            path = Path(tempfile.mkstemp(dir=tmp, suffix=".jsonl")[1])
            path.unlink()
            writer = SessionWriter(path, config=config, secrets=secrets)
            run.bus.subscribe(writer)
            run.attach_session(path, writer)

        async def go() -> None:
            try:
                await run.run()
            finally:
                await run.aclose()

        t = time.process_time()
        asyncio.run(go())
        spent = time.process_time() - t
        if writer is not None:
            writer.close()
            logged.append(writer.events_written)
        return spent * 1e3
    return case


def _rounds(cases: dict[str, Callable[[], float]], rounds: int) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in cases}
    for case in cases.values():  # warm up: imports, the SDK client, first compiles
        case()
    for _ in range(rounds):
        for name, case in cases.items():
            gc.collect()
            times[name].append(case())
    return {name: statistics.median(v) for name, v in times.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--turns", type=int, default=20)
    ap.add_argument("--words", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="tuiagents-bench-") as name:
        tmp = Path(name)
        events = list(sample_events(args.messages))
        writer = _rounds({
            "no scrubbing": _writer_case(events, tmp, scrub=False),
            "scrubber": _writer_case(events, tmp, scrub=True),
            "scrubber, 1 key known": _writer_case(events, tmp, scrub=True, secrets=(KEY,)),
        }, args.rounds)
        print(f"writer, {len(events):,} events of a {args.messages:,}-message sample log (CPU us per event):")
        for label, us in writer.items():
            print(f"  {label:24s} {us:6.2f} us  ({us / writer['no scrubbing']:.2f}x)")

        reply = " ".join(f"word{i % 37}" for i in range(args.words))
        with ScriptedServer() as server:
            server.load([Rule(agent="assistant", reply=Reply(content=reply))])
            logged: list[int] = []
            runs = _rounds({"without a log": _run_case(server, tmp, args.turns, log=False, logged=logged),
                            "with its log": _run_case(server, tmp, args.turns, log=True, logged=logged),
                            "with its log, 1 key known": _run_case(server, tmp, args.turns, log=True, logged=logged,
                                                                   secrets=(KEY,))},
                           args.rounds)
        print(f"\nstreamed run, {args.turns} turns, {args.words}-word replies, {logged[-1]:,} events logged "
              "(CPU ms per run, server included):")
        for label, ms in runs.items():
            print(f"  {label:24s} {ms:8.1f} ms  ({ms / runs['without a log']:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
