"""`tuiagents doctor` checks the folder runs really work in, found the way a run finds it:
`<[docker] work_dir>/<run id>`, else `<log stem>.work` beside the session log."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tuiagents.paths import run_work_dir


def doctor(tmp_path: Path, config: str) -> str:
    path = tmp_path / "config.toml"
    path.write_text(config)
    env = dict(os.environ, TUIAGENTS_DATA_DIR=str(tmp_path / "data"), TUIAGENTS_CONFIG_DIR=str(tmp_path / "cfg"),
               DOCKER_HOST="unix:///nonexistent.sock", COLUMNS="200")  # the work dir is checked without Docker
    env.pop("TUIAGENTS_CONFIG", None)
    done = subprocess.run([sys.executable, "-m", "tuiagents", "doctor", "--config", str(path)],
                          capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout


def work_line(out: str) -> str:
    return next(line for line in out.splitlines() if "work dir" in line)


def test_a_run_works_in_docker_work_dir_by_run_id_else_beside_its_log(tmp_path):
    log = tmp_path / "sessions" / "pair-abc.jsonl"
    assert run_work_dir(None, log, "abc") == tmp_path / "sessions" / "pair-abc.work"
    assert run_work_dir(tmp_path / "w", log, "abc") == tmp_path / "w" / "abc"


def test_doctor_checks_the_session_dir_runs_work_in(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    out = doctor(tmp_path, f'[session]\ndir = "{blocked}/sessions"\n')
    assert "✗ work dir" in work_line(out) and str(blocked / "sessions") in work_line(out), out
    assert "set [docker] work_dir" in out

    out = doctor(tmp_path, f'[session]\ndir = "{tmp_path / "logs"}"\n')
    assert "✓ work dir" in work_line(out) and str(tmp_path / "logs") in work_line(out), out
    assert list((tmp_path / "logs").iterdir()) == []  # the probe leaves nothing behind
    assert not (tmp_path / "data" / "work").exists()  # a folder no run uses is not what is checked


def test_doctor_checks_docker_work_dir_when_set(tmp_path):
    out = doctor(tmp_path, f'[docker]\nwork_dir = "{tmp_path / "runs"}"\n')
    assert "✓ work dir" in work_line(out) and str(tmp_path / "runs") in work_line(out), out
    assert list((tmp_path / "runs").iterdir()) == []


@pytest.mark.parametrize("with_work_dir", [False, True])
async def test_resume_works_where_the_run_did(server, make_config, run_to_end, tmp_path, with_work_dir):
    """A resumed run goes on in the folder the run wrote its files to."""
    from tuiagents.app.launch import prepare_run
    from tuiagents.session.resume import prepare_resume
    from tuiagents.testing import Rule

    server.load([Rule(agent="bot", reply="hello")])
    docker = {"work_dir": str(tmp_path / "runs")} if with_work_dir else {}
    config = make_config(
        agents=[{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER", "code_execution": "local"},
                {"name": "bot", "kind": "assistant", "model": "default"}],
        teams=[{"name": "pair", "agents": ["user", "bot"], "max_turns": 1}],
        session={"dir": str(tmp_path / "sessions")}, docker=docker)
    run = prepare_run(config, "pair", "hi", approve="all")
    first = run.work_dir
    await run_to_end(run)
    resumed = prepare_resume(run.session_path, config=config)
    try:
        assert resumed.work_dir == first
    finally:
        await resumed.aclose()
