"""Session log writer and reader: round trip, flushing, damage, versions, secrets."""

from __future__ import annotations

import json
import os

import pytest

from tuiagents.engine.decisions import DecisionRequest, RequestKind
from tuiagents.engine.events import (
    DecisionRequested, MessageDelivered, Notice, RunStarted, RunStopped, StopKind, TokenDelta,
)
from tuiagents.engine.messages import Message
from tuiagents.session.log import FORMAT_VERSION, SessionError, SessionHeader, SessionWriter
from tuiagents.session.reader import read_header, read_session
from tuiagents.session.sample import sample_events, sample_header, write_sample_session


def test_round_trip_typed_events_and_header(tmp_path):
    events = list(sample_events(30))
    path = write_sample_session(tmp_path / "s" / "run.jsonl", 30)  # parents are created
    log = read_session(path)
    assert log.events == events
    assert [type(e) for e in log.events] == [type(e) for e in events]
    assert log.notice is None and log.finished
    h = log.header
    assert (h.format_version, h.run_id, h.team, h.task) == (FORMAT_VERSION, "sample0001", "pair", events[0].task)
    assert [a.name for a in h.agents] == ["coder", "runner"]
    assert h.config == {"teams": [{"name": "pair"}]}
    assert read_header(path) == h


def test_decision_requested_future_is_not_serialized(tmp_path):
    import asyncio

    ev = DecisionRequested(seq=1, request=DecisionRequest(kind=RequestKind.MESSAGE, agent="a"))
    ev._future = asyncio.new_event_loop().create_future()
    with SessionWriter(tmp_path / "x.jsonl", sample_header()) as w:
        w(ev)
    back = read_session(tmp_path / "x.jsonl").events[0]
    assert back.future is None and back.request == ev.request


def test_each_line_is_flushed_while_writer_is_open(tmp_path):
    path = tmp_path / "live.jsonl"
    w = SessionWriter(path, sample_header())
    gen = sample_events(5, token_deltas=False)
    for n in range(1, 6):
        w(next(gen))
        log = read_session(path)  # another reader, same moment
        assert len(log.events) == n and log.notice is None
    assert not log.finished
    w.close()
    with pytest.raises(SessionError):
        w(next(gen))


def test_header_deferred_until_run_started(tmp_path):
    path = tmp_path / "d.jsonl"
    w = SessionWriter(path, config={"llm": {"timeout": 3}})
    events = list(sample_events(3))
    for ev in events:
        w(ev)
    w.close()
    log = read_session(path)
    assert log.header.run_id == events[0].run_id and log.header.config == {"llm": {"timeout": 3}}
    assert log.events == events


def test_events_before_run_started_are_kept(tmp_path):
    w = SessionWriter(tmp_path / "early.jsonl")
    w(Notice(seq=1, text="docker daemon not found; code will not run", level="warning"))
    events = list(sample_events(2, token_deltas=False))
    for i, ev in enumerate(events):
        w(ev.model_copy(update={"seq": i + 2}))
    w.close()
    log = read_session(tmp_path / "early.jsonl")
    assert log.header.run_id == "sample0001"
    assert [e.seq for e in log.events] == list(range(1, len(events) + 2))

    w = SessionWriter(tmp_path / "never.jsonl")
    w(Notice(seq=1, text="could not build the team", level="error"))
    w.close()
    log = read_session(tmp_path / "never.jsonl")
    assert log.header.team == "(not started)" and log.events[0].text == "could not build the team"


def test_writer_never_overwrites(tmp_path):
    path = write_sample_session(tmp_path / "a.jsonl", 2)
    before = path.read_bytes()
    with pytest.raises(SessionError) as exc:
        SessionWriter(path, sample_header())
    assert exc.value.reason == "exists" and path.read_bytes() == before


