"""Key press to visible answer, and first frame, in a real terminal (tmux).

The demo runs in a detached tmux session at 160×48. For each control the script sends the key
with ``tmux send-keys`` and polls ``tmux capture-pane`` until the screen shows the answer, then
undoes what it opened (Escape) when the key opened a screen. Reported per key: median and p90
over all samples, in milliseconds, which include one capture-pane round trip (about 2–4 ms here).

- ``first frame``: from spawning ``tuiagents demo`` to the first capture that shows the cockpit;
- ``approve``: ``a`` on a waiting message until its request box changes (its "Waiting for you"
  title is replaced: by the answered state, or by the next request);
- ``reject``, ``edit``, ``inject``: ``r``, ``e``, ``i`` on a waiting message until their dialog shows
  (then Escape, and the request is still waiting);
- ``help``, ``palette``, ``sessions``: F1, Ctrl+P, F2 until their screen shows (then Escape);
- ``timeline``: ``t`` until the merged timeline (or the panes again) shows;
- ``anchor``: a Textual app of one line that counts key presses, measured in the same rounds: what
  a key to screen costs on this machine at this moment (Textual's frame plus tmux), the floor.

Run: ``python bench/bench_keys_tmux.py [--rounds 3]``. Needs tmux. Timing lives here, never in a
test assertion.
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

SESSION = "tuiagents-bench-keys"
#: A tmux server of its own: a shared one would start the app with that server's environment.
TMUX = ["tmux", "-L", f"tuiagents-bench-{os.getpid()}", "-f", "/dev/null"]

ANCHOR = """from textual.app import App
from textual.widgets import Static


class Count(App):
    BINDINGS = [("a", "count", "Count")]
    n = 0

    def compose(self):
        yield Static("presses: 0", id="n")

    def action_count(self):
        self.n += 1
        self.query_one("#n", Static).update(f"presses: {self.n}")


