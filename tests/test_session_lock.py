"""One writer per session log: a live run's log cannot be resumed, forked, deleted or imported over.

A real headless runner (`tuiagents run --headless`) writes the log while its model (the scripted
server) takes its time; every other command on that log is refused with a message naming the
runner's pid and command line, and the log stays exactly as the runner wrote it. Once the runner
is killed with SIGKILL the OS drops its lock, and resume goes on.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from headless_support import pair_toml

from tuiagents.engine.events import RunStarted
from tuiagents.session.log import SessionError, SessionWriter
from tuiagents.session.reader import read_session
from tuiagents.session.sample import sample_events, sample_header
from tuiagents.testing import Fault, Rule, ScriptedServer

MAX_TURNS = 3


def tuiagents(*args: str, env: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run the `tuiagents` command to its end."""
    return subprocess.run([sys.executable, "-m", "tuiagents", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def wait_for(predicate, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def live_run(tmp_path):
    """A headless run whose second model reply hangs: (process, log path, config path, env)."""
    rules = [Rule(agent="assistant", turn=0, reply="step one"),
             Rule(agent="assistant", turn=1, reply="step two", fault=Fault.slow(delay=60)),
             Rule(agent="assistant", reply="all done TERMINATE")]
    with ScriptedServer(rules) as server:
        cfg = tmp_path / "config.toml"
        cfg.write_text(pair_toml(server.url, MAX_TURNS))
        log = tmp_path / "live.jsonl"
        env = {**os.environ, "TUIAGENTS_DATA_DIR": str(tmp_path)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "tuiagents", "run", "--headless", "--config", str(cfg), "--team", "pair",
             "--task", "do the thing", "--approve", "all", "--session", str(log)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        try:
            wait_for(lambda: len(server.requests_for("assistant")) >= 2, "the runner to wait on its model")
            wait_for(lambda: log.exists() and b'"content":"continue"' in log.read_bytes(), "the log")
            yield proc, log, cfg, env
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def test_a_live_runs_log_is_refused_to_every_other_writer_naming_the_runner(live_run, tmp_path):
    proc, log, cfg, env = live_run
    before = log.read_bytes()
    history = tmp_path / "history.json"
    history.write_text(json.dumps([{"role": "user", "name": "user", "content": "hi"}]))

    for args in (["resume", str(log), "--headless", "--approve", "all"],
                 ["resume", str(log), "--fork-at", "2", "--headless", "--approve", "all"],
                 ["import", str(history), "-o", str(log)]):
        result = tuiagents(*args, env=env)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        err = result.stderr.strip()
        assert len(err.splitlines()) == 1, err  # one clear line
        assert f"pid {proc.pid}" in err and "tuiagents run --headless" in err, err

    from tuiagents.session.catalog import delete_session
    with pytest.raises(SessionError) as refused:
        delete_session(log, work_dir=True)
    assert refused.value.reason == "locked" and f"pid {proc.pid}" in str(refused.value)
    assert log.read_bytes() == before  # nothing was appended, truncated or deleted
    assert not list(tmp_path.glob("live-fork*"))

    os.kill(proc.pid, signal.SIGKILL)  # the OS drops the lock with the process
    proc.wait()
    done = tuiagents("resume", str(log), "--headless", "--approve", "all", "--config", str(cfg), env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    after = read_session(log)
    assert [e.resumed for e in after.events if isinstance(e, RunStarted)] == [False, True]
    seqs = [e.seq for e in after.events]
    assert seqs == sorted(set(seqs))


def test_a_log_held_in_this_process_says_so(tmp_path):
    from tuiagents.session.fork import fork_session
    from tuiagents.session.resume import prepare_resume

    path = tmp_path / "mine.jsonl"
    writer = SessionWriter(path, sample_header())
    writer.write_many(sample_events(3, stop=False))
    for attempt in (lambda: prepare_resume(path), lambda: fork_session(path, 2)):
        with pytest.raises(SessionError) as refused:
            attempt()
        assert refused.value.reason == "locked"
        assert f"this process (pid {os.getpid()}" in str(refused.value)
        assert "the run going on in this app" in str(refused.value)
    writer.close()  # closing drops the lock
    assert fork_session(path, 2).exists()


def test_a_writer_that_is_closed_or_dies_leaves_no_stale_lock(tmp_path):
    path = tmp_path / "dies.jsonl"
    code = ("import os, sys\n"
            "from tuiagents.session.log import SessionWriter\n"
            "from tuiagents.session.sample import sample_events, sample_header\n"
            f"w = SessionWriter({str(path)!r}, sample_header())\n"
            "w.write_many(sample_events(3, stop=False))\n"
            "print('ready', flush=True)\n"
            "os.kill(os.getpid(), 9)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == "ready" and result.returncode == -signal.SIGKILL
    writer = SessionWriter.open_append(path)  # nobody holds it any more
    writer.close()
    from tuiagents.session.catalog import delete_session
    assert delete_session(path) == [path] and not path.exists()