def test_token_deltas_option(tmp_path):
    path = write_sample_session(tmp_path / "a.jsonl", 4, header=sample_header())
    with SessionWriter(tmp_path / "b.jsonl", sample_header(), token_deltas=False) as w:
        for ev in sample_events(4):
            w(ev)
    full, lean = read_session(path), read_session(tmp_path / "b.jsonl")
    assert any(isinstance(e, TokenDelta) for e in full.events)
    assert lean.events == [e for e in full.events if not isinstance(e, TokenDelta)]
    assert read_session(path, token_deltas=False).events == lean.events


def test_truncated_last_line_keeps_events_before(tmp_path):
    path = write_sample_session(tmp_path / "a.jsonl", 5, stop=False)
    n = len(read_session(path).events)
    with open(path, "ab") as f:
        f.write(b'{"seq":999,"ts":1.0,"type":"message_delivered","message":{"sender":"co')
    log = read_session(path)
    assert len(log.events) == n
    assert log.notice == (f"line {n + 2} is cut off (the run probably crashed); "
                          f"kept the {n} events before it")
    assert not log.finished


def test_cut_off_token_delta_is_reported_even_when_deltas_are_skipped(tmp_path):
    path = write_sample_session(tmp_path / "a.jsonl", 2, stop=False)
    with open(path, "ab") as f:
        f.write(b'{"seq":999,"ts":1.0,"type":"token_delta","agent":"coder","text":"hal')
    assert "cut off" in read_session(path, token_deltas=False).notice


def test_max_events_reads_only_the_start(tmp_path):
    path = write_sample_session(tmp_path / "a.jsonl", 10)
    full = read_session(path)
    assert read_session(path, max_events=7).events == full.events[:7]
    assert read_session(path, max_events=10_000).events == full.events


def test_write_many_equals_one_by_one(tmp_path):
    a = write_sample_session(tmp_path / "a.jsonl", 6)
    with SessionWriter(tmp_path / "b.jsonl", sample_header()) as w:
        w.write_many(sample_events(6))
    assert a.read_bytes() == (tmp_path / "b.jsonl").read_bytes()


def test_open_append_after_crash_drops_cut_line_and_continues(tmp_path):
    path = write_sample_session(tmp_path / "a.jsonl", 3, stop=False)
    n = len(read_session(path).events)
    with open(path, "ab") as f:
        f.write(b'{"seq":999,"ts":1.0,"type":"tur')
    w = SessionWriter.open_append(path)
    assert "cut off" in w.recovery_notice and w.events_written == n
    w(RunStopped(seq=n + 1, reason="resumed and stopped", kind=StopKind.STOPPED_BY_USER))
    w.close()
    log = read_session(path)
    assert log.notice is None and len(log.events) == n + 1 and log.finished
    assert path.read_bytes().count(b'"type":"session_header"') == 1


def test_corrupt_middle_line_is_skipped_with_line_number(tmp_path):
    path = write_sample_session(tmp_path / "a.jsonl", 3)
    lines = path.read_bytes().split(b"\n")
    lines[4] = b'{"seq": 4, "type": "turn_sta'  # line 5 of the file
    lines[6] = b'{"seq": 6, "ts": 1, "type": "warp_drive"}'
    path.write_bytes(b"\n".join(lines))
    log = read_session(path)
    assert log.skipped_lines == [5, 7]
    assert "lines 5, 7" in log.notice
    assert len(log.events) == len(list(sample_events(3))) - 2
    with pytest.raises(SessionError, match="line 5 is not a valid event"):
        read_session(path, strict=True)


def test_newer_format_version_says_upgrade(tmp_path):
    path = tmp_path / "new.jsonl"
    head = sample_header().model_dump(mode="json") | {"format_version": 7, "tuiagents_version": "9.0.0"}
    path.write_text(json.dumps(head) + "\n")
    with pytest.raises(SessionError) as exc:
        read_session(path)
    assert exc.value.reason == "newer_format"
    assert "written by tuiagents 9.0.0 with log format 7; this tuiagents" in str(exc.value)
    assert f"reads formats 1 to {FORMAT_VERSION}" in str(exc.value) and "upgrade" in str(exc.value)


