"""The crash suite: seeded `kill -9` of the headless runner at random moments, then resume.

Each trial runs the real `tuiagents run --headless` against the scripted server (through the real
`openai` client), with code that the user proxy runs, and kills the runner (its whole process
group, code included) with SIGKILL at a seeded random moment: while a reply streams, while a block
runs, or anywhere. Then, for every trial:

- the log opens, with every line written before the kill (at most a cut-off last line dropped);
- `tuiagents resume --headless` appends to it and runs to the end;
- the final log starts with every byte the killed runner had written (no event lost), its `seq`
  numbers strictly increase, and the conversation is exactly the one an uninterrupted run has:
  no message twice, none missing;
- with Docker, no sandbox container of the trials is left.

`CRASH_TRIALS` (default 30) and `CRASH_SEED` (default 9) choose the trials; the figures are printed
(`-s`) for the README's reliability table.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from headless_support import pair_toml

from tuiagents.engine.events import MessageDelivered, RunStarted, StopKind
from tuiagents.session.reader import read_session
from tuiagents.testing import Fault, Rule, ScriptedServer

TRIALS = int(os.environ.get("CRASH_TRIALS", "30"))
SEED = int(os.environ.get("CRASH_SEED", "9"))
#: Seconds the code of each step runs (long enough to be killed in, short enough for the suite).
CODE_SECONDS = 0.1
STEPS = ("ALPHA", "BRAVO")

# The fewest turns the conversation needs (the user reads TERMINATE in the 8th): turns counted
# twice after a crash would cut it short.
MAX_TURNS = 4
SANDBOX = '\n[docker]\nimage = "tuiagents-sandbox:latest"\n'
TASK = "Print the two words, one block at a time."


def step_reply(i: int) -> str:
    prose = " ".join(f"thought{n}" for n in range(12))
    return (f"Step {i + 1}: {prose}.\n```python\nimport time\ntime.sleep({CODE_SECONDS})\n"
            f"print('{STEPS[i]}-DONE')\n```")


def script() -> list[Rule]:
    """Replies chosen by the last message only, so a resumed run hears what the first one heard."""
    slow = Fault.slow(chunk_delay=0.006)  # about 0.15 s of streaming per step
    rules = [Rule(contains=TASK, reply=step_reply(0), fault=slow)]
    rules += [Rule(contains=f"{STEPS[i]}-DONE", reply=step_reply(i + 1), fault=slow) for i in range(len(STEPS) - 1)]
    rules.append(Rule(contains=f"{STEPS[-1]}-DONE", reply="Both printed. TERMINATE", fault=slow))
    return rules


@dataclass
class Figures:
    """What the suite measured, for the README's reliability table."""

    trials: int = 0
    docker_trials: int = 0
    killed: dict[str, int] = field(default_factory=dict)
    finished_before_kill: int = 0
    cut_off_lines: int = 0
    events_before_kill: int = 0
    events_lost: int = 0
    duplicate_messages: int = 0
    missing_messages: int = 0

    def report(self) -> str:
        where = ", ".join(f"{k} {v}" for k, v in sorted(self.killed.items()))
        return (f"crash suite: {self.trials} trials, {self.docker_trials} of them with the Docker sandbox "
                f"(killed: {where}; ended before the kill: "
                f"{self.finished_before_kill}); {self.cut_off_lines} cut-off last lines dropped; "
                f"{self.events_before_kill} events written before the kills, {self.events_lost} lost; "
                f"{self.duplicate_messages} duplicate and {self.missing_messages} missing messages")


