"""What the `tuiagents` command prints, met as a newcomer meets it: piped into `head`, read at 80
columns. Real subprocesses of the command, a real pipe whose reader has gone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from run_process_support import process_env, short_runtime_dir


@pytest.fixture
def runtime():
    import shutil

    path = short_runtime_dir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


def closed_reader(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    """`tuiagents ARGS | head -0`: the reader closes its end before the command prints a line."""
    proc = subprocess.Popen([sys.executable, "-m", "tuiagents", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader has gone before the command starts printing (it imports first)
    err = proc.stderr.read()
    proc.stderr.close()
    return subprocess.CompletedProcess(proc.args, proc.wait(timeout=120), b"", err)


@pytest.mark.parametrize("command", [["ps"], ["sessions"], ["--help"]])
def test_a_list_piped_to_a_reader_that_closes_ends_quietly(tmp_path: Path, runtime: Path, command):
    """`tuiagents ps | head -3`: once the reader has what it wants, the command ends without a
    traceback or an "Exception ignored" note, as `ls | head` does."""
    done = closed_reader(process_env(tmp_path, runtime), *command)
    err = done.stderr.decode()
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err, err
    assert err == "", err
    assert done.returncode == 141, done.returncode  # 128 + SIGPIPE, as a shell's tools report it


def test_ps_of_a_dead_run_fits_80_columns_with_its_advice_below_the_table(tmp_path: Path, runtime: Path):
    """A run whose process died: its row says `ended` in a short STATE column, and why, with the
    `resume` that continues it, is said once below the table, so nothing wraps at 80 columns."""
    import os
    import re
    import signal
    import time

    from run_process_support import detach, record, stop_all, tuiagents, wait_ps, write_config

    from tuiagents.testing import Rule, Script, ScriptedServer

    script = Script(rules=[Rule(agent="assistant", replies=["a draft"])])
    try:
        with ScriptedServer(script) as server:
            env = {**process_env(tmp_path, runtime), "COLUMNS": "80"}
            run_id = detach(env, write_config(tmp_path, server.url))
            wait_ps(env, rf"{run_id}\s+pair\s+waiting")
            pid = record(runtime, run_id)["pid"]
            os.kill(pid, signal.SIGKILL)
            end = time.monotonic() + 30
            while time.monotonic() < end and Path(f"/proc/{pid}").exists():
                time.sleep(0.1)
            out = wait_ps(env, rf"{run_id}\s+pair\s+ended")
    finally:
        stop_all(runtime)
    lines = out.splitlines()
    assert all(len(line) <= 80 for line in lines), "\n".join(f"{len(line):3} {line}" for line in lines)
    row = next(line for line in lines if line.startswith(run_id))
    assert re.fullmatch(rf"{run_id}\s+pair\s+ended\s+-\s+\d+[smhd]\S*", row), row
    below = " ".join(out.split(row, 1)[1].split())  # the advice, its wrapped lines joined
    assert "the process died before the run stopped" in below, out
    assert below.count(f"tuiagents resume {run_id}") == 1, out


def test_resume_detach_of_a_demo_session_is_refused_saying_why(tmp_path: Path):
    """A demo session resumes on the demo's scripted model, which lives with the terminal that
    resumes it: `resume --detach` cannot give it a process of its own, so it says so and exits 2
    (it once opened the whole cockpit in the foreground, and with stdout redirected never returned)."""
    from test_demo import isolated_env

    env = isolated_env(tmp_path, DOCKER_HOST="unix:///nonexistent.sock")
    done = subprocess.run([sys.executable, "-m", "tuiagents", "demo", "--headless"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    log = next((tmp_path / "data" / "sessions").glob("*demo*.jsonl"))
    before = sorted(log.parent.iterdir())
    for extra in ([], ["--fork-at", "3"]):
        try:
            resumed = subprocess.run([sys.executable, "-m", "tuiagents", "resume", str(log), "--detach", *extra],
                                     cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                     text=True, timeout=60)
        except subprocess.TimeoutExpired:
            raise AssertionError("`resume --detach` of a demo session did not return") from None
        assert resumed.returncode == 2, resumed.stdout + resumed.stderr
        assert resumed.stdout == "" and len(resumed.stderr.strip().splitlines()) == 1, resumed.stderr
        said = resumed.stderr
        assert "demo" in said and "--detach" in said and f"tuiagents resume {log}" in said, said
    assert sorted(log.parent.iterdir()) == before  # no fork was made for a resume that was refused

