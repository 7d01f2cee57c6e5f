"""Keys after a very long one-line reply, in a real terminal (tmux), on the scripted server.

A two-agent team runs in tmux at 160×48 against the package's scripted OpenAI-compatible server,
whose model replies with one line of `--mb` MB. Once the coder's draft waits for approval, keys are
sent with ``tmux send-keys`` and the screen polled with ``capture-pane`` until it shows the answer:

- ``first t``: the first key after the draft is on screen: ``t`` until the merged timeline shows;
- ``t``: the following presses of ``t`` (timeline, then the panes again).

Each figure includes one capture-pane round trip (2–4 ms). Run it again with ``--mb 0.001`` right after for the same
machine's figures with a short reply (2026-12-07, load 9.7 on 2 cores: 5 MB first ``t`` 651 ms, later
``t`` 377 ms; 1 KB 245 ms and 320 ms). Run:
``python bench/bench_long_reply_keys_tmux.py [--mb 5] [--rounds 3]``. Needs tmux. Timing lives here,
never in a test assertion.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

SESSION = "tuiagents-bench-long-reply"
#: A tmux server of its own: a shared one would start the app with that server's environment.
TMUX = ["tmux", "-L", f"tuiagents-bench-{os.getpid()}", "-f", "/dev/null"]

CONFIG = """
[[models]]
name = "default"
model = "scripted-model"
base_url = "{url}"
max_retries = 0

[llm]
cache_seed = false

[[agents]]
name = "user"
kind = "user_proxy"
human_input_mode = "NEVER"

[[agents]]
name = "coder"
kind = "assistant"
model = "default"

[[teams]]
name = "pair"
kind = "two_agent"
agents = ["user", "coder"]
max_turns = 2

[session]
dir = "{sessions}"

[ui]
bell = false
"""


def capture() -> str:
    """The visible screen of the bench session, as text."""
    return subprocess.run([*TMUX, "capture-pane", "-p", "-t", SESSION], capture_output=True, text=True).stdout


def wait_for(test: Callable[[str], bool], timeout: float = 60.0) -> str:
    """Poll the screen until `test` holds; return the screen."""
    start = time.perf_counter()
    while True:
        screen = capture()
        if test(screen):
            return screen
        if time.perf_counter() - start > timeout:
            raise TimeoutError(f"screen did not change as expected:\n{screen}")
        time.sleep(0.001)


def timed_key(key: str, test: Callable[[str], bool]) -> float:
    """Send `key` and return the seconds until the screen satisfies `test`."""
    start = time.perf_counter()
    subprocess.run([*TMUX, "send-keys", "-t", SESSION, key], check=True)
    wait_for(test)
    return time.perf_counter() - start


def timeline(screen: str) -> bool:
    """The merged timeline is on screen (its header names the team)."""
    return "· team pair" in screen


def one_round(samples: dict[str, list[float]], url: str, folder: Path) -> None:
    """One run: wait for the long draft, then time the keys."""
    config = folder / "config.toml"
    config.write_text(CONFIG.format(url=url, sessions=folder / "sessions"))
    env = (f"TUIAGENTS_DATA_DIR={folder / 'data'} TUIAGENTS_CONFIG_DIR={folder / 'cfg'} "
           f"PYTHONPYCACHEPREFIX={folder.parent / 'pycache'} PYTHONPATH={os.environ.get('PYTHONPATH', '')} ")
    command = f"{env}{sys.executable} -m tuiagents --config {config} --team pair --task 'Say hello'"
    subprocess.run([*TMUX, "kill-session", "-t", SESSION], capture_output=True)
    subprocess.run([*TMUX, "new", "-d", "-s", SESSION, "-x", "160", "-y", "48", command], check=True)
    try:
        wait_for(lambda s: "Deliver coder's message?" in s, timeout=300)
        samples["first t"].append(timed_key("t", timeline))
        samples["t"].append(timed_key("t", lambda s: not timeline(s)))
        for _ in range(4):
            samples["t"].append(timed_key("t", timeline))
            samples["t"].append(timed_key("t", lambda s: not timeline(s)))
    finally:
        subprocess.run([*TMUX, "kill-session", "-t", SESSION], capture_output=True)


def main() -> None:
    """Serve the long reply, run the rounds and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not shutil.which("tmux"):
        sys.exit("tmux is not installed")
    from tuiagents.testing import Rule, Script, ScriptedServer

    reply = "x" * int(args.mb * 1_000_000)
    samples: dict[str, list[float]] = {"first t": [], "t": []}
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.rounds):
            script = Script(rules=[Rule(agent="coder", reply=reply), Rule(agent="user", reply="ok")])
            with ScriptedServer(script) as server:
                folder = Path(tmp) / f"r{n}"
                folder.mkdir()
                one_round(samples, server.url, folder)
    print(f"reply of {args.mb:g} MB on one line, {args.rounds} rounds, load {os.getloadavg()[0]:.1f}")
    print(f"{'key':<10} {'n':>3} {'median ms':>10} {'p90 ms':>8}")
    for key, values in samples.items():
        values.sort()
        p90 = values[min(len(values) - 1, int(round(0.9 * (len(values) - 1))))]
        print(f"{key:<10} {len(values):>3} {statistics.median(values) * 1e3:>10.1f} {p90 * 1e3:>8.1f}")


if __name__ == "__main__":
    main()