def wait_for(predicate, proc: subprocess.Popen, timeout: float = 30.0) -> bool:
    """Wait until `predicate()`; False when the runner ended first."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            return False
        if time.monotonic() > deadline:
            raise AssertionError("the runner neither got there nor ended")
        time.sleep(0.005)
    return True


def last_event_kind(log: Path) -> str:
    """Where the runner was when it died, as the log tells it."""
    data = log.read_bytes()
    complete = data[: data.rfind(b"\n") + 1].splitlines()
    last = complete[-1] if complete else b""
    if b'"type":"execution_started"' in last or b'"type":"execution_output"' in last:
        return "mid-execution"
    if b'"type":"turn_started"' in last or b'"type":"token_delta"' in last or b'"type":"usage"' in last:
        return "mid-stream"
    return "between events"


def kill_at_random(proc: subprocess.Popen, log: Path, server: ScriptedServer, rng: random.Random, kind: str) -> bool:
    """Kill the runner at a moment of `kind`; False when it ended before."""
    asked = len(server.requests_for("assistant"))
    if not wait_for(lambda: log.exists() and b'"type":"run_started"' in log.read_bytes(), proc):
        return False
    if kind == "stream":
        n = rng.randint(1, len(STEPS) + 1)
        if not wait_for(lambda: len(server.requests_for("assistant")) >= asked + n, proc):
            return False
        time.sleep(rng.uniform(0.0, 0.15))
    elif kind == "execution":
        n = rng.randint(1, len(STEPS))
        if not wait_for(lambda: log.read_bytes().count(b'"type":"execution_started"') >= n, proc):
            return False
        time.sleep(rng.uniform(0.0, CODE_SECONDS))
    else:
        time.sleep(rng.uniform(0.0, 1.2))
    if proc.poll() is not None:
        return False
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return True


def docker_ready() -> bool:
    try:
        from tuiagents.execution.docker_client import LABEL  # noqa: F401
        import docker

        client = docker.from_env(timeout=5)
        client.ping()
        client.images.get("tuiagents-sandbox:latest")
        return True
    except Exception:  # noqa: BLE001 - no daemon, no image, no SDK: local code only
        return False


def test_seeded_kill_9_trials_lose_nothing_and_resume_to_the_end(tmp_path):
    rng = random.Random(SEED)
    use_docker = docker_ready()
    figures = Figures()
    env = {**os.environ, "TUIAGENTS_DATA_DIR": str(tmp_path)}
    run_ids: list[str] = []
    with ScriptedServer(script()) as server:
        expected = None
        for trial in range(TRIALS + 1):  # trial 0: the reference run, never killed
            code = "docker" if use_docker and trial % 10 == 5 else "local"
            cfg = tmp_path / f"config-{code}.toml"
            cfg.write_text(pair_toml(server.url, MAX_TURNS, user=f'code_execution = "{code}"', extra=SANDBOX))
            log = tmp_path / f"trial{trial:02d}.jsonl"
            proc = subprocess.Popen(
                [sys.executable, "-m", "tuiagents", "run", "--headless", "--config", str(cfg), "--team", "pair",
                 "--task", TASK, "--approve", "all", "--session", str(log)],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True, env=env)
            if trial == 0:
                assert proc.wait(timeout=120) == 0, proc.stderr.read().decode()
                reference = read_session(log)
                assert reference.run_stopped.kind == StopKind.TERMINATION_MESSAGE
                expected = [(e.message.sender, e.message.content) for e in reference.events
                            if isinstance(e, MessageDelivered)]
                assert len(expected) == 2 * len(STEPS) + 2
                continue
            kind = ("stream", "execution", "anywhere")[trial % 3]
            killed = kill_at_random(proc, log, server, rng, kind)
            proc.stderr.close()
            figures.trials += 1
            figures.docker_trials += code == "docker"
            if not killed:
                proc.wait()
                figures.finished_before_kill += 1
            else:
                where = last_event_kind(log)
                figures.killed[where] = figures.killed.get(where, 0) + 1
            before = log.read_bytes()
            whole = before[: before.rfind(b"\n") + 1]
            crashed = read_session(log)  # every log opens
            assert crashed.skipped_lines == [], (trial, crashed.notice)
            assert len(crashed.events) == whole.count(b"\n") - 1, (trial, crashed.notice)
            figures.cut_off_lines += len(before) > len(whole)
            figures.events_before_kill += len(crashed.events)
            run_ids.append(crashed.header.run_id)

            if not crashed.finished:
                done = subprocess.run([sys.executable, "-m", "tuiagents", "resume", str(log), "--headless",
                                       "--approve", "all"], capture_output=True, text=True, timeout=120, env=env)
                assert done.returncode == 0 and "Traceback" not in done.stderr, (trial, done.stdout, done.stderr)
            final = read_session(log)
            kept = sum(a == b for a, b in zip(crashed.events, final.events))
            figures.events_lost += len(crashed.events) - kept
            assert log.read_bytes().startswith(whole), trial  # appended, nothing before the kill rewritten
            assert final.notice is None and final.finished, (trial, final.notice)
            assert final.run_stopped.kind == StopKind.TERMINATION_MESSAGE, (trial, final.run_stopped.reason)
            said = [(e.message.sender, e.message.content) for e in final.events if isinstance(e, MessageDelivered)]
            figures.duplicate_messages += max(0, len(said) - len(set(said)))
            figures.missing_messages += len(set(expected) - set(said))
            assert said == expected, (trial, kind, said)
            seqs = [e.seq for e in final.events]
            assert seqs == sorted(set(seqs)), trial
            ids = [e.request_id for e in final.events if e.type == "decision_recorded"]
            assert len(set(ids)) == len(ids), (trial, ids)
            starts = [e.resumed for e in final.events if isinstance(e, RunStarted)]
            assert starts in ([False], [False, True]), (trial, starts)

    print("\n" + figures.report())
    assert figures.events_lost == figures.duplicate_messages == figures.missing_messages == 0
    assert figures.trials >= 30 or TRIALS < 30
    assert sum(figures.killed.values()) >= figures.trials * 2 // 3  # most trials really crashed
    if use_docker:
        left = subprocess.run(["docker", "ps", "-a", "--filter", "label=tuiagents=1", "--format",
                               '{{.ID}} {{.Label "tuiagents.session"}}'], capture_output=True, text=True, timeout=60)
        ours = [line for line in left.stdout.splitlines() if line.split(" ", 1)[-1] in run_ids]
        assert ours == [], f"sandbox containers left by the crashed trials: {ours}"
