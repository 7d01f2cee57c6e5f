"""`python -m tuiagents.testing` on a port it cannot have says so in one line (exit 2), no traceback."""

from __future__ import annotations

import subprocess
import sys

from tuiagents.testing import ScriptedServer


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tuiagents.testing", *args], capture_output=True, text=True,
                          timeout=30)


def test_a_busy_port_is_a_one_line_error():
    with ScriptedServer() as busy:
        port = busy.port
        done = _run("--port", str(port))
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr and done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert f"127.0.0.1:{port}" in line and "already in use" in line and "--port" in line


def test_a_port_out_of_range_is_a_one_line_error():
    done = _run("--port", "70000")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "--port 70000" in line and "0 for any free port" in line
