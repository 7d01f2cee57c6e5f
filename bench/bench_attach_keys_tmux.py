"""Key to screen in an attached view against the same run in the app's own process (tmux).

The same two-agent team on the scripted server, two ways, in the same rounds:

- ``in process``: the app drives the run itself (`run_app(..., own_process=False)`, as the demo and
  a resume do);
- ``attached``: the run lives in its own process (`tuiagents run --detach`) and `tuiagents attach ID`
  shows it over the run's Unix socket: the key goes to the run as a frame, and the screen changes
  when the run's events come back.

Reported per way, for `a` on a waiting draft: ``answer``, until the request box no longer shows
that draft (the answer on screen), and ``next draft``, until the next draft waits there (the run's
round trip), median and p90 in ms; beside the one-line anchor app of
`bench_keys_tmux.py` (Textual's frame plus tmux on this machine now). Goal (issue 18): attached
≤ 1.5x in process.

Run: ``python bench/bench_attach_keys_tmux.py [--rounds 3]``. Needs tmux. Timing lives here, never in
a test.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_keys_tmux as keys  # noqa: E402 - the shared tmux helpers and the anchor app

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
default_auto_reply = "go on"

[[agents]]
name = "assistant"
kind = "assistant"
model = "default"

[[teams]]
name = "pair"
agents = ["user", "assistant"]
max_turns = 40
"""

IN_PROCESS = ("import sys; from tuiagents.config import load_config; from tuiagents.app.tui import run_app; "
              "p = sys.argv[1]; sys.exit(run_app(load_config(p), p, 'pair', 'say hi', own_process=False))")


def _request_box(screen: str) -> tuple[str, ...]:
    """The "Waiting for you" line and the draft line under it (drafts differ; titles repeat)."""
    lines = screen.splitlines()
    at = next((i for i, line in enumerate(lines) if "Waiting for you (" in line), None)
    return tuple(lines[at:at + 2]) if at is not None else ()


def approvals(samples: dict[str, list[float]], way: str, count: int) -> None:
    """Approve `count` waiting drafts: the time until the request box no longer shows the draft
    (the answer on screen), and until the next draft waits there (the run's round trip)."""
    for _ in range(count):
        before = _request_box(keys.wait_for(lambda s: "Waiting for you (" in s, timeout=30)[1])
        start = time.perf_counter()
        keys.send("a")
        keys.wait_for(lambda s, b=before: _request_box(s) != b)
        samples[f"{way}: answer"].append(time.perf_counter() - start)
        keys.wait_for(lambda s, b=before: (box := _request_box(s)) != b and len(box) == 2 and "Draft number" in box[1])
        samples[f"{way}: next draft"].append(time.perf_counter() - start)


def in_tmux(command: str, env: dict[str, str]) -> None:
    """Start `command` in the bench's tmux session with `env`."""
    prefix = " ".join(f"{k}={v}" for k, v in env.items()) + " "
    subprocess.run([*keys.TMUX, "kill-session", "-t", keys.SESSION], capture_output=True)
    subprocess.run([*keys.TMUX, "new", "-d", "-s", keys.SESSION, "-x", "160", "-y", "48", prefix + command],
                   check=True)


def one_round(samples: dict[str, list[float]], folder: Path, url: str) -> None:
    """The same team in process, then attached, eight approvals each."""
    config = folder / "config.toml"
    config.write_text(CONFIG.format(url=url))
    env = {"TUIAGENTS_DATA_DIR": str(folder / "data"), "TUIAGENTS_RUNTIME_DIR": str(folder / "rt"),
           "TUIAGENTS_CONFIG_DIR": str(folder / "cfg"), "PYTHONDONTWRITEBYTECODE": "",
           "PYTHONPYCACHEPREFIX": str(folder.parent / "pycache")}
    try:
        in_tmux(f"{sys.executable} -c \"{IN_PROCESS}\" {config}", env)
        approvals(samples, "in process", 8)
        subprocess.run([*keys.TMUX, "kill-session", "-t", keys.SESSION], capture_output=True)
        started = subprocess.run(["tuiagents", "run", "--detach", "--config", str(config), "--team", "pair",
                                  "--task", "say hi"], capture_output=True, text=True, env={**os.environ, **env},
                                 check=True)
        run_id = re.search(r"Run ([0-9a-f]{12})", started.stdout).group(1)
        in_tmux(f"tuiagents attach {run_id}", env)
        approvals(samples, "attached", 8)
        subprocess.run(["tuiagents", "attach", run_id], capture_output=True, env={**os.environ, **env}, timeout=1)
    except subprocess.TimeoutExpired:
        pass
    finally:
        subprocess.run([*keys.TMUX, "kill-session", "-t", keys.SESSION], capture_output=True)
        for record in (folder / "rt").glob("*.run.json"):
            pid = int(re.search(r'"pid":\s*(\d+)', record.read_text()).group(1))
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass


def main() -> None:
    """Run the rounds and print the table."""
    from tuiagents.testing import Rule, Script, ScriptedServer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    samples: dict[str, list[float]] = {f"{way}: {what}": [] for way in ("in process", "attached")
                                       for what in ("answer", "next draft")}
    samples["anchor"] = []
    script = Script(rules=[Rule(agent="assistant", replies=[f"Draft number {i} from the assistant." for i in range(60)])])
    with tempfile.TemporaryDirectory(prefix="tuiagents-bench-") as tmp:
        anchor = Path(tmp) / "anchor.py"
        anchor.write_text(keys.ANCHOR)
        for r in range(args.rounds):
            with ScriptedServer(script) as server:
                folder = Path(tmp) / f"round{r}"
                folder.mkdir()
                one_round(samples, folder, server.url)
            keys.anchor_round(samples, str(anchor), "")
    print(f"{'':<24} {'median ms':>10} {'p90 ms':>8} {'n':>4}")
    for name, values in samples.items():
        ms = sorted(v * 1000 for v in values)
        p90 = ms[min(len(ms) - 1, int(0.9 * len(ms)))]
        print(f"{name:<24} {statistics.median(ms):>10.0f} {p90:>8.0f} {len(ms):>4}")
    for what in ("answer", "next draft"):
        ratio = statistics.median(samples[f"attached: {what}"]) / statistics.median(samples[f"in process: {what}"])
        print(f"attached / in process, {what}: {ratio:.2f}x (goal ≤ 1.5x)")


if __name__ == "__main__":
    main()
