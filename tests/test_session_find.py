"""A session ID names one log of the sessions folder, or the command says which logs it could mean."""

from __future__ import annotations

import shutil

import pytest

from tuiagents.session.catalog import find_session, list_sessions
from tuiagents.session.commands import format_sessions_table
from tuiagents.session.log import SessionError
from tuiagents.session.sample import write_sample_session


def test_an_id_a_prefix_or_a_file_name_names_one_log(tmp_path):
    a = write_sample_session(tmp_path / "a.jsonl", 3, run_id="run-aaa111")
    b = write_sample_session(tmp_path / "b.jsonl", 3, run_id="run-bbb222")
    assert find_session(tmp_path, "run-aaa111") == a
    assert find_session(tmp_path, "run-b") == b
    assert find_session(tmp_path, "b.jsonl") == b and find_session(tmp_path, "a") == a
    assert find_session(tmp_path, "nothing") is None
    assert find_session(tmp_path / "absent", "run-a") is None


def test_a_cut_copy_with_the_same_id_makes_the_id_ambiguous_naming_both_paths(tmp_path):
    log = write_sample_session(tmp_path / "run.jsonl", 5, run_id="run-dup123")
    lines = log.read_bytes().splitlines(keepends=True)
    copy = tmp_path / "run-cut.jsonl"
    copy.write_bytes(b"".join(lines[: len(lines) // 2]))
    listed = list_sessions(tmp_path)
    assert [s.run_id for s in listed] == ["run-dup123", "run-dup123"]  # the listing shows both, as before
    assert format_sessions_table(listed).count("run-dup123") == 2
    for ident in ("run-dup123", "run-dup"):
        with pytest.raises(SessionError) as info:
            find_session(tmp_path, ident)
        assert info.value.reason == "ambiguous"
        message = str(info.value)
        assert str(log) in message and str(copy) in message and "\n" not in message


def test_a_prefix_of_two_different_ids_is_ambiguous(tmp_path):
    write_sample_session(tmp_path / "x.jsonl", 2, run_id="run-abc1")
    shutil.copy(tmp_path / "x.jsonl", tmp_path / "keep.txt")
    write_sample_session(tmp_path / "y.jsonl", 2, run_id="run-abc2")
    with pytest.raises(SessionError, match="run-abc1|x.jsonl"):
        find_session(tmp_path, "run-abc")
    assert find_session(tmp_path, "run-abc2") == tmp_path / "y.jsonl"


def test_the_commands_refuse_an_ambiguous_id_naming_the_logs(tmp_path):
    import os
    import subprocess
    import sys

    folder = tmp_path / "data" / "sessions"
    folder.mkdir(parents=True)
    log = write_sample_session(folder / "run.jsonl", 5, run_id="run-dup456")
    (folder / "run-cut.jsonl").write_bytes(b"".join(log.read_bytes().splitlines(keepends=True)[:3]))
    env = {**os.environ, "TUIAGENTS_DATA_DIR": str(tmp_path / "data")}
    env.pop("TUIAGENTS_CONFIG", None)
    for argv in (["replay", "run-dup456", "--headless"], ["export", "run-dup456", "--format", "json"]):
        done = subprocess.run([sys.executable, "-m", "tuiagents", *argv], capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=60)
        assert done.returncode == 2, done.stderr
        assert "ambiguous" in done.stderr and "run-cut.jsonl" in done.stderr and "Traceback" not in done.stderr
    ok = subprocess.run([sys.executable, "-m", "tuiagents", "replay", str(log), "--headless"],
                        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert ok.returncode == 0, ok.stderr
