"""Importing AutoGen 0.2 chat histories."""

from __future__ import annotations

import json

import pytest

from tuiagents.engine.events import MessageDelivered, RunStarted, RunStopped, StopKind, TurnStarted
from tuiagents.session.autogen_import import AutogenImportError, import_autogen
from tuiagents.session.catalog import list_sessions
from tuiagents.session.reader import read_session
from tuiagents.session.transcript import build_transcript

HISTORY = [
    {"role": "user", "name": "user_proxy", "content": "Plot NVDA and TSLA prices"},
    {"role": "assistant", "name": "assistant", "content": "```python\nprint(1)\n```"},
    {"role": "user", "name": "user_proxy", "content": "exitcode: 0 (execution succeeded)\nCode output: 1"},
    {"role": "assistant", "name": "assistant", "content": None,
     "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_price", "arguments": "{\"s\": \"NVDA\"}"}}]},
    {"role": "tool", "content": "120.5", "tool_responses": [{"tool_call_id": "call_1", "role": "tool", "content": "120.5"}]},
    {"role": "assistant", "name": "critic", "content": [{"type": "text", "text": "Looks good."}, {"type": "image_url"}]},
    {"role": "assistant", "name": "assistant", "content": "TERMINATE"},
]


def _write(tmp_path, data, name="history.json"):
    p = tmp_path / name
    p.write_text(data if isinstance(data, str) else json.dumps(data))
    return p


def test_import_list_then_read_and_transcript(tmp_path):
    src = _write(tmp_path, HISTORY)
    path = import_autogen(src, tmp_path / "imported.jsonl")
    log = read_session(path)
    assert log.header.imported_from == str(src.resolve())
    run = log.events[0]
    assert isinstance(run, RunStarted) and [a.name for a in run.agents] == ["user_proxy", "assistant", "critic"]
    assert run.team_kind == "group_chat" and run.task == "Plot NVDA and TSLA prices"
    delivered = [e for e in log.events if isinstance(e, MessageDelivered)]
    assert len(delivered) == len(HISTORY) == len([e for e in log.events if isinstance(e, TurnStarted)])
    stop = log.events[-1]
    assert isinstance(stop, RunStopped) and stop.kind == StopKind.EXTERNAL and "imported" in stop.reason
    calls = delivered[3].message.tool_calls
    assert calls[0].name == "get_price" and calls[0].arguments == '{"s": "NVDA"}'
    result = delivered[4].message
    assert result.tool_results[0].content == "120.5" and result.tool_results[0].name == "get_price"
    assert result.recipient == "assistant" and result.origin == "tool"
    assert delivered[5].message.content == "Looks good.\n[image_url]"
    t = build_transcript(log)
    assert t.status == "finished" and t.turns == 7 and t.messages == 7
    assert [e.seq for e in log.events] == list(range(1, len(log.events) + 1))
    assert all(b.ts > a.ts for a, b in zip(log.events, log.events[1:]))


def test_import_wrapped_and_chat_messages_shapes(tmp_path):
    p1 = import_autogen(_write(tmp_path, {"messages": HISTORY[:3]}), tmp_path / "a.jsonl")
    assert len([e for e in read_session(p1).events if isinstance(e, MessageDelivered)]) == 3
    chat_messages = {"user_proxy": [{"role": "user", "content": "hello"},
                                    {"role": "assistant", "content": "hi, how can I help?"}]}
    p2 = import_autogen(_write(tmp_path, chat_messages, "cm.json"), tmp_path / "b.jsonl")
    msgs = [e.message for e in read_session(p2).events if isinstance(e, MessageDelivered)]
    assert [m.sender for m in msgs] == ["user_proxy", "assistant"]
    assert read_session(p2).header.team_kind == "two_agent"


def test_import_goes_to_sessions_dir_by_default(tmp_path):
    path = import_autogen(_write(tmp_path, HISTORY), sessions_dir=tmp_path / "sessions")
    assert path.parent == tmp_path / "sessions" and path.suffix == ".jsonl"
    (s,) = list_sessions(tmp_path / "sessions")
    assert s.status == "finished" and s.imported_from


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON (line 1, column 2"),
    ("42", "the JSON holds a int; expected a list of messages"),
    ('{"foo": 1}', "a JSON object without a message list"),
    ("[]", "holds no messages"),
    ('["hello"]', "message 1 is a str"),
    ('[{"role": "user", "content": "a"}, {"x": 1}]', "message 2 has neither 'role' nor 'content' (keys: x)"),
])
def test_import_errors_are_clear(tmp_path, content, message):
    with pytest.raises(AutogenImportError, match=message.replace("(", r"\(").replace(")", r"\)")) as exc:
        import_autogen(_write(tmp_path, content), tmp_path / "out.jsonl")
    assert exc.value.reason == "import"
    assert not (tmp_path / "out.jsonl").exists()


def test_import_never_overwrites(tmp_path):
    dest = tmp_path / "out.jsonl"
    dest.write_text("precious")
    with pytest.raises(Exception, match="already exists"):
        import_autogen(_write(tmp_path, HISTORY), dest)
    assert dest.read_text() == "precious"
