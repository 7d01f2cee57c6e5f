"""Key press to visible answer, and first frame, in a browser through `tuiagents serve`, beside tmux.

`tuiagents serve -- demo` runs on a free 127.0.0.1 port; headless chromium (Debian's, driven by
Playwright) opens the printed URL. For each key the script presses it in the page and polls the
terminal's text (read from xterm.js's buffer, as `tests/test_serve_browser.py` does) until the
screen shows the answer. The same keys are then timed on the demo in tmux at the browser's size
(`bench_keys_tmux.py`'s helpers), in the same round, so the load falls on both alike.

- ``first frame``: from opening the URL (browser) or spawning the demo (tmux) until the cockpit shows;
- ``help``: F1 until its screen shows (then Escape); ``timeline``: ``t`` until the timeline (or the
  panes again) shows; ``approve``: ``a`` (``y`` on code) until the request box changes;
- ``anchor``: a Textual app of one line that counts key presses, served by textual-serve as is
  (browser) and run in tmux: the floor of each path on this machine at this moment.

Run: ``python bench/bench_serve_browser.py [--rounds 3]``. Needs chromium, Playwright and tmux.
Timing lives here, never in a test assertion.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import bench_keys_tmux as tmux  # noqa: E402
from test_serve_browser import CHROMIUM, FIND_TERMINALS, SCREEN_TEXT  # noqa: E402

KEYS = ("first frame", "help", "timeline", "approve", "anchor")


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(argv: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """Start a server; return it and the first URL it prints."""
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    assert process.stdout is not None
    for line in process.stdout:
        found = re.search(r"http://\S+", line)
        if found:
            return process, found.group(0)
    raise RuntimeError("the server printed no URL")


def stop(process: subprocess.Popen[str]) -> None:
    """Ctrl+C the server, and wait for it."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


class Page:
    """A browser page whose terminal text can be polled."""

    def __init__(self, page) -> None:
        self.page = page

    def screen(self) -> str:
        """The terminal's visible rows."""
        return self.page.evaluate(SCREEN_TEXT)

    def wait_for(self, test: Callable[[str], bool], timeout: float = 30.0) -> str:
        """Poll until `test` holds on the screen; return the screen."""
        end = time.perf_counter() + timeout
        while True:
            shown = self.screen()
            if test(shown):
                return shown
            if time.perf_counter() > end:
                raise TimeoutError(f"screen did not change as expected:\n{shown}")

    def timed_key(self, key: str, test: Callable[[str], bool]) -> float:
        """Press `key` in the page; seconds until the screen satisfies `test`."""
        begin = time.perf_counter()
        self.page.keyboard.press(key)
        self.wait_for(test)
        return time.perf_counter() - begin


def measure(keys: Callable[[str, Callable[[str], bool]], float], wait_for: Callable[..., str],
            samples: dict[str, list[float]]) -> None:
    """The demo's keys, the same way on either path (`keys`: press and time; `wait_for`: poll)."""
    wait_for(lambda s: "Waiting for you" in s, timeout=60)
    for _ in range(3):
        samples["help"].append(keys("F1", lambda s: "Remap any key" in s))
        keys("Escape", lambda s: "Remap any key" not in s)
        samples["timeline"].append(keys("t", lambda s: "· team demo" in s))
        samples["timeline"].append(keys("t", lambda s: "· team demo" not in s))
    for _ in range(3):
        before = wait_for(lambda s: "Waiting for you (" in s, timeout=60)
        first = next(line for line in before.splitlines() if "Waiting for you (" in line)
        key = "y" if "code from" in first else "a"
        samples["approve"].append(keys(key, lambda s, f=first: f not in s.splitlines()))


