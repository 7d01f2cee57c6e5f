"""Reading a log a batch of lines at a time, with shared bookkeeping, gives exactly the events,
line numbers and notices that parsing it line by line gives. Memory and time figures are in
`bench/bench_session_open.py`."""

from __future__ import annotations

import gc

import pytest

import tuiagents.session.reader as reader
from tuiagents.session.header import SessionError
from tuiagents.session.reader import parse_line, read_session
from tuiagents.session.sample import write_sample_session


@pytest.fixture(params=[1 << 20, 700], ids=["normal batches", "tiny batches"])
def batch_bytes(request, monkeypatch):
    monkeypatch.setattr(reader, "READ_BATCH_BYTES", request.param)
    return request.param


def _lines(path):
    return path.read_bytes().split(b"\n")


def test_events_equal_line_by_line_parsing(tmp_path, batch_bytes):
    path = write_sample_session(tmp_path / "s.jsonl", 40)
    expected = [parse_line(ln) for ln in _lines(path)[1:] if ln.strip()]
    log = read_session(path)
    assert [e.model_dump() for e in log.events] == [e.model_dump() for e in expected]
    assert [e.model_fields_set for e in log.events] == [e.model_fields_set for e in expected]
    assert log.notice is None and log.cut_off_at is None
    lean = read_session(path, token_deltas=False)
    assert [e.seq for e in lean.events] == [e.seq for e in expected if e.type != "token_delta"]
    assert [e.seq for e in read_session(path, max_events=7).events] == [e.seq for e in expected[:7]]


def test_events_of_one_shape_share_their_field_sets_and_stay_independent(tmp_path):
    path = write_sample_session(tmp_path / "s.jsonl", 20)
    deltas = [e for e in read_session(path).events if e.type == "token_delta"]
    assert len(deltas) > 2 and len({id(d.__pydantic_fields_set__) for d in deltas}) == 1
    requests = [e.request for e in read_session(path).events if e.type == "decision_requested"]
    assert len(requests) > 2 and len({id(r.__pydantic_fields_set__) for r in requests}) == 1  # nested models too
    deltas[0].text = "changed"  # an event is still its own: changing one changes no other
    assert deltas[1].text != "changed" and deltas[0].text == "changed"


def test_corrupt_and_cut_off_lines_are_named_across_batches(tmp_path, batch_bytes):
    path = write_sample_session(tmp_path / "s.jsonl", 40)
    lines = _lines(path)
    assert lines[-1] == b""
    bad_at = len(lines) // 2  # index in `lines`: line number bad_at + 1
    lines[bad_at] = b'{"type":"no_such_event","seq":1}'
    cut = lines[-2][: len(lines[-2]) // 2]
    data = b"\n".join(lines[:-2]) + b"\n" + cut
    path.write_bytes(data)
    log = read_session(path)
    assert log.skipped_lines == [bad_at + 1]
    assert log.cut_off_at == len(data) - len(cut)
    assert f"line {bad_at + 1} is not a valid event" in log.notice
    assert f"line {len(lines) - 1} is cut off" in log.notice
    with pytest.raises(SessionError, match=f"line {bad_at + 1} is not a valid event"):
        read_session(path, strict=True)


def test_blank_files_and_folders_still_say_what_they_are(tmp_path):
    blank = tmp_path / "blank.jsonl"
    blank.write_bytes(b"\n  \n")
    with pytest.raises(SessionError, match="empty"):
        read_session(blank)
    with pytest.raises(SessionError, match="folder"):
        read_session(tmp_path)
    assert gc.isenabled()  # the collector paused for the read is running again, errors or not
