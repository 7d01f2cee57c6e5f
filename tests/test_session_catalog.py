"""The sessions listing, deletion and forking."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from tuiagents.session.catalog import delete_session, list_sessions, summarize_session
from tuiagents.session.fork import fork_session
from tuiagents.session.log import SessionError
from tuiagents.session.reader import read_session
from tuiagents.session.sample import sample_events, sample_header, write_sample_session


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_listing_fields_and_newest_first(tmp_path):
    old = write_sample_session(tmp_path / "old.jsonl", 6, run_id="old",
                               header=sample_header("old", created="2024-01-01T10:00:00+00:00"))
    new = write_sample_session(tmp_path / "new.jsonl", 3, run_id="new",
                               header=sample_header("new", created="2024-03-01T10:00:00+00:00"))
    mid = write_sample_session(tmp_path / "mid.jsonl", 4, run_id="mid", stop=False,
                               header=sample_header("mid", created="2024-02-01T10:00:00+00:00"))
    (tmp_path / "notes.txt").write_text("not listed")
    got = list_sessions(tmp_path)
    assert [s.path for s in got] == [new, mid, old]
    _, s_mid, s_old = got
    full = read_session(old)
    assert s_old.status == "finished" and s_old.stop_reason == "reached max_rounds (6)"
    assert s_old.stop_kind == "max_rounds"
    assert (s_old.turns, s_old.events) == (6, len(full.events))
    assert s_old.cost == pytest.approx(0.0006)
    assert s_old.team == "pair" and s_old.task.startswith("Plot") and s_old.run_id == "old"
    assert s_old.created.year == 2024 and s_old.created.month == 1
    assert s_mid.status == "interrupted" and s_mid.stop_reason is None and s_mid.turns == 4


def test_quick_listing_reads_only_header_and_tail(tmp_path):
    write_sample_session(tmp_path / "a.jsonl", 5)
    (s,) = list_sessions(tmp_path, quick=True)
    assert s.status == "finished" and s.stop_reason == "reached max_rounds (5)"
    assert s.turns is None and s.cost is None


def test_broken_logs_are_listed_not_fatal(tmp_path):
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "other.jsonl").write_text('{"hello": 1}\n')
    head = sample_header().model_dump(mode="json") | {"format_version": 5}
    (tmp_path / "future.jsonl").write_text(json.dumps(head) + "\n")
    cut = write_sample_session(tmp_path / "cut.jsonl", 3, stop=False)
    with open(cut, "ab") as f:
        f.write(b'{"seq":1000,"ts":2,"type":"message_del')
    by_name = {s.path.name: s for s in list_sessions(tmp_path)}
    assert by_name["empty.jsonl"].status == "corrupt" and "empty" in by_name["empty.jsonl"].error
    assert by_name["other.jsonl"].status == "corrupt" and "not a tuiagents session log" in by_name["other.jsonl"].error
    assert by_name["future.jsonl"].status == "corrupt" and "upgrade" in by_name["future.jsonl"].error
    c = by_name["cut.jsonl"]
    assert c.status == "interrupted" and "cut off" in c.error and c.events == len(read_session(cut).events)


def test_last_line_without_newline_still_counts(tmp_path):
    path = write_sample_session(tmp_path / "a.jsonl", 2)
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    s = summarize_session(path)
    assert s.status == "finished" and s.error is None and s.events == len(read_session(path).events)


def test_missing_folder_lists_nothing(tmp_path):
    assert list_sessions(tmp_path / "nope") == []


def test_listing_refreshes_after_a_change(tmp_path):
    path = tmp_path / "live.jsonl"
    from tuiagents.session.log import SessionWriter

    w = SessionWriter(path, sample_header())
    events = list(sample_events(2, token_deltas=False))
    for ev in events[:-1]:
        w(ev)
    assert list_sessions(tmp_path)[0].status == "running"  # its writer holds it
    w(events[-1])
    w.close()
    assert list_sessions(tmp_path)[0].status == "finished"


def test_delete_session(tmp_path):
    path = write_sample_session(tmp_path / "a.jsonl", 1)
    work = tmp_path / "a.work"
    work.mkdir()
    (work / "fib.png").write_bytes(b"png")
    assert delete_session(path) == [path]
    assert not path.exists() and work.exists()
    path = write_sample_session(tmp_path / "a.jsonl", 1)
    assert delete_session(path, work_dir=True) == [path, work]
    assert not work.exists()
    other = tmp_path / "keep.jsonl"
    other.write_text('{"mine": true}\n')
    with pytest.raises(SessionError, match="refusing"):
        delete_session(other)
    assert other.exists()
    with pytest.raises(SessionError):
        delete_session(tmp_path / "gone.jsonl")


def test_fork_keeps_original_byte_identical(tmp_path):
    src = write_sample_session(tmp_path / "run.jsonl", 8)
    before = _digest(src)
    mtime = os.stat(src).st_mtime_ns
    original = read_session(src)
    dest = fork_session(src, 25)
    assert _digest(src) == before and os.stat(src).st_mtime_ns == mtime
    assert dest == tmp_path / "run-fork25.jsonl"
    fork = read_session(dest)
    assert fork.events == original.events[:25]
    h = fork.header
    assert h.forked_from.at_event == 25 and h.forked_from.path == str(src.resolve())
    assert h.run_id != original.header.run_id and h.team == original.header.team
    assert h.task == original.header.task and h.config == original.header.config
    assert not fork.finished
    assert fork_session(src, 25) == tmp_path / "run-fork25-2.jsonl"  # never overwrites
    assert _digest(src) == before


def test_fork_bounds_and_destinations(tmp_path):
    src = write_sample_session(tmp_path / "run.jsonl", 2)
    n = len(read_session(src).events)
    for bad in (0, -1, n + 1):
        with pytest.raises(SessionError, match=f"choose 1 to {n}") as exc:
            fork_session(src, bad)
        assert exc.value.reason == "bad_input"
    assert read_session(fork_session(src, n, tmp_path / "sub" / "x.jsonl")).events == read_session(src).events
    with pytest.raises(SessionError):
        fork_session(src, 1, src)
    with pytest.raises(SessionError) as exc:
        fork_session(src, 1, tmp_path / "sub" / "x.jsonl")
    assert exc.value.reason == "exists"
    assert not list(tmp_path.glob("**/.*partial"))


def test_fork_of_a_fork_and_of_a_crashed_log(tmp_path):
    src = write_sample_session(tmp_path / "run.jsonl", 3, stop=False)
    with open(src, "ab") as f:
        f.write(b'{"seq": 9')
    first = fork_session(src, 5)
    second = fork_session(first, 3)
    log = read_session(second)
    assert len(log.events) == 3 and log.header.forked_from.path == str(first.resolve())


def test_fork_from_an_already_read_log(tmp_path):
    src = write_sample_session(tmp_path / "run.jsonl", 3)
    log = read_session(src)
    dest = fork_session(src, 7, log=log)
    assert read_session(dest).events == log.events[:7]


def test_a_log_being_written_is_listed_as_running_with_its_writer(tmp_path):
    import os

    from tuiagents.session.commands import format_sessions_table
    from tuiagents.session.log import SessionWriter
    from tuiagents.session.sample import sample_events, sample_header

    path = tmp_path / "live.jsonl"
    writer = SessionWriter(path, sample_header())
    writer.write_many(sample_events(3, stop=False))
    [live] = list_sessions(tmp_path)
    assert live.status == "running" and f"pid {os.getpid()}" in live.writer
    assert "running" in format_sessions_table([live])
    writer.close()
    [after] = list_sessions(tmp_path)  # same size and mtime: the cached summary, asked anew
    assert after.status == "interrupted" and after.writer is None


def test_a_fifo_named_like_a_log_does_not_block_the_listing(tmp_path):
    import threading

    os.mkfifo(tmp_path / "trap.jsonl")
    write_sample_session(tmp_path / "real.jsonl", 1)
    found: list = []
    worker = threading.Thread(target=lambda: found.extend(list_sessions(tmp_path)), daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "listing blocked on the FIFO"
    statuses = {s.path.name: (s.status, s.error) for s in found}
    assert statuses["trap.jsonl"] == ("corrupt", "not a regular file, so not a session log")
    assert statuses["real.jsonl"][0] == "finished"
    with pytest.raises(SessionError, match="not a regular file"):
        delete_session(tmp_path / "trap.jsonl")  # refused at once, not blocked reading it
