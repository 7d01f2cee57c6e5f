"""Real MCP servers for the tests: the calc server of `fixtures/mcp_calc_server.py` over stdio (a
`[[mcp_servers]]` entry the run starts) or over streamable HTTP (a process the test starts on
127.0.0.1 and stops), and a check that a server's process is gone."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

CALC = Path(__file__).parent / "fixtures" / "mcp_calc_server.py"


def calc_stdio(name: str = "calc", *args: str, pid_file: Path | None = None, **extra) -> dict:
    """A stdio `[[mcp_servers]]` entry running the calc server (its pid written to `pid_file`)."""
    entry = {"name": name, "command": [sys.executable, str(CALC), *args], **extra}
    if pid_file is not None:
        entry["env"] = {**entry.get("env", {}), "MCP_PID_FILE": str(pid_file)}
    return entry


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def calc_http() -> Iterator[str]:
    """The calc server on streamable HTTP: its URL while the block runs; stopped afterwards."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(CALC), "--http", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the calc HTTP server exited: {proc.stderr.read().decode()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the calc HTTP server did not listen within 30 s") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def alive(pid: int) -> bool:
    """True while process `pid` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def server_pid(pid_file: Path) -> int:
    """The pid the calc server wrote (it writes it before serving)."""
    return int(pid_file.read_text())
