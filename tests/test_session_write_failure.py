"""A log that cannot be written stops the run, saying why; what was written stays readable.

The failure is real: the log lives on a small tmpfs mounted for the test, which fills up while a
headless run (the real `tuiagents` command against the scripted server) is writing it. Needs root
(or CAP_SYS_ADMIN) to mount; skipped with the reason otherwise.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from headless_support import pair_toml

from tuiagents.engine.events import MessageDelivered
from tuiagents.session.reader import read_session
from tuiagents.testing import Rule, ScriptedServer

MAX_TURNS = 12

#: Room left on the file system for the log: a few turns' worth.
ROOM = 24 * 1024


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs with only `ROOM` bytes free."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill up (needs root): {done.stderr.strip()}")
    try:
        free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
        (mount / "filler").write_bytes(b"\0" * (free - ROOM))
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_stops_the_run_saying_why_and_keeps_the_log_readable(small_disk, tmp_path):
    words = " ".join(f"word{i}" for i in range(60))
    with ScriptedServer([Rule(agent="assistant", reply=f"Reply: {words}")]) as server:
        cfg = tmp_path / "config.toml"
        cfg.write_text(pair_toml(server.url, MAX_TURNS))
        log = small_disk / "run.jsonl"
        result = subprocess.run(
            [sys.executable, "-m", "tuiagents", "run", "--headless", "--config", str(cfg), "--team", "pair",
             "--task", "talk a lot", "--approve", "all", "--session", str(log)],
            capture_output=True, text=True, timeout=120, env={**os.environ, "TUIAGENTS_DATA_DIR": str(tmp_path)})
        asked = len(server.requests_for("assistant"))

    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stdout + result.stderr
    stopped = [line for line in result.stdout.splitlines() if line.startswith("Stopped:")]
    assert len(stopped) == 1 and "No space left on device" in stopped[0], result.stdout
    assert "does not go on unrecorded" in stopped[0]

    written = read_session(log, strict=True)  # every line whole: nothing cut off, nothing skipped
    assert written.notice is None and written.cut_off_at is None
    seqs = [e.seq for e in written.events]
    assert seqs == list(range(1, len(seqs) + 1))  # no gap: what was written is all there, in order
    replies = [e for e in written.events if isinstance(e, MessageDelivered) and e.message.sender == "assistant"]
    assert replies, "the disk filled up before the first reply: give the log more room"
    # the run stopped at the failure: at most the reply it was writing went unlogged
    assert asked <= len(replies) + 1 < 12, (asked, len(replies))


def test_a_fork_onto_a_full_disk_fails_cleanly_with_exit_1(small_disk, tmp_path, capsys):
    from tuiagents.session.commands import cli_fork
    from tuiagents.session.sample import write_sample_session

    src = write_sample_session(tmp_path / "big.jsonl", 200)
    assert src.stat().st_size > 2 * ROOM
    assert cli_fork(src, 800, small_disk / "fork.jsonl") == 1  # failed, not bad input
    err = capsys.readouterr().err
    assert "No space left on device" in err and err.count("\n") == 1
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]  # no partial fork left behind


@pytest.mark.parametrize("where", ["read-only", "folder"])
def test_a_log_that_cannot_be_created_is_a_one_line_error(where, tmp_path):
    """A read-only file system (mounted for the test) or a folder given as the log: exit 2, no traceback."""
    target = tmp_path / "ro"
    target.mkdir()
    if where == "read-only":
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(target)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a read-only tmpfs (needs root): {done.stderr.strip()}")
        session, expected = target / "run.jsonl", "Read-only file system"
    else:
        session, expected = target, "is a folder; give the session log a file name inside it"
    try:
        cfg = tmp_path / "config.toml"
        cfg.write_text(pair_toml("http://127.0.0.1:9/v1", MAX_TURNS))
        result = subprocess.run([sys.executable, "-m", "tuiagents", "run", "--headless", "--config", str(cfg),
                                 "--task", "t", "--session", str(session)], capture_output=True, text=True, timeout=60)
    finally:
        if where == "read-only":
            subprocess.run(["umount", "-l", str(target)], check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and expected in result.stderr, result.stderr


async def test_the_cockpit_stops_the_run_and_says_why_when_the_disk_fills(small_disk, server, make_config):
    """The same failure under the app: the run stops at once, the status bar and the timeline say
    why, and the app goes on working (no traceback, the log readable)."""
    from ui_support import SIZE, pair_config, screen_text, wait_until

    from tuiagents.app.launch import prepare_run
    from tuiagents.ui.app import TuiAgentsApp
    from tuiagents.ui.settings import UIOptions

    words = " ".join(f"word{i}" for i in range(60))
    server.load([Rule(agent="coder", reply=f"Reply: {words}"), Rule(agent="user", reply=f"More: {words}")])
    config = pair_config(make_config, max_turns=12)
    log = small_disk / "app.jsonl"
    run = prepare_run(config, "pair", "talk a lot", approve="all", session_path=log)
    app = TuiAgentsApp(run=run, options=UIOptions(bell=False), config=config)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.cockpit.state.stopped, what="the stop", timeout=60)
        assert app.cockpit.state.stop_kind == "error"
        await wait_until(pilot, lambda: "No space left on device" in screen_text(app) + app.cockpit.timeline.text(),
                         what="the reason on screen")
        assert app.cockpit.engine_error is None
    assert run.stopped.kind.value == "error" and "does not go on unrecorded" in run.stopped.reason
    written = read_session(log, strict=True)
    assert written.notice is None
    asked = len(server.requests_for("coder")) + len(server.requests_for("user"))
    delivered = sum(isinstance(e, MessageDelivered) for e in written.events)
    assert asked <= delivered + 1 < 24
