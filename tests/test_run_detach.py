"""Runs in their own process, with real processes: `run --detach` returns at once and the run
serves its socket; `ps` shows who waits; two views race for one request and the first wins; a
view leaving never stops the run, a stop does; a run whose process is killed is shown as ended
with the reason, and its log resumes. Scripted model server, real sockets."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest
from run_process_support import (
    detach, process_env, record, short_runtime_dir, stop_all, tuiagents, wait_ps, write_config,
)

from tuiagents.engine.decisions import Decision, Sender
from tuiagents.engine.events import DecisionRequested
from tuiagents.engine.handle import StopRun
from tuiagents.session.run_client import RemoteRunHandle
from tuiagents.testing import Rule, Script, ScriptedServer

ANN = Sender(user="ann", client="attached")
BOB = Sender(user="bob", client="browser")


@pytest.fixture
def runtime():
    path = short_runtime_dir()
    yield path
    stop_all(path)
    shutil.rmtree(path, ignore_errors=True)


def open_request(handle, timeout: float = 30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = [e for e in handle.events_since(-1) if isinstance(e, DecisionRequested) and handle.is_open(e.request.id)]
        if found:
            return found[-1]
        time.sleep(0.05)
    raise AssertionError("no open request came")


def gone(pid: int, timeout: float = 30) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_a_detached_run_waits_in_ps_and_two_views_race_for_its_request(tmp_path, runtime):
    script = Script(rules=[Rule(agent="assistant", replies=["first draft", "second draft", "third draft"])])
    with ScriptedServer(script) as server:
        env = process_env(tmp_path, runtime)
        run_id = detach(env, write_config(tmp_path, server.url))
        out = wait_ps(env, rf"{run_id}\s+pair\s+waiting\s+assistant")
        assert out.splitlines()[0].split() == ["ID", "TEAM", "STATE", "WAITING", "AGE"]
        rec = record(runtime, run_id)
        assert oct(os.stat(rec["socket"]).st_mode & 0o777) == "0o600"
        assert oct(runtime.stat().st_mode & 0o777) == "0o700"

        ann, bob = RemoteRunHandle(rec["socket"], ANN), RemoteRunHandle(rec["socket"], BOB)
        try:
            at_ann, at_bob = open_request(ann), open_request(bob)
            assert at_ann.request.id == at_bob.request.id and at_ann.request.content == "first draft"
            first = ann.answer(at_ann.request.id, Decision.approve(), ANN)
            second = bob.answer(at_bob.request.id, Decision.edit("bob's words"), BOB)
            assert first.accepted and not second.accepted
            assert second.answered_by is not None and second.answered_by.client == "attached"
            assert "answered already by" in second.reason

            # the run goes on: both views see the next draft
            assert open_request(bob).request.content == "second draft"
            assert open_request(ann).request.content == "second draft"
            ann.close()  # a view leaving is nothing to the run
            wait_ps(env, rf"{run_id}\s+pair\s+waiting")
            assert bob.control(StopRun(reason="stopped by bob"), BOB).applied
            assert gone(rec["pid"]), "the run's process did not end after the stop"
        finally:
            ann.close(), bob.close()
        assert bob.stopped is not None and bob.stopped.reason == "stopped by bob"
        assert not (runtime / f"{run_id}.run.json").exists() and not os.path.exists(rec["socket"])
        assert "No live runs" in tuiagents(env, "ps").stdout
        log = rec["session_path"]
        assert '"stopped by bob"' in open(log).read()


def test_a_killed_run_is_shown_as_ended_and_its_log_resumes(tmp_path, runtime):
    script = Script(rules=[Rule(agent="assistant", replies=["a draft", "done TERMINATE"])])
    with ScriptedServer(script) as server:
        env = process_env(tmp_path, runtime)
        config = write_config(tmp_path, server.url)
        run_id = detach(env, config)
        wait_ps(env, rf"{run_id}\s+pair\s+waiting")
        rec = record(runtime, run_id)
        os.kill(rec["pid"], signal.SIGKILL)
        assert gone(rec["pid"])
        out = wait_ps(env, rf"{run_id}\s+pair\s+ended")
        assert "the process died before the run stopped" in out and f"tuiagents resume {run_id}" in out
        attached = tuiagents(env, "attach", run_id[:6])
        assert attached.returncode == 1 and "has ended" in attached.stderr and "died" in attached.stderr

        resumed = tuiagents(env, "resume", rec["session_path"], "--headless", "--approve", "all",
                            "--config", str(config))
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert "the run had not stopped (crash?)" in resumed.stdout and "assistant said TERMINATE" in resumed.stdout
        # its log went on in another run: the dead process is no run of its own any more
        after = tuiagents(env, "ps")
        assert run_id not in after.stdout and "No live runs" in after.stdout, after.stdout
        assert not (runtime / f"{run_id}.run.json").exists()


def test_a_killed_run_resumes_in_its_own_process_and_outlives_the_command(tmp_path, runtime):
    """`resume --detach` continues a run whose process died as a run of its own process again: `ps`
    lists it waiting, a view approves through its socket, it appends to the same log. A resume of a
    run that is live is refused with where it is."""
    script = Script(rules=[Rule(agent="assistant", replies=["a draft", "second draft", "done TERMINATE"])])
    with ScriptedServer(script) as server:
        env = process_env(tmp_path, runtime)
        config = write_config(tmp_path, server.url)
        run_id = detach(env, config)
        wait_ps(env, rf"{run_id}\s+pair\s+waiting")
        first = record(runtime, run_id)
        os.kill(first["pid"], signal.SIGKILL)
        assert gone(first["pid"])
        wait_ps(env, rf"{run_id}\s+pair\s+ended")

        resumed = tuiagents(env, "resume", run_id, "--detach")
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert f"Run {run_id} (pair) resumed in the background" in resumed.stdout
        assert f"tuiagents attach {run_id}" in resumed.stdout
        wait_ps(env, rf"{run_id}\s+pair\s+waiting")
        second = record(runtime, run_id)
        assert second["pid"] != first["pid"] and second["session_path"] == first["session_path"]

        again = tuiagents(env, "resume", run_id, "--detach")  # its log has a writer: say where it is
        assert again.returncode == 2 and f"tuiagents attach {run_id}" in again.stderr and "live" in again.stderr

        view = RemoteRunHandle(second["socket"], Sender(user="me", client="attached"))
        try:
            waiting_for = open_request(view)
            assert view.answer(waiting_for.request.id, Decision.approve()).accepted
            assert view.control(StopRun()).applied
            assert gone(second["pid"]), "the resumed run's process did not end after the stop"
        finally:
            view.close()
        lines = open(first["session_path"]).read().splitlines()
        assert sum('"type":"run_started"' in line.replace(" ", "") for line in lines) == 2  # one log, two legs
        assert "No live runs" in tuiagents(env, "ps").stdout


def test_a_task_holding_a_key_is_not_in_the_run_process_arguments(tmp_path, runtime):
    """Any user of the machine can read a process's arguments (`ps aux`): the task goes to the
    run's process in its environment (its owner's to read), so a key typed into it is not there."""
    key = "sk-live-SECRETSECRETSECRET1234"
    script = Script(rules=[Rule(agent="assistant", replies=["a draft"])])
    with ScriptedServer(script) as server:
        env = process_env(tmp_path, runtime)
        run_id = detach(env, write_config(tmp_path, server.url), task=f"use {key} please")
        wait_ps(env, rf"{run_id}\s+pair\s+waiting")
        rec = record(runtime, run_id)
        cmdline = open(f"/proc/{rec['pid']}/cmdline", "rb").read().decode()
        assert "--run-id" in cmdline and key not in cmdline and "SECRETSECRET" not in cmdline
        assert rec["task"].startswith("use ") and key not in rec["task"]  # the run got its task, masked
        view = RemoteRunHandle(rec["socket"], Sender(user="me", client="attached"))
        try:
            assert open_request(view).request.content == "a draft"  # the run got its task
            assert view.control(StopRun()).applied
        finally:
            view.close()


def test_a_dead_run_whose_pid_another_process_took_reads_as_ended(tmp_path, runtime):
    script = Script(rules=[Rule(agent="assistant", replies=["a draft"])])
    with ScriptedServer(script) as server:
        env = process_env(tmp_path, runtime)
        run_id = detach(env, write_config(tmp_path, server.url))
        wait_ps(env, rf"{run_id}\s+pair\s+waiting")
        path = runtime / f"{run_id}.run.json"
        rec = record(runtime, run_id)
        os.kill(rec["pid"], signal.SIGKILL)
        assert gone(rec["pid"])
        # the pid the record names now belongs to some other process (as after pid numbers wrap)
        other = subprocess.Popen(["sleep", "60"])
        try:
            path.write_text(json.dumps({**rec, "pid": other.pid}))
            out = tuiagents(env, "ps").stdout
            assert re.search(rf"{run_id}\s+pair\s+ended\s", out), out
            assert re.search(rf"{run_id} ended: the process died", out), out  # below the table
            assert "starting" not in out
            attached = tuiagents(env, "attach", run_id)
            assert attached.returncode == 1 and "has ended" in attached.stderr
        finally:
            other.kill()
            other.wait()


def test_bad_input_to_detach_and_attach_says_what_to_do(tmp_path, runtime):
    with ScriptedServer(Script(rules=[])) as server:
        env = process_env(tmp_path, runtime)
        config = write_config(tmp_path, server.url)
        no_task = tuiagents(env, "run", "--detach", "--config", str(config))
        assert no_task.returncode == 2 and "no task: pass --task" in no_task.stderr
        bad_team = tuiagents(env, "run", "--detach", "--config", str(config), "--team", "nope", "--task", "x")
        assert bad_team.returncode == 2 and "nope" in bad_team.stderr
        both = tuiagents(env, "run", "--detach", "--headless", "--config", str(config), "--task", "x")
        assert both.returncode == 2 and "do not go together" in both.stderr
        nothing = tuiagents(env, "attach")
        assert nothing.returncode == 2 and "no run is live" in nothing.stderr
        unknown = tuiagents(env, "attach", "abc")
        assert unknown.returncode == 2 and "no live run has the id 'abc'" in unknown.stderr
        assert list(runtime.glob("*.run.json")) == [] and list(runtime.glob("*.out")) == []


def test_a_live_process_whose_socket_does_not_answer_is_not_read_as_starting(runtime, monkeypatch):
    from tuiagents.session.live_runs import RunRecord, process_start, remove_record, survey, write_record

    monkeypatch.setenv("TUIAGENTS_RUNTIME_DIR", str(runtime))
    # this very process, with its true start time: alive, and the same process; but no run serves
    write_record(RunRecord(run_id="feedfeedfeed", pid=os.getpid(), team="pair", socket=str(runtime / "none.sock"),
                           started=time.time(), pid_start=process_start(os.getpid())))
    try:
        [run] = survey(timeout=1.0)
    finally:
        remove_record("feedfeedfeed")  # the fixture's clean-up would kill the process a record names
    assert run.state == "unreachable" and "cannot reach the run" in run.reason
    assert run.alive  # not taken for dead: its process lives, so `ps` says what it saw


def test_an_interrupt_before_the_run_serves_ends_its_process(tmp_path, runtime, monkeypatch):
    # Ctrl+C while `run --detach` (or `serve -- run`) waits for the run to serve: its id was never
    # shown, so a run left going could not be found again. The interrupt arrives at the first look
    # for its record, once its process has started.
    from tuiagents.app import run_process
    from tuiagents.config import load_app_config
    from tuiagents.session import live_runs

    started: list[subprocess.Popen] = []
    real_popen = subprocess.Popen

    def popen(*args, **kw):
        started.append(real_popen(*args, **kw))
        return started[-1]

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setenv("TUIAGENTS_RUNTIME_DIR", str(runtime))
    monkeypatch.setattr(run_process.subprocess, "Popen", popen)
    monkeypatch.setattr(live_runs, "read_records", interrupted)
    with ScriptedServer(Script(rules=[Rule(agent="assistant", reply="hi")])) as server:
        config = write_config(tmp_path, server.url)
        with pytest.raises(KeyboardInterrupt):
            run_process.start_detached(load_app_config(str(config), required=True), config_path=str(config),
                                       team=None, task="say hi")
        [proc] = started
        assert proc.wait(timeout=30) is not None  # it ended, not left serving a run nobody knows
    assert not list(runtime.glob("*.run.json"))


def test_a_slow_view_reads_every_frame_whole_after_the_run_process_ends(tmp_path, runtime):
    """A run that ends right after a multi-MB reply: its process lets a view that reads slowly have
    every frame whole before it exits (a frame cut at the exit read as 'Invalid JSON: EOF')."""
    import socket as socketlib

    from tuiagents.session import wire

    big = "BIG " + "x" * 3_000_000 + " TERMINATE"
    with ScriptedServer(Script(rules=[Rule(agent="assistant", reply=big)])) as server:
        env = process_env(tmp_path, runtime)
        config = write_config(tmp_path, server.url)
        done = tuiagents(env, "run", "--detach", "--config", str(config), "--task", "say it", "--approve", "all")
        assert done.returncode == 0, done.stderr
        run_id = re.search(r"Run ([0-9a-f]{12})", done.stdout).group(1)
        record = json.loads((runtime / f"{run_id}.run.json").read_text())
        view = socketlib.socket(socketlib.AF_UNIX)
        view.connect(record["socket"])
        view.sendall(wire.encode(wire.Hello(version=wire.PROTOCOL_VERSION, sender=ANN))
                     + wire.encode(wire.Subscribe(id=1)))
        view.setsockopt(socketlib.SOL_SOCKET, socketlib.SO_RCVBUF, 4096)
        received = bytearray()
        view.settimeout(60)
        while True:  # about 1.5 MB/s: slower than the run writes its frames
            chunk = view.recv(16384)
            if not chunk:
                break
            received += chunk
            time.sleep(0.01)
        view.close()
    frames = [wire.decode_server(line) for line in bytes(received).splitlines()]  # every one whole
    events = [e for f in frames for e in (f.events if isinstance(f, wire.Events) else
                                          [f.event] if isinstance(f, wire.Push) else [])]
    assert any(getattr(e, "type", "") == "run_stopped" for e in events)
    assert gone(record["pid"])
