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
from headless_support import pair_toml

from tuiagents.engine.events import MessageDelivered, RunStarted, RunStopped, StopKind
from tuiagents.session.reader import read_session
from tuiagents.testing import Fault, Rule, ScriptedServer

MAX_TURNS = 4


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
    cfg.write_text(pair_toml(crash_server.url, MAX_TURNS))
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
    # the resumed process numbers its requests after the log's: a replay matches each to its decision
    ids = [e.request_id for e in after.events if e.type == "decision_recorded"]
    assert len(ids) >= 2 and len(set(ids)) == len(ids), ids


def test_resume_missing_file_is_usage_error(tmp_path):
    from tuiagents.app.cli import main

    assert main(["resume", str(tmp_path / "nope.jsonl"), "--headless"]) == 2


LOCAL_CODE = 'default_auto_reply = "continue"\ncode_execution = "local"'


async def test_a_block_running_at_a_crash_is_shown_interrupted_and_asked_again(tmp_path):
    """kill -9 while approved code runs (approved with "always for this agent"): the resumed run
    ends the block's story as interrupted and asks before running it again, rule or not."""
    from conftest import ScriptedHuman, finish

    from tuiagents.engine.decisions import Decision, DecisionKind, RequestKind
    from tuiagents.engine.events import DecisionRecorded, ExecutionFinished, ExecutionStarted
    from tuiagents.session.resume import prepare_resume

    hold, runs = tmp_path / "hold", tmp_path / "runs.txt"
    hold.write_text("")
    code = (f"import os, time\nopen({str(runs)!r}, 'a').write(str(os.getpid()) + '\\n')\n"
            f"while os.path.exists({str(hold)!r}):\n    time.sleep(0.05)\n")
    rules = [Rule(agent="assistant", turn=0, reply=f"Running it.\n```python\n{code}```"),
             Rule(agent="assistant", reply="all done TERMINATE")]
    with ScriptedServer(rules) as server:
        cfg = tmp_path / "config.toml"
        cfg.write_text(pair_toml(server.url, MAX_TURNS, user=LOCAL_CODE))
        log = tmp_path / "run.jsonl"
        proc = subprocess.Popen(
            [sys.executable, "-m", "tuiagents", "run", "--headless", "--config", str(cfg), "--team", "pair",
             "--task", "run something", "--session", str(log)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            env={**os.environ, "TUIAGENTS_DATA_DIR": str(tmp_path)})
        proc.stdin.write(b"a\nA\n")  # approve the message, then the code: always for this agent
        proc.stdin.flush()
        deadline = time.monotonic() + 30
        while not (runs.exists() and b'"type":"execution_started"' in log.read_bytes()):
            assert time.monotonic() < deadline and proc.poll() is None, "the block never started"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        hold.unlink()  # a block that outlived the runner ends now
        crashed = read_session(log)
        started = next(e for e in crashed.events if isinstance(e, ExecutionStarted))

        config = load_config(cfg)
        run = prepare_resume(log, config=config)
        human = ScriptedHuman(default=Decision.approve()).queue(RequestKind.CODE, Decision.skip())
        human.attach(run)
        result = await finish(run)

    code_asks = [r for r in human.seen if r.kind == RequestKind.CODE]
    assert len(code_asks) == 1  # asked, not approved by the rule given before the crash
    assert code_asks[0].prompt.startswith("This code was running when tuiagents stopped (crash?)")
    assert runs.read_text().count("\n") == 1  # it did not run again
    assert result.stop_reason == "assistant said TERMINATE"
    after = read_session(log)
    ends = [e for e in after.events if isinstance(e, ExecutionFinished) and e.exec_id == started.exec_id]
    assert len(ends) == 1 and ends[0].cancelled and "interrupted" in ends[0].error
    second_start = [i for i, e in enumerate(after.events) if isinstance(e, RunStarted)][1]
    assert after.events.index(ends[0]) < second_start  # the crashed leg's block ends before the new leg
    code_decisions = [e.decision for e in after.events
                      if isinstance(e, DecisionRecorded) and e.request_kind == RequestKind.CODE]
    assert [(d.kind, d.by.value) for d in code_decisions] == [(DecisionKind.APPROVE, "human"),
                                                             (DecisionKind.SKIP, "human")]
    seqs = [e.seq for e in after.events]
    assert seqs == sorted(set(seqs))


async def test_a_fork_of_a_cleanly_ended_run_does_not_claim_a_crash(tmp_path):
    from conftest import finish

    from tuiagents.app.launch import prepare_run
    from tuiagents.session.fork import fork_session
    from tuiagents.session.resume import prepare_resume

    rules = [Rule(agent="assistant", turn=0, reply="step one"), Rule(agent="assistant", reply="all done TERMINATE")]
    with ScriptedServer(rules) as server:
        cfg = tmp_path / "config.toml"
        cfg.write_text(pair_toml(server.url, MAX_TURNS))
        config = load_config(cfg)
        log = tmp_path / "clean.jsonl"
        await finish(prepare_run(config, "pair", "do the thing", approve="all", session_path=log))
        assert read_session(log).finished
        fork = fork_session(log, 6)
        run = prepare_resume(fork, config=config, approve="all")
        notices = list(run.startup_notices)
        await finish(run)
        again = prepare_resume(fork, config=config, approve="all")  # the fork's own leg ended cleanly
        later = list(again.startup_notices)
        await again.aclose()
    n = run_messages(fork, 6)
    assert notices == [f"forked from clean.jsonl at event 6; continuing after {n} message{'s' * (n != 1)}"]
    assert not any("crash" in n for n in notices + later)
    assert later[0].startswith("resumed after") and "the run had stopped" in later[0]


def run_messages(path: Path, at: int) -> int:
    """Messages delivered in the first `at` events of a log."""
    return sum(isinstance(e, MessageDelivered) for e in read_session(path).events[:at])


def load_config(path: Path):
    from tuiagents.config import load_config as load

    return load(path)
