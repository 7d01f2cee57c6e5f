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
