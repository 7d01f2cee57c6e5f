"""One place assembles a run, and the folder a run's code works in is recorded in its log's header:
a resume works there, so a resumed run sees the files its earlier blocks wrote."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuiagents.engine.events import ExecutionFinished, ExecutionOutput
from tuiagents.session.reader import read_header
from tuiagents.testing import Rule

WRITE = "```python\nopen('notes.txt', 'w').write('kept-4711')\nprint('written')\n```"
READ = "```python\nprint(open('notes.txt').read())\n```"


def pair(make_config, tmp_path: Path, work_dir: str):
    return make_config(
        agents=[{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER", "code_execution": "local",
                 "model": "default"},
                {"name": "bot", "kind": "assistant", "model": "default"}],
        teams=[{"name": "pair", "agents": ["user", "bot"], "max_turns": 8}],
        session={"dir": str(tmp_path / "sessions")}, docker={"work_dir": work_dir},
        local_execution={"timeout": 20})


def output_of(run, after: int = 0) -> str:
    return "".join(e.text for e in run.bus.history[after:] if isinstance(e, ExecutionOutput))


@pytest.mark.parametrize("how", ["relative work_dir, resumed from another folder", "work_dir changed since"])
async def test_a_resumed_run_sees_the_files_its_earlier_blocks_wrote(server, make_config, run_to_end, tmp_path,
                                                                    monkeypatch, how):
    from tuiagents.app.launch import prepare_run
    from tuiagents.session.resume import prepare_resume

    first_cwd, later_cwd = tmp_path / "a", tmp_path / "b"
    first_cwd.mkdir(), later_cwd.mkdir()
    monkeypatch.chdir(first_cwd)
    relative = how.startswith("relative")
    config = pair(make_config, tmp_path, "runs" if relative else str(tmp_path / "runs"))
    server.load([Rule(agent="bot", replies=[WRITE, "TERMINATE", READ, "TERMINATE"]),
                 Rule(agent="user", reply="Please read the note back.")])
    run = prepare_run(config, "pair", "write a note", approve="all")
    await run_to_end(run)
    assert "written" in output_of(run)
    header = read_header(run.session_path)
    assert header.work_dir == str((first_cwd / "runs" / run.run_id) if relative
                                  else tmp_path / "runs" / run.run_id)

    monkeypatch.chdir(later_cwd)
    later = config if relative else pair(make_config, tmp_path, str(tmp_path / "elsewhere"))
    resumed = prepare_resume(run.session_path, config=later, approve="all", message="read it back")
    before = len(resumed.bus.history)
    await run_to_end(resumed)
    finished = [e for e in resumed.bus.history[before:] if isinstance(e, ExecutionFinished)]
    assert finished and finished[-1].exit_code == 0, output_of(resumed, before)
    assert "kept-4711" in output_of(resumed, before)


def test_a_log_without_a_recorded_work_dir_resumes_where_runs_worked_before(tmp_path):
    from tuiagents.config import parse_config
    from tuiagents.session.assemble import recorded_work_dir
    from tuiagents.session.header import SessionHeader

    old = SessionHeader.model_validate({"run_id": "abc", "team": "pair"})  # a header from before
    assert old.work_dir is None
    log = tmp_path / "pair-abc.jsonl"
    assert recorded_work_dir(old, parse_config({}), log).path == tmp_path / "pair-abc.work"
    assert recorded_work_dir(old, parse_config({"docker": {"work_dir": str(tmp_path / "w")}}), log).path \
        == tmp_path / "w" / "abc"


async def test_a_fork_works_in_a_folder_of_its_own(server, make_config, run_to_end, tmp_path):
    from tuiagents.app.launch import prepare_run
    from tuiagents.session.fork import fork_session
    from tuiagents.session.resume import prepare_resume

    config = pair(make_config, tmp_path, str(tmp_path / "runs"))
    server.load([Rule(agent="bot", replies=[WRITE, "TERMINATE"])])
    run = prepare_run(config, "pair", "write a note", approve="all")
    await run_to_end(run)
    fork = fork_session(run.session_path, 3)
    forked = read_header(fork)
    assert forked.work_dir == str(tmp_path / "runs" / forked.run_id) != read_header(run.session_path).work_dir
    resumed = prepare_resume(fork, config=config)
    try:
        assert resumed.work_dir == Path(forked.work_dir)
    finally:
        await resumed.aclose()
