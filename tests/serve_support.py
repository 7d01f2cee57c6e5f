"""Helpers for the `tuiagents serve` tests: a two-agent config on the scripted server, and a real
`tuiagents serve` process on a free 127.0.0.1 port whose printed URL (with its token) the tests read.
Each serve gets a runtime folder of its own, so the runs it starts are the only ones a test sees
there, and none outlives the test."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from headless_support import pair_toml
from run_process_support import short_runtime_dir
from test_demo import isolated_env

URL = re.compile(r"http://\S+/\?token=\S+")
FIRST_DRAFT = "Hello from the scripted assistant, draft one."
SECOND_DRAFT = "Second message after your approval.\n\nTERMINATE"


def pair_config(tmp_path: Path, server_url: str) -> Path:
    """A two-agent team (no code execution) on the scripted server; sessions under `tmp_path`."""
    config = tmp_path / "config.toml"
    config.write_text(pair_toml(server_url, 4, user='code_execution = "none"\ndefault_auto_reply = "Please go on."',
                                after=f'\n[session]\ndir = "{tmp_path / "sessions"}"\n\n[ui]\nbell = false\n'))
    return config


@dataclass
class Served:
    """A running `tuiagents serve` process and the URL it printed."""

    process: subprocess.Popen[str]
    url: str
    output: list[str]
    runtime: Path = field(default_factory=Path)
    #: the runtime folder is this serve's alone (not the caller's): its runs end with the test
    owns_runtime: bool = False
    follower: threading.Thread | None = None

    def follow(self) -> None:
        """Keep reading what serve prints into `output`, in a thread, until it exits."""
        def read() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.output.append(line)

        self.follower = threading.Thread(target=read, daemon=True)
        self.follower.start()

    def wait_for_output(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        """Wait until what serve printed matches `pattern`; fail with what it printed."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            found = re.search(pattern, "".join(self.output))
            if found:
                return found
            time.sleep(0.1)
        raise AssertionError(f"serve never printed {pattern!r}; it printed:\n" + "".join(self.output))

    @property
    def base(self) -> str:
        """The server's address without the token."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def token(self) -> str:
        """The token the server printed."""
        return parse_qs(urlsplit(self.url).query)["token"][0]

    def children(self) -> list[int]:
        """The app processes serve started that still run (the apps of browser tabs), not the run
        it started for them (see `run_pids`)."""
        return [pid for pid in children_of(self.process.pid) if not is_run_process(pid)]

    def run_pids(self) -> list[int]:
        """The processes of the runs recorded in this serve's runtime folder that still live."""
        import json

        pids = []
        for path in self.runtime.glob("*.run.json"):
            try:
                pids.append(json.loads(path.read_text())["pid"])
            except (OSError, ValueError, KeyError):
                continue
        return [pid for pid in pids if alive(pid)]

    def env(self) -> dict[str, str]:
        """Environment variables under which `tuiagents ps` or `survey()` see this serve's runs."""
        return {"TUIAGENTS_RUNTIME_DIR": str(self.runtime)}

    def stop(self, sig: signal.Signals = signal.SIGINT, timeout: float = 30) -> int:
        """Send `sig` and wait for serve to exit; returns its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            if self.follower is not None:
                self.follower.join(timeout)


def children_of(pid: int) -> list[int]:
    """The live child processes of `pid` (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def is_run_process(pid: int) -> bool:
    """True when `pid` is a run's own process (`python -m tuiagents.app.run_process`)."""
    try:
        return b"tuiagents.app.run_process" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def cmdline(pid: int) -> list[str]:
    """The arguments process `pid` runs with."""
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def start_serve(tmp_path: Path, args: list[str], env: dict[str, str] | None = None, timeout: float = 60) -> Served:
    """`tuiagents serve --port 0 ARGS` with isolated dirs (a runtime folder of its own); waits for
    the URL it prints."""
    owns_runtime = env is None or "TUIAGENTS_RUNTIME_DIR" not in env  # else the caller's folder
    env = dict(env or isolated_env(tmp_path))
    env.pop("PYTHONUNBUFFERED", None)  # what serve prints must reach a pipe (a log) when it happens
    runtime = short_runtime_dir() if owns_runtime else Path(env["TUIAGENTS_RUNTIME_DIR"])
    env["TUIAGENTS_RUNTIME_DIR"] = str(runtime)
    process = subprocess.Popen([sys.executable, "-m", "tuiagents", "serve", "--port", "0", *args], cwd=tmp_path,
                               env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    assert process.stdout is not None
    output: list[str] = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = process.stdout.readline()
        if not line:
            break
        output.append(line)
        match = URL.search(line)
        if match:
            served = Served(process, match.group(0), output, runtime, owns_runtime)
            served.follow()
            return served
    process.kill()
    process.wait()
    raise AssertionError("tuiagents serve printed no URL:\n" + "".join(output))


def stop_all(served: Served) -> None:
    """Whatever a test did: serve and its process group end, and the runs it started (for the
    finally of a test)."""
    import shutil

    if served.process.poll() is None:
        try:
            os.killpg(served.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        served.process.wait()
    if not served.owns_runtime:  # the caller's runs are the caller's to end
        return
    runs = served.run_pids()
    for pid in runs:
        os.kill(pid, signal.SIGTERM)  # the run stops, and its log says why
    end = time.monotonic() + 10
    while any(map(alive, runs)) and time.monotonic() < end:
        time.sleep(0.1)
    for pid in filter(alive, runs):
        os.kill(pid, signal.SIGKILL)
    shutil.rmtree(served.runtime, ignore_errors=True)