def browser_round(browser, samples: dict[str, list[float]], env: dict[str, str], anchor: str) -> tuple[int, int]:
    """The demo and the anchor in the browser; returns the terminal's size."""
    server, url = start([sys.executable, "-m", "tuiagents", "serve", "--port", "0", "--", "demo"], env)
    try:
        page = browser.new_page(viewport={"width": 1600, "height": 950})
        page.add_init_script(FIND_TERMINALS)
        view = Page(page)
        begin = time.perf_counter()
        page.goto(url)
        view.wait_for(lambda s: "planner" in s and "coder" in s)
        samples["first frame"].append(time.perf_counter() - begin)
        size = page.evaluate("() => [window.__terminals[0].cols, window.__terminals[0].rows]")
        page.locator(".xterm-helper-textarea").focus()
        measure(view.timed_key, view.wait_for, samples)
        page.close()
    finally:
        stop(server)
    port = free_port()
    code = f"from textual_serve.server import Server; Server({f'{sys.executable} {anchor}'!r}, port={port}).serve()"
    server = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        page = browser.new_page(viewport={"width": 1600, "height": 950})
        page.add_init_script(FIND_TERMINALS)
        view = Page(page)
        for _ in range(100):
            try:
                page.goto(f"http://127.0.0.1:{port}/")
                break
            except Exception:  # noqa: BLE001 - not listening yet
                time.sleep(0.1)
        view.wait_for(lambda s: "presses: 0" in s)
        page.locator(".xterm-helper-textarea").focus()
        for n in range(1, 11):
            samples["anchor"].append(view.timed_key("a", lambda s, n=n: f"presses: {n}" in s))
        page.close()
    finally:
        stop(server)
    return tuple(size)


def tmux_round(samples: dict[str, list[float]], size: tuple[int, int], data_dir: str, anchor: str) -> None:
    """The same keys on the demo in tmux, at the browser terminal's size."""
    prefix = f"TUIAGENTS_DATA_DIR={data_dir} "
    tmux.anchor_round(samples, anchor, "")
    subprocess.run([*tmux.TMUX, "kill-session", "-t", tmux.SESSION], capture_output=True)
    begin = time.perf_counter()
    subprocess.run([*tmux.TMUX, "new", "-d", "-s", tmux.SESSION, "-x", str(size[0]), "-y", str(size[1]),
                    f"{prefix}{sys.executable} -m tuiagents demo"], check=True)
    try:
        tmux.wait_for(lambda s: "planner" in s and "coder" in s, timeout=30)
        samples["first frame"].append(time.perf_counter() - begin)
        measure(tmux.timed_key, lambda test, timeout=30.0: tmux.wait_for(test, timeout)[1], samples)
    finally:
        subprocess.run([*tmux.TMUX, "kill-session", "-t", tmux.SESSION], capture_output=True)


def table(name: str, samples: dict[str, list[float]]) -> None:
    """Print median and p90 per key, in ms."""
    print(f"\n{name}\n{'key':<12} {'n':>3} {'median ms':>10} {'p90 ms':>8}")
    for key in KEYS:
        values = sorted(samples[key])
        if values:
            p90 = values[min(len(values) - 1, int(round(0.9 * (len(values) - 1))))]
            print(f"{key:<12} {len(values):>3} {statistics.median(values) * 1e3:>10.1f} {p90 * 1e3:>8.1f}")


def main() -> None:
    """Run the rounds and print both tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    browser_samples: dict[str, list[float]] = {k: [] for k in KEYS}
    tmux_samples: dict[str, list[float]] = {k: [] for k in KEYS}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        anchor = os.path.join(tmp, "anchor.py")
        Path(anchor).write_text(tmux.ANCHOR)
        env = dict(os.environ, TUIAGENTS_DATA_DIR=os.path.join(tmp, "data"))
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for _ in range(args.rounds):
                size = browser_round(browser, browser_samples, env, anchor)
                tmux_round(tmux_samples, size, os.path.join(tmp, "data"), anchor)
        finally:
            browser.close()
    print(f"terminal size in the browser: {size[0]}×{size[1]} (tmux used the same)")
    table("browser (tuiagents serve, chromium)", browser_samples)
    table("tmux", tmux_samples)


if __name__ == "__main__":
    main()
