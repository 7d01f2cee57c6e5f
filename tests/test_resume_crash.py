"""Resume after a real crash: kill -9 the headless runner mid-run, resume its log, finish."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tuiagents.engine.events import MessageDelivered, RunStarted, RunStopped, StopKind
from tuiagents.session.reader import read_session
from tuiagents.testing import Fault, Rule, ScriptedServer

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
default_auto_reply = "continue"

[[agents]]
name = "assistant"
kind = "assistant"
model = "default"

[[teams]]
name = "pair"
kind = "two_agent"
agents = ["user", "assistant"]
max_turns = 4
"""


def _delivered(path: Path) -> int:
    if not path.exists():
        return 0
    return sum(1 for line in path.read_text().splitlines() if '"type":"message_delivered"' in line)


@pytest.fixture
def crash_server():
    rules = [
        Rule(agent="assistant", turn=0, reply="step one"),
        # The second reply hangs long enough for the test to kill the runner mid-call.
        Rule(agent="assistant", turn=1, reply="step two", fault=Fault.slow(delay=30), times=1),
        Rule(agent="assistant", reply="all done TERMINATE"),
    ]
    with ScriptedServer(rules) as server:
        yield server


def test_kill_9_then_resume_finishes(crash_server, tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG.format(url=crash_server.url))
    log = tmp_path / "run.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tuiagents", "run", "--headless", "--config", str(cfg), "--team", "pair",
         "--task", "do the thing", "--approve", "all", "--session", str(log)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "TUIAGENTS_DATA_DIR": str(tmp_path)})
    deadline = time.monotonic() + 30
    # task, "step one", "continue": then the runner waits on the slow second reply
    while _delivered(log) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    while len(crash_server.requests_for("assistant")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _delivered(log) == 3, proc.stdout.read().decode() if proc.poll() is not None else "timeout"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = log.read_bytes()

    crashed = read_session(log)
    assert not crashed.finished
    assert [e.message.content for e in crashed.events if isinstance(e, MessageDelivered)] == [
        "do the thing", "step one", "continue"]

    result = subprocess.run(
        [sys.executable, "-m", "tuiagents", "resume", str(log), "--headless", "--approve", "all"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "TUIAGENTS_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Stopped: assistant said TERMINATE" in result.stdout

    after = read_session(log)
    assert log.read_bytes().startswith(before)  # appended, nothing rewritten
    assert after.finished and after.run_stopped.kind == StopKind.TERMINATION_MESSAGE
    contents = [e.message.content for e in after.events if isinstance(e, MessageDelivered)]
    assert contents[:3] == ["do the thing", "step one", "continue"]
    assert contents[3:] == ["all done TERMINATE"]  # the retried second reply came from the next rule
    starts = [e for e in after.events if isinstance(e, RunStarted)]
    assert [s.resumed for s in starts] == [False, True]
    seqs = [e.seq for e in after.events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_resume_missing_file_is_usage_error(tmp_path):
    from tuiagents.cli import main

    assert main(["resume", str(tmp_path / "nope.jsonl"), "--headless"]) == 2
