"""How long opening a big session takes: write a 10,000-message log, then time and measure memory of
reading it, building its transcript, listing it, exporting it and forking it.

    python bench/bench_session_open.py [--messages 10000] [--repeat 3] [--no-deltas]

Prints a table: the median wall time of `--repeat` interleaved rounds (every operation once per
round, so load from other work on a shared machine falls on all of them alike), and the peak Python
memory of one run (tracemalloc, measured separately so it does not slow the timings). The anchor is
`json.loads` of every line into plain dicts, the least a reader of the log can do.
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from tuiagents.session.catalog import _cache, list_sessions
from tuiagents.session.export import export_session
from tuiagents.session.fork import fork_session
from tuiagents.session.log import SessionWriter
from tuiagents.session.reader import read_session
from tuiagents.session.sample import sample_events, sample_header
from tuiagents.session.transcript import build_transcript


def _peak(fn) -> float:
    """Peak Python memory (MiB) of one call of `fn`."""
    gc.collect()
    tracemalloc.start()
    result = fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del result
    return peak / 2**20


def _rounds(cases: list, repeat: int) -> dict[str, list[float]]:
    """Wall times of every case, `repeat` interleaved rounds."""
    times: dict[str, list[float]] = {name: [] for name, _ in cases}
    for _ in range(repeat):
        for name, fn in cases:
            gc.collect()
            t = time.perf_counter()
            result = fn()
            times[name].append(time.perf_counter() - t)
            del result
    return times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-deltas", action="store_true", help="write the log without token deltas")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="tuiagents-bench-"))
    try:
        path = tmp / "big.jsonl"
        t = time.perf_counter()
        with SessionWriter(path, sample_header(), token_deltas=not args.no_deltas) as w:
            for ev in sample_events(args.messages):
                w(ev)
        write_s = time.perf_counter() - t
        log = read_session(path)
        lean = read_session(path, token_deltas=False)
        size = path.stat().st_size / 2**20
        print(f"log: {args.messages:,} messages, {len(log.events):,} events "
              f"({len(lean.events):,} without token deltas), {size:.1f} MiB; written in {write_s:.2f} s "
              f"({len(log.events) / write_s:,.0f} events/s, flushed per line)\n")

        def listing(quick: bool):
            def run():
                _cache.clear()
                return list_sessions(tmp, quick=quick)
            return run

        def fork():
            dest = fork_session(path, len(log.events) // 2)
            dest.unlink()

        def json_lines():
            with open(path, "rb") as f:
                return [json.loads(line) for line in f]

        cases = [
            ("json.loads per line (anchor)", json_lines),
            ("read_session (all events)", lambda: read_session(path)),
            ("read_session (token_deltas=False)", lambda: read_session(path, token_deltas=False)),
            ("build_transcript", lambda: build_transcript(lean)),
            ("list_sessions (full scan)", listing(False)),
            ("list_sessions (quick: header + tail)", listing(True)),
            ("list_sessions (cached)", lambda: list_sessions(tmp)),
            ("export md (from a read log)", lambda: export_session(lean, "md")),
            ("export html", lambda: export_session(lean, "html")),
            ("export json", lambda: export_session(lean, "json")),
            ("fork at half", fork),
        ]
        times = _rounds(cases, args.repeat)
        print(f"{'operation':<38} {'median of ' + str(args.repeat):>12} {'peak memory':>13}")
        print("-" * 65)
        for name, fn in cases:
            print(f"{name:<38} {statistics.median(times[name]) * 1000:>9.0f} ms {_peak(fn):>9.1f} MiB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