@pytest.mark.parametrize("content, reason", [
    (b"", "empty"), (b"\n\n  \n", "empty"),
    (b"hello world\n", "not_a_log"), (b'{"name": "config"}\n', "not_a_log"),
    (b"[1, 2, 3]\n", "not_a_log"), (b"\x89PNG\r\n\x1a\n\x00\x00", "not_a_log"),
])
def test_not_a_log_and_empty(tmp_path, content, reason):
    path = tmp_path / "f.jsonl"
    path.write_bytes(content)
    with pytest.raises(SessionError) as exc:
        read_session(path)
    assert exc.value.reason == reason


def test_missing_file(tmp_path):
    with pytest.raises(SessionError) as exc:
        read_session(tmp_path / "nope.jsonl")
    assert exc.value.reason == "missing" and "tuiagents sessions" in str(exc.value)


def test_api_keys_never_reach_the_file(tmp_path, monkeypatch):
    env_key = "sk-proj-ABCdef1234567890ghijKLMNOP"
    monkeypatch.setenv("OPENAI_API_KEY", env_key)
    monkeypatch.setenv("MY_SERVICE_TOKEN", 'tok"en\\with-quotes-123')
    unknown = "sk-ant-api03-zzzzzzzzzzzzzzzzzzzzzzzz"  # in no variable, caught by its shape
    cfg_key = "local-server-secret-42"
    path = tmp_path / "s.jsonl"
    header = sample_header(task=f"use the key {env_key} please")
    with SessionWriter(path, header, secrets=[cfg_key]) as w:
        w(RunStarted(seq=1, run_id="r", team="t", team_kind="two_agent", task="x", agents=[]))
        w(MessageDelivered(seq=2, message=Message(
            sender="coder", content=f"key={env_key} other={unknown} cfg={cfg_key} "
                                    f'tok=tok"en\\with-quotes-123 task-keeps-words')))
        for i, piece in enumerate(("It is sk-pr", "oj-ABCdef12", "34567890ghijKL", "MNOP, see")):
            w(TokenDelta(seq=3 + i, agent="coder", text=piece))  # a key streamed in pieces
        w(Notice(seq=7, text=f"auth failed with {env_key}"))
        w(DecisionRequested(seq=8, request=DecisionRequest(kind=RequestKind.MESSAGE, agent="c",
                                                          content=env_key)))
    raw = path.read_text()
    for secret in (env_key, unknown, cfg_key, 'tok\\"en\\\\with-quotes-123', "ABCdef1234567890ghij"):
        assert secret not in raw
    assert raw.count("[redacted]") == 8
    assert "sk-pr" not in raw and "MNOP" not in raw
    log = read_session(path)  # still valid JSON everywhere
    assert "task-keeps-words" in log.events[1].message.content
    assert "".join(e.text for e in log.events if isinstance(e, TokenDelta)) == "It is [redacted], see"
    assert [e.seq for e in log.events] == sorted(e.seq for e in log.events)
    assert log.header.task == "use the key [redacted] please"


def test_long_streams_are_written_in_chunks_without_splitting_a_key(tmp_path, monkeypatch):
    from tuiagents.session import log as logmod

    monkeypatch.setattr(logmod, "PENDING_CHARS", 100)
    monkeypatch.setattr(logmod, "HOLD_BACK_CHARS", 20)
    key = "sk-" + "Q" * 40
    text = ("words " * 15 + key + " tail ") * 6
    pieces = [text[i:i + 7] for i in range(0, len(text), 7)]
    path = tmp_path / "stream.jsonl"
    w = SessionWriter(path, sample_header())
    for i, p in enumerate(pieces):
        w(TokenDelta(seq=i + 1, agent="coder", text=p))
    assert 0 < len(read_session(path).events) < len(pieces)  # written early, some held back
    w.close()
    got = read_session(path).events
    assert len(got) == len(pieces) and [e.seq for e in got] == list(range(1, len(pieces) + 1))
    assert "".join(e.text for e in got) == text.replace(key, "[redacted]")
    assert "QQQQ" not in path.read_text()


