"""What a newcomer reads on the console: every option has help, `sessions` prints what the other
commands accept, and how a run ended is said in words."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tuiagents.app.cli import build_parser
from tuiagents.engine.events import RunStopped, StopKind
from tuiagents.session.log import SessionWriter
from tuiagents.session.sample import sample_events, sample_header, write_sample_session


def _subparser(name: str, *more: str):
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    sub = action.choices[name]
    for m in more:
        sub = next(a for a in sub._actions if a.dest == "sandbox_command").choices[m]
    return sub


@pytest.mark.parametrize("command", [("doctor",), ("sandbox", "build"), ("resume",), ("import",),
                                     ("export",), ("replay",), ("demo",), ("sessions",), ("run",)])
def test_every_option_of_every_command_has_help(command):
    sub = _subparser(*command)
    for action in sub._actions:
        if action.dest in ("help",):
            continue
        assert action.help, f"{' '.join(command)} {'/'.join(action.option_strings) or action.dest} has no help"


def test_export_says_its_default_format_and_demo_headless_says_it_approves_everything():
    export = _subparser("export").format_help()
    assert "default: md" in " ".join(export.split())
    demo = " ".join(_subparser("demo").format_help().split())
    assert "every step approved" in demo and "without asking" in demo


def test_run_help_describes_the_command():
    run = _subparser("run")
    assert run.description and len(run.description.split()) >= 12
    text = " ".join(run.format_help().split())
    assert run.description.split(".")[0] in text and "--headless" in text and "session log" in text


def test_replay_help_lists_the_replays_keys_and_speeds_from_the_registry():
    from tuiagents.session.replay import SPEEDS
    from tuiagents.ui.actions import InReplay, Where, actions_of
    from tuiagents.ui.replay_player import format_speed

    text = _subparser("replay").format_help()
    lines = text.splitlines()
    works = [a for a in actions_of(Where.COCKPIT) if a.in_replay is InReplay.WORKS and a.show]
    for action in [*actions_of(Where.REPLAY), *works]:
        row = next((line for line in lines if f"[{action.id}]" in line), None)
        assert row is not None, f"replay --help does not list {action.id}"
        assert (action.key_display or action.keys.split(",")[0]) in row and action.text in " ".join(text.split())
    speeds = next(line for line in lines if line.startswith("speeds:"))
    assert all(format_speed(s) in speeds for s in SPEEDS)


def test_plain_help_still_loads_no_textual():
    """The replay's key list is read from the UI registry only when `replay --help` is shown."""
    code = ("import sys\nfrom tuiagents.app.cli import build_parser\nbuild_parser().format_help()\n"
            "print('textual' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_testing_module_help_names_itself_and_describes_the_script():
    done = subprocess.run([sys.executable, "-m", "tuiagents.testing", "--help"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert text.startswith("usage: python -m tuiagents.testing ")
    assert '"rules"' in text and '"agent"' in text and '"contains"' in text and '"reply"' in text


def _stopped_by_you(path: Path) -> Path:
    events = list(sample_events(3, run_id="byyou0001", stop=False))
    events.append(RunStopped(seq=events[-1].seq + 1, ts=events[-1].ts + 1, reason="stopped by you (Ctrl+C)",
                             kind=StopKind.STOPPED_BY_USER))
    with SessionWriter(path, sample_header("byyou0001")) as w:
        for ev in events:
            w(ev)
    return path


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ, TUIAGENTS_DATA_DIR=str(tmp_path / "data"), TUIAGENTS_CONFIG_DIR=str(tmp_path / "cfg"),
               COLUMNS="80")
    env.pop("TUIAGENTS_CONFIG", None)
    return env


def test_sessions_lists_ids_that_replay_export_and_resume_open_from_any_folder(tmp_path):
    folder = tmp_path / "data" / "sessions"
    folder.mkdir(parents=True)
    write_sample_session(folder / "20231114-221320-pair-sample0001.jsonl", 3)
    _stopped_by_you(folder / "20231114-221321-pair-byyou0001.jsonl")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def tui(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tuiagents", *argv], capture_output=True, text=True,
                              timeout=60, env=_env(tmp_path), cwd=elsewhere)

    listed = tui("sessions")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    by_you = next(line for line in lines if "byyou0001" in line)
    assert " stopped " in by_you and "stopped by you (Ctrl+C)" in by_you  # status, then the whole reason
    assert "finished" not in by_you
    normal = next(line for line in lines if "sample0001" in line)
    assert "reached max_rounds (3)" in normal  # the stop reason is never cut, even at 80 columns
    for ident in ("sample0001", "20231114-221320-pair-sample0001.jsonl", "sample00"):
        shown = tui("replay", ident, "--headless")
        assert shown.returncode == 0, shown.stderr
        assert "Plot the first 20 Fibonacci numbers" in shown.stdout
    exported = tui("export", "byyou0001")
    assert exported.returncode == 0 and exported.stdout.startswith("# Session pair")
    missing = tui("replay", "nosuchid", "--headless")
    assert missing.returncode == 2 and "nosuchid" in missing.stderr and "Traceback" not in missing.stderr


def _daemon_or_skip() -> None:
    try:
        from tuiagents.execution.docker_client import connect_docker

        connect_docker().close()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no Docker daemon: {exc}")


def test_doctor_advice_for_a_missing_image_makes_the_config_use_what_it_builds(tmp_path):
    _daemon_or_skip()
    config = tmp_path / "config.toml"
    config.write_text('[docker]\nimage = "tuiagents-sandbox:not-built-yet"\n')
    env = _env(tmp_path)

    def doctor(*argv: str) -> str:
        done = subprocess.run([sys.executable, "-m", "tuiagents", "doctor", *argv], capture_output=True,
                              text=True, timeout=120, env=env, cwd=tmp_path)
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        return " ".join(done.stdout.split())

    named = doctor("--config", str(config))
    assert "sandbox build --tag tuiagents-sandbox:not-built-yet" in named
    assert "sudo tuiagents " not in named  # sudo resets PATH: the running script's full path is named
    config.write_text('[docker]\nimage = "python:3.12-slim"\n')
    if "python:3.12-slim is not present and cannot be pulled" in doctor("--config", str(config)):
        default = doctor("--config", str(config))
        assert f'set [docker] image = "tuiagents-sandbox:latest" in {config}' in default


def test_export_never_writes_onto_a_session_log(tmp_path):
    folder = tmp_path / "data" / "sessions"
    folder.mkdir(parents=True)
    log = folder / "20231114-221320-pair-sample0001.jsonl"
    other = folder / "20231114-221321-pair-byyou0001.jsonl"
    write_sample_session(log, 3)
    _stopped_by_you(other)
    before = {p: p.read_bytes() for p in (log, other)}

    def tui(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tuiagents", *argv], capture_output=True, text=True,
                              timeout=60, env=_env(tmp_path), cwd=tmp_path)

    for onto in (log, other, Path(os.path.relpath(log, tmp_path))):  # itself, another log, itself relative
        refused = tui("export", "sample0001", "--format", "md", "-o", str(onto))
        assert refused.returncode == 2, refused.stderr
        assert "session log" in refused.stderr and "Traceback" not in refused.stderr
        assert "-o" in refused.stderr  # says what to do instead
    assert {p: p.read_bytes() for p in (log, other)} == before  # nothing saved is lost

    fine = tui("export", "sample0001", "--format", "md", "-o", str(tmp_path / "sample.md"))
    assert fine.returncode == 0 and (tmp_path / "sample.md").read_text().startswith("# Session pair")
    again = tui("export", "sample0001", "--format", "json", "-o", str(tmp_path / "sample.md"))
    assert again.returncode == 0  # an export of its own is overwritten as before