Count().run()
"""


def capture() -> str:
    """The visible screen of the bench session, as text."""
    return subprocess.run([*TMUX, "capture-pane", "-p", "-t", SESSION], capture_output=True,
                          text=True).stdout


def send(*keys: str) -> None:
    """Send keys to the bench session."""
    subprocess.run([*TMUX, "send-keys", "-t", SESSION, *keys], check=True)


def wait_for(test: Callable[[str], bool], timeout: float = 10.0) -> tuple[float, str]:
    """Poll the screen until `test` holds; return the time it took and the screen."""
    start = time.perf_counter()
    while True:
        screen = capture()
        if test(screen):
            return time.perf_counter() - start, screen
        if time.perf_counter() - start > timeout:
            raise TimeoutError(f"screen did not change as expected:\n{screen}")
        time.sleep(0.001)


def close(title: str) -> None:
    """Press Escape until the dialog titled `title` is gone (the edit dialog's text area takes the first)."""
    for _ in range(5):
        send("Escape")
        try:
            wait_for(lambda s: title not in s, timeout=1.0)
            return
        except TimeoutError:
            continue
    raise TimeoutError(f"{title!r} did not close")


def timed_key(key: str, test: Callable[[str], bool]) -> float:
    """Send `key` and return the seconds until the screen satisfies `test`."""
    start = time.perf_counter()
    send(key)
    wait_for(test)
    return time.perf_counter() - start


def anchor_round(samples: dict[str, list[float]], script: str, env_prefix: str) -> None:
    """The anchor app: ten key presses, each until its count shows."""
    subprocess.run([*TMUX, "kill-session", "-t", SESSION], capture_output=True)
    subprocess.run([*TMUX, "new", "-d", "-s", SESSION, "-x", "160", "-y", "48",
                    f"{env_prefix}{sys.executable} {script}"], check=True)
    try:
        wait_for(lambda s: "presses: 0" in s, timeout=30)
        for n in range(1, 11):
            samples["anchor"].append(timed_key("a", lambda s, n=n: f"presses: {n}" in s))
    finally:
        subprocess.run([*TMUX, "kill-session", "-t", SESSION], capture_output=True)


def one_round(samples: dict[str, list[float]], data_dir: str) -> None:
    """One demo run: first frame, then every measured key."""
    env_prefix = (f"TUIAGENTS_DATA_DIR={data_dir} PYTHONDONTWRITEBYTECODE= "
                  f"PYTHONPYCACHEPREFIX={os.path.dirname(data_dir)}/pycache ")  # bytecode cached, as installed
    subprocess.run([*TMUX, "kill-session", "-t", SESSION], capture_output=True)
    start = time.perf_counter()
    subprocess.run([*TMUX, "new", "-d", "-s", SESSION, "-x", "160", "-y", "48",
                    env_prefix + "tuiagents demo"], check=True)
    wait_for(lambda s: "planner" in s and "coder" in s, timeout=30)
    samples["first frame"].append(time.perf_counter() - start)
    try:
        wait_for(lambda s: "Waiting for you" in s, timeout=30)
        for _ in range(3):
            samples["help"].append(timed_key("F1", lambda s: "Remap any key" in s))
            send("Escape")
            wait_for(lambda s: "Remap any key" not in s)
            samples["palette"].append(timed_key("C-p", lambda s: "Search for commands" in s))
            send("Escape")
            wait_for(lambda s: "Search for commands" not in s)
            samples["timeline"].append(timed_key("t", lambda s: "· team demo" in s))
            samples["timeline"].append(timed_key("t", lambda s: "· team demo" not in s))
        screen = wait_for(lambda s: "Waiting for you (" in s and "message from" in s, timeout=30)[1]
        line = next(x for x in screen.splitlines() if "Waiting for you (" in x)
        agent = line.split("message from ", 1)[1].split(":", 1)[0]
        for _ in range(3):
            for name, key, title in (("reject", "r", f"Reject {agent}'s draft"), ("edit", "e", f"Edit {agent}'s draft"),
                                     ("inject", "i", "Inject a message from you")):
                samples[name].append(timed_key(key, lambda s, t=title: t in s))
                close(title)
        for _ in range(3):
            samples["sessions"].append(timed_key("F2", lambda s: "Saved sessions" in s))
            send("Escape")
            wait_for(lambda s: "Saved sessions" not in s)
        for _ in range(5):
            before = wait_for(lambda s: "Waiting for you (" in s, timeout=30)[1]
            first = next(line for line in before.splitlines() if "Waiting for you (" in line)
            key, name = ("y", "run code") if "code from" in first else ("a", "approve")
            samples[name].append(timed_key(key, lambda s, f=first: f not in s.splitlines()))
    finally:
        subprocess.run([*TMUX, "kill-session", "-t", SESSION], capture_output=True)


def main() -> None:
    """Run the rounds and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not shutil.which("tmux"):
        sys.exit("tmux is not installed")
    samples: dict[str, list[float]] = {k: [] for k in
                                       ("first frame", "approve", "run code", "reject", "edit", "inject", "help",
                                        "palette", "sessions", "timeline", "anchor")}
    with tempfile.TemporaryDirectory() as data_dir:
        script = os.path.join(data_dir, "anchor.py")
        with open(script, "w") as f:
            f.write(ANCHOR)
        anchor_env = f"PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX={data_dir}/pycache "
        for _ in range(args.rounds):
            anchor_round(samples, script, anchor_env)
            one_round(samples, os.path.join(data_dir, "d"))
    print(f"{'key':<12} {'n':>3} {'median ms':>10} {'p90 ms':>8}")
    for key, values in samples.items():
        if not values:
            continue
        values.sort()
        p90 = values[min(len(values) - 1, int(round(0.9 * (len(values) - 1))))]
        print(f"{key:<12} {len(values):>3} {statistics.median(values) * 1e3:>10.1f} "
              f"{p90 * 1e3:>8.1f}")


if __name__ == "__main__":
    main()