def test_config_api_keys_are_scrubbed(tmp_path, monkeypatch):
    from pydantic import SecretStr

    class Model:
        api_key = SecretStr("config-file-key-0000")
        api_key_env = "CUSTOM_LLM_CREDENTIAL"

    class Cfg:
        models = [Model()]

        def snapshot(self):
            return {"models": [{"name": "m"}]}

    monkeypatch.setenv("CUSTOM_LLM_CREDENTIAL", "env-named-by-config-9999")
    path = tmp_path / "c.jsonl"
    with SessionWriter(path, config=Cfg()) as w:
        w(RunStarted(seq=1, run_id="r", team="t", team_kind="two_agent",
                     task="config-file-key-0000 env-named-by-config-9999", agents=[]))
    raw = path.read_text()
    assert "config-file-key" not in raw and "env-named-by-config" not in raw
    assert read_session(path).header.config == {"models": [{"name": "m"}]}


def test_log_file_is_private(tmp_path):
    path = write_sample_session(tmp_path / "p.jsonl", 1)
    assert os.stat(path).st_mode & 0o077 == 0


def test_header_from_run_uses_config_snapshot():
    run = next(sample_events(1))
    h = SessionHeader.from_run(run, {"ui": {"theme": "x"}})
    assert (h.run_id, h.team, h.task, h.config) == (run.run_id, run.team, run.task, {"ui": {"theme": "x"}})
    assert h.created_at is not None


# -- any text is logged, reversibly -------------------------------------------------------------------
#: Text a model or code can produce that UTF-8 cannot hold as such: lone surrogates (JSON allows
#: `\ud800`), bytes that are not UTF-8 (kept by `surrogateescape`), NUL, and text that only looks
#: like an escape.
ODD_TEXTS = ["lone \ud800 high", "lone \udfff low", "backwards pair \ude00\ud83d",
             b"latin-1 caf\xe9 \xff\xfe".decode("utf-8", "surrogateescape"), "nul \x00 kept",
             "looks escaped: \\ud800 \\u0000", "emoji 😀 and é"]


def test_any_text_is_logged_and_read_back_exactly(tmp_path):
    from tuiagents.session.catalog import summarize_session

    path = tmp_path / "odd.jsonl"
    events = [RunStarted(seq=1, run_id="odd", team="pair", team_kind="two_agent", task=ODD_TEXTS[0], agents=[])]
    for text in ODD_TEXTS:
        events += [TokenDelta(seq=len(events) + 1, agent="a", text=text),
                   MessageDelivered(seq=len(events) + 2, message=Message(sender="a", content=text)),
                   Notice(seq=len(events) + 3, text=text)]
    events.append(RunStopped(seq=len(events) + 1, reason=ODD_TEXTS[1], kind=StopKind.ERROR, summary=ODD_TEXTS[2]))
    with SessionWriter(path, sample_header(task=ODD_TEXTS[3])) as w:
        for ev in events:
            w(ev)
    path.read_bytes().decode("utf-8")  # the file itself is valid UTF-8
    log = read_session(path, strict=True)
    assert log.notice is None and log.events == events
    assert [e.message.content for e in log.events if isinstance(e, MessageDelivered)] == ODD_TEXTS
    assert log.header.task == ODD_TEXTS[3]
    summary = summarize_session(path)  # the fast listing reads the stop line too
    assert summary.status == "finished" and summary.stop_reason == ODD_TEXTS[1]
    assert summarize_session(path, quick=True).stop_reason == ODD_TEXTS[1]


