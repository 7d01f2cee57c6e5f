"""Helpers for the `tuiagents serve` tests: a two-agent config on the scripted server, and a real
`tuiagents serve` process on a free 127.0.0.1 port whose printed URL (with its token) the tests read."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from headless_support import pair_toml
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
        """The processes serve started that still run (the apps of browser tabs)."""
        return children_of(self.process.pid)

    def stop(self, sig: signal.Signals = signal.SIGINT, timeout: float = 30) -> int:
        """Send `sig` and wait for serve to exit; returns its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            rest = self.process.stdout.read() if self.process.stdout else ""
            self.output.append(rest)


def children_of(pid: int) -> list[int]:
    """The live child processes of `pid` (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def start_serve(tmp_path: Path, args: list[str], env: dict[str, str] | None = None, timeout: float = 60) -> Served:
    """`tuiagents serve --port 0 ARGS` with isolated dirs; waits for the URL it prints."""
    process = subprocess.Popen([sys.executable, "-m", "tuiagents", "serve", "--port", "0", *args], cwd=tmp_path,
                               env=env or isolated_env(tmp_path), stdout=subprocess.PIPE,
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
            return Served(process, match.group(0), output)
    process.kill()
    process.wait()
    raise AssertionError("tuiagents serve printed no URL:\n" + "".join(output))


def stop_all(served: Served) -> None:
    """Whatever a test did: serve and its process group end (for the finally of a test)."""
    if served.process.poll() is None:
        try:
            os.killpg(served.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        served.process.wait()
