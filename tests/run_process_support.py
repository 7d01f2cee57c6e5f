"""Helpers for tests of runs in their own process: a config on the scripted server, an isolated
environment (config, data and runtime dirs of the test's own) and the `tuiagents` command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from headless_support import pair_toml
from test_demo import isolated_env



def short_runtime_dir() -> Path:
    """A runtime folder with a short path (a Unix socket's path has about 100 bytes)."""
    return Path(tempfile.mkdtemp(prefix="trt", dir="/tmp"))


def process_env(tmp_path: Path, runtime: Path) -> dict[str, str]:
    """The environment of tuiagents subprocesses of this test."""
    return isolated_env(tmp_path, TUIAGENTS_RUNTIME_DIR=str(runtime), COLUMNS="200")


def write_config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(pair_toml(url, 6, user='default_auto_reply = "go on"'))
    return path


def tuiagents(env: dict[str, str], *args: str, cwd: Path | None = None, timeout: float = 120) \
        -> subprocess.CompletedProcess[str]:
    """`tuiagents ARGS` in a subprocess; never a traceback."""
    done = subprocess.run([sys.executable, "-m", "tuiagents", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, check=False)
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    return done


def detach(env: dict[str, str], config: Path, task: str = "say hi") -> str:
    """Start a detached run; return its id."""
    done = tuiagents(env, "run", "--detach", "--config", str(config), "--task", task)
    assert done.returncode == 0, done.stdout + done.stderr
    match = re.search(r"Run ([0-9a-f]{12}) \(pair\) started in the background", done.stdout)
    assert match and f"tuiagents attach {match.group(1)}" in done.stdout, done.stdout
    return match.group(1)


def wait_ps(env: dict[str, str], pattern: str, timeout: float = 60) -> str:
    """Poll `tuiagents ps` until a line matches `pattern`; return the output."""
    end = time.monotonic() + timeout
    out = ""
    while time.monotonic() < end:
        out = tuiagents(env, "ps").stdout
        if re.search(pattern, out):
            return out
        time.sleep(0.3)
    raise AssertionError(f"`tuiagents ps` never showed {pattern!r}; it shows:\n{out}")


def record(runtime: Path, run_id: str) -> dict:
    import json

    return json.loads((runtime / f"{run_id}.run.json").read_text())


def stop_all(runtime: Path) -> None:
    """Kill the processes of runs a test left behind."""
    import json
    import signal

    for path in runtime.glob("*.run.json"):
        try:
            os.kill(json.loads(path.read_text())["pid"], signal.SIGKILL)
        except (OSError, ValueError, KeyError):
            pass
