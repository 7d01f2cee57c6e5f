"""First frame in a real terminal (tmux): from spawning the process to the first screen.

Three programs, in interleaved rounds (the machine is shared, so the median of the rounds counts):

- ``hello``: a Textual app that shows one Static (the anchor: Textual's own start-up here);
- ``cockpit``: ``tuiagents --config X --team pair --task T`` against the scripted server
  (`tuiagents.testing.ScriptedServer`, in this process) until both agents' panes show;
- ``demo``: ``tuiagents demo`` until the planner's and the coder's panes show.

Each is polled with ``tmux capture-pane`` every millisecond or so (one round trip is about
2–4 ms here, included). Bytecode is cached (in a temporary ``PYTHONPYCACHEPREFIX``, after one
uncounted warm-up run of each), as on a normal install: this machine sets
``PYTHONDONTWRITEBYTECODE=1``, which alone adds about 0.16 s of compiling tuiagents' own modules to
every start. Run: ``python bench/bench_first_frame.py [--rounds 5]``. Needs tmux.
Timing lives here, never in a test assertion.
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

from tuiagents.testing import Rule, ScriptedServer

SESSION = "tuiagents-bench-first-frame"

HELLO = """from textual.app import App
from textual.widgets import Static


class Hello(App):
    def compose(self):
        yield Static("Hello, first frame")


Hello().run()
"""

CONFIG = """[[models]]
name = "default"
model = "scripted-model"
base_url = "{url}"

[[agents]]
name = "user"
kind = "user_proxy"
human_input_mode = "NEVER"
model = "default"

[[agents]]
name = "coder"
kind = "assistant"
model = "default"

[[teams]]
name = "pair"
kind = "two_agent"
agents = ["user", "coder"]
max_turns = 2
"""


def capture() -> str:
    """The visible screen of the bench session, as text."""
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", SESSION], capture_output=True, text=True).stdout


def first_frame(command: str, shows: Callable[[str], bool], timeout: float = 30.0) -> float:
    """Seconds from spawning `command` in tmux until the screen satisfies `shows`."""
    subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
    start = time.perf_counter()
    subprocess.run(["tmux", "new", "-d", "-s", SESSION, "-x", "160", "-y", "48", command], check=True)
    try:
        while True:
            if shows(capture()):
                return time.perf_counter() - start
            if time.perf_counter() - start > timeout:
                raise TimeoutError(f"{command!r} showed no first frame:\n{capture()}")
            time.sleep(0.001)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)


def main() -> None:
    """Run the rounds and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not shutil.which("tmux"):
        sys.exit("tmux is not installed")
    samples: dict[str, list[float]] = {"hello": [], "cockpit": [], "demo": []}
    with tempfile.TemporaryDirectory() as tmp, ScriptedServer([Rule(reply="Hello from the script.")]) as server:
        root = Path(tmp)
        (root / "hello.py").write_text(HELLO)
        (root / "config.toml").write_text(CONFIG.format(url=server.url))
        env = (f"cd {tmp} && TUIAGENTS_DATA_DIR={tmp}/data PYTHONDONTWRITEBYTECODE= "
               f"PYTHONPYCACHEPREFIX={tmp}/pycache ")
        commands = {
            "hello": (f"{env}{sys.executable} hello.py", lambda s: "Hello, first frame" in s),
            "cockpit": (f"{env}tuiagents --config config.toml --team pair --task 'Say hello'",
                        lambda s: "user" in s and "coder" in s),
            "demo": (f"{env}tuiagents demo", lambda s: "planner" in s and "coder" in s),
        }
        for command, shows in commands.values():
            first_frame(command, shows)  # warm-up: writes the bytecode cache
        for _ in range(args.rounds):
            for name, (command, shows) in commands.items():
                samples[name].append(first_frame(command, shows))
    hello = statistics.median(samples["hello"])
    print(f"{'program':<10} {'n':>3} {'median s':>9} {'min s':>7} {'max s':>7} {'x hello':>8}")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:<10} {len(values):>3} {median:>9.3f} {min(values):>7.3f} {max(values):>7.3f} "
              f"{median / hello:>8.2f}")


if __name__ == "__main__":
    main()