def test_a_surrogate_pair_split_over_two_pieces_reads_back_as_its_character(tmp_path):
    """JSON gives an escaped high+low pair one meaning, the character: a reply streamed as two
    halves of one emoji is logged as that emoji; each half alone is kept exactly."""
    path = tmp_path / "pair.jsonl"
    with SessionWriter(path, sample_header()) as w:
        w(TokenDelta(seq=1, agent="a", text="half \ud83d"))
        w(TokenDelta(seq=2, agent="a", text="\ude00 half"))
        w(MessageDelivered(seq=3, message=Message(sender="a", content="half \ud83d\ude00 half")))
    events = read_session(path, strict=True).events
    assert [e.text for e in events[:2]] == ["half \ud83d", "\ude00 half"]
    assert events[2].message.content == "half \U0001f600 half"


async def test_a_reply_with_lone_surrogates_is_logged_and_replayed_as_shown(server, make_config, tmp_path):
    """A real reply through the `openai` client: the run ends normally, the log keeps every
    character, and the headless replay prints the message as the live console printed it."""
    import io

    from conftest import finish

    from tuiagents.headless import ConsolePrinter
    from tuiagents.app.launch import prepare_run
    from tuiagents.app.replay import format_transcript_text
    from tuiagents.testing import Rule

    reply = "odd \ud800 and \udcff, nul \x00, fine é. TERMINATE"
    server.load([Rule(agent="assistant", reply=reply)])
    config = make_config(agents=[{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER"},
                                 {"name": "assistant", "kind": "assistant", "model": "default"}],
                         teams=[{"name": "pair", "kind": "two_agent", "agents": ["user", "assistant"]}])
    path = tmp_path / "odd.jsonl"
    run = prepare_run(config, "pair", "say something odd", approve="all", session_path=path)
    live = io.StringIO()
    run.bus.subscribe(ConsolePrinter(live))
    result = await finish(run)
    assert result.stop_kind == StopKind.TERMINATION_MESSAGE, result.stop_reason
    log = read_session(path)
    assert log.notice is None and log.finished
    said = [e.message.content for e in log.events if isinstance(e, MessageDelivered)]
    assert said == ["say something odd", reply]
    assert "".join(e.text for e in log.events if isinstance(e, TokenDelta)) == reply
    shown = next(line for line in live.getvalue().splitlines() if line.startswith("odd "))
    assert shown in format_transcript_text(log).splitlines()


def test_session_under_an_existing_file_is_a_clear_error(tmp_path):
    import subprocess
    import sys

    blocker = tmp_path / "notes.txt"
    blocker.write_text("not a folder")
    cfg = tmp_path / "config.toml"
    cfg.write_text('[[models]]\nname = "m"\nmodel = "x"\nbase_url = "http://127.0.0.1:9/v1"\n'
                   '[[agents]]\nname = "user"\nkind = "user_proxy"\n[[agents]]\nname = "a"\nkind = "assistant"\n'
                   'model = "m"\n[[teams]]\nname = "pair"\nkind = "two_agent"\nagents = ["user", "a"]\n')
    result = subprocess.run([sys.executable, "-m", "tuiagents", "run", "--headless", "--config", str(cfg),
                             "--task", "t", "--session", str(blocker / "sub" / "run.jsonl")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and f"{blocker} is a file, not a folder" in result.stderr
    assert blocker.read_text() == "not a folder"


def _as_json_reads_it(text: str) -> str:
    """`text` with every adjacent high+low surrogate pair joined into its character (JSON's reading)."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def test_property_any_text_round_trips(tmp_path_factory):
    """Generated text of every kind, surrogates and control characters included, reads back as written."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    texts = st.text(st.characters(blacklist_categories=()), max_size=40)

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(texts, texts)
    def check(content: str, delta: str) -> None:
        path = tmp_path_factory.mktemp("prop") / "p.jsonl"
        with SessionWriter(path, sample_header()) as w:
            w(TokenDelta(seq=1, agent="a", text=delta))
            w(MessageDelivered(seq=2, message=Message(sender="a", content=content)))
        events = read_session(path, strict=True).events
        assert events[0].text == _as_json_reads_it(delta)
        assert events[1].message.content == _as_json_reads_it(content)

    check()
