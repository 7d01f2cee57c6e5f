"""Replay (cursor and headless text) and the session CLI entry functions."""

from __future__ import annotations

import io
import json

import pytest

from tuiagents.app.replay import cli_replay_headless, format_transcript_text
from tuiagents.engine.events import TurnStarted
from tuiagents.session.commands import cli_delete, cli_export, cli_fork, cli_import, cli_sessions
from tuiagents.session.header import FORMAT_VERSION
from tuiagents.session.reader import read_session
from tuiagents.session.replay import MAX_GAP, SPEEDS, ReplayCursor, delay_between, replay_events
from tuiagents.session.sample import sample_events, sample_header, write_sample_session


def test_replay_events_and_headless_text_match_the_live_printer(tmp_path):
    from tuiagents.headless import ConsolePrinter

    path = write_sample_session(tmp_path / "a.jsonl", 6)
    assert list(replay_events(path)) == list(sample_events(6))
    live = io.StringIO()
    printer = ConsolePrinter(live)
    for ev in sample_events(6):
        printer(ev)
    text = format_transcript_text(path)
    assert text == live.getvalue()
    assert "Stopped: reached max_rounds (6)" in text and "coder [edited by you]:" in text


def test_cursor_steps_and_jumps():
    events = list(sample_events(5))
    c = ReplayCursor(events)
    assert c.at_start and c.current is None and c.next_event is events[0] and c.turns == 5
    assert c.step_back() is None
    assert c.step_forward() is events[0] and c.current is events[0] and c.position == 1
    assert c.step_back() is events[0] and c.at_start
    third = c.turn_index(3)
    assert isinstance(events[third], TurnStarted) and sum(isinstance(e, TurnStarted) for e in events[:third]) == 2
    assert c.jump_to_turn(3) == third and c.next_event is events[third] and c.current_turn == 2
    c.step_forward()
    assert c.current_turn == 3
    assert c.previous_turn() == third and c.previous_turn() == c.turn_index(2)
    assert c.next_turn() == third
    assert c.jump_to_turn(99) == c.turn_index(5) and c.jump_to_turn(0) == c.turn_index(1)
    with pytest.raises(IndexError):
        c.turn_index(6)
    assert c.seek(10_000) == len(events) and c.at_end and c.step_forward() is None and c.progress == 1.0
    assert c.shown() == events and c.seek(-3) == 0
    assert c.next_turn() == c.turn_index(1)


def test_cursor_speeds_and_delays():
    events = list(sample_events(2, step=0.25))
    c = ReplayCursor(events)
    assert c.delay() == 0.0  # nothing shown yet
    c.step_forward()
    assert c.delay() == pytest.approx(0.25)
    c.speed = 4
    assert c.delay() == pytest.approx(0.0625) and c.delay(speed="max") == 0.0
    assert [c.slower() for _ in range(4)] == [2, 1, 0.5, 0.5]
    assert [c.faster() for _ in range(7)] == [1, 2, 4, 8, 16, "max", "max"]
    with pytest.raises(ValueError):
        c.speed = 3
    assert SPEEDS == (0.5, 1, 2, 4, 8, 16, "max")
    a, b = events[0], events[1].model_copy(update={"ts": events[0].ts + 3600})
    assert delay_between(a, b, 1) == MAX_GAP and delay_between(a, b, 2) == MAX_GAP / 2
    back = events[1].model_copy(update={"ts": events[0].ts - 5})
    assert delay_between(a, back, 1) == 0.0


def test_cursor_from_log_path(tmp_path):
    path = write_sample_session(tmp_path / "a.jsonl", 3)
    c = ReplayCursor.from_log(path, speed=2)
    assert len(c) == len(read_session(path).events) and c.speed == 2


def test_cli_exit_codes_and_output(tmp_path, capsys):
    path = write_sample_session(tmp_path / "s" / "a.jsonl", 3)
    assert cli_replay_headless(path) == 0
    assert "Stopped: reached max_rounds (3)" in capsys.readouterr().out

    assert cli_replay_headless(tmp_path / "missing.jsonl") == 2
    assert "no such file" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text("hello\n")
    assert cli_export(bad, "md", None) == 2
    assert "not a tuiagents session log" in capsys.readouterr().err
    newer = tmp_path / "newer.jsonl"
    newer.write_text(json.dumps(sample_header().model_dump(mode="json") | {"format_version": FORMAT_VERSION + 1}) + "\n")
    assert cli_replay_headless(newer) == 2
    assert "upgrade" in capsys.readouterr().err

    assert cli_export(path, "md", None) == 0
    assert capsys.readouterr().out.startswith("# Session pair")
    out = tmp_path / "x.html"
    assert cli_export(path, "html", out) == 0 and out.read_text().startswith("<!DOCTYPE html>")
    assert cli_export(path, "pdf", None) == 2
    assert cli_export(path, "md", tmp_path / "no" / "such" / "dir" / "x.md") == 1
    capsys.readouterr()

    assert cli_sessions(tmp_path / "s") == 0
    table = capsys.readouterr().out
    assert "1 session in" in table and "finished" in table and "sample0001" in table and "TURNS" in table
    assert cli_sessions(tmp_path / "empty") == 0 and "no sessions" in capsys.readouterr().out
    assert cli_sessions(path) == 2

    assert cli_fork(path, 4) == 0
    forked = capsys.readouterr().out.strip()
    assert len(read_session(forked).events) == 4
    assert cli_fork(path, 10_000) == 2 and "choose 1 to" in capsys.readouterr().err

    hist = tmp_path / "h.json"
    hist.write_text('[{"role": "user", "content": "hi"}]')
    assert cli_import(hist, tmp_path / "imp.jsonl") == 0
    hist.write_text("{oops")
    assert cli_import(hist, tmp_path / "imp2.jsonl") == 2 and "not valid JSON" in capsys.readouterr().err

    assert cli_delete(forked) == 0 and cli_delete(forked) == 2


def test_cli_output_is_terminal_safe(tmp_path, capsys):
    header = sample_header(task="evil \x1b[2J\x1b]0;title\x07 task")
    write_sample_session(tmp_path / "e.jsonl", 1, header=header)
    assert cli_sessions(tmp_path) == 0
    assert "\x1b" not in capsys.readouterr().out
