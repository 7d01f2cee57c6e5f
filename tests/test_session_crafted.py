"""A session log is a file people pass around: what its header says is checked before it names a
file or a folder. A run id with "/" or ".." is refused; a recorded code folder no tuiagents run
worked in is not mounted into the sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tuiagents.session.header import SessionError
from tuiagents.session.reader import read_session
from tuiagents.session.sample import write_sample_session


def _with_header(log: Path, **changes) -> Path:
    lines = log.read_text().splitlines()
    header = json.loads(lines[0])
    header.update(changes)
    log.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    return log


@pytest.mark.parametrize("run_id", ["../../../tmp/evil", "a/b", "..", "x..y", "", "-rf", "a\x1b[2Jb", "é" * 3])
def test_a_run_id_that_could_name_another_folder_is_refused(tmp_path, run_id):
    log = _with_header(write_sample_session(tmp_path / "s.jsonl", 3), run_id=run_id)
    with pytest.raises(SessionError) as caught:
        read_session(log)
    assert "run_id" in str(caught.value) and caught.value.reason == "corrupt"


def test_resume_detach_of_a_log_with_a_crafted_run_id_says_so_and_writes_nothing_outside(tmp_path):
    target = tmp_path / "outside"
    target.mkdir()
    log = _with_header(write_sample_session(tmp_path / "s.jsonl", 3), run_id=f"../../../../..{target}/evil")
    runtime = tmp_path / "rt"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TUIAGENTS_RUNTIME_DIR": str(runtime),
           "TUIAGENTS_DATA_DIR": str(tmp_path / "data"), "TUIAGENTS_CONFIG_DIR": str(tmp_path / "cfg")}
    done = subprocess.run([sys.executable, "-m", "tuiagents", "resume", str(log), "--detach"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "run_id" in done.stderr and "Traceback" not in done.stderr
    assert list(target.iterdir()) == []


def test_a_recorded_code_folder_no_run_worked_in_is_replaced_by_the_usual_one(tmp_path):
    from tuiagents.config import parse_config
    from tuiagents.session.assemble import recorded_work_dir
    from tuiagents.session.header import SessionHeader

    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    log = tmp_path / "pair-abc.jsonl"
    crafted = SessionHeader(run_id="abc", team="pair", work_dir=str(home))
    chosen = recorded_work_dir(crafted, parse_config({}), log)
    assert chosen.path == tmp_path / "pair-abc.work"
    assert chosen.notice is not None and str(home) in chosen.notice and "no tuiagents run worked there" in chosen.notice

    worked = tmp_path / "runs" / "abc"
    (worked / ".tuiagents").mkdir(parents=True)  # a folder a run's blocks worked in: kept
    assert recorded_work_dir(SessionHeader(run_id="abc", team="pair", work_dir=str(worked)),
                             parse_config({}), log) == (worked, None)
    fresh = tmp_path / "not-yet"  # not made yet: nothing there to reach
    assert recorded_work_dir(SessionHeader(run_id="abc", team="pair", work_dir=str(fresh)),
                             parse_config({}), log).path == fresh
