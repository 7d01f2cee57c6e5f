"""An AutoGen 0.2 chat history becomes a session that replays and resumes live."""

from __future__ import annotations

import json

from tuiagents.engine.events import MessageDelivered, RunStopped, StopKind
from tuiagents.session.autogen_import import import_autogen
from tuiagents.session.reader import read_session
from tuiagents.app.replay import format_transcript_text
from tuiagents.session.resume import prepare_resume

HISTORY = [
    {"role": "user", "name": "user", "content": "What is 6 times 7?"},
    {"role": "assistant", "name": "assistant", "content": "6 times 7 is 42."},
    {"role": "user", "name": "user", "content": "And times 2?"},
]


async def test_imported_history_replays_and_resumes(tmp_path, make_config, server):
    src = tmp_path / "history.json"
    src.write_text(json.dumps(HISTORY))
    log_path = import_autogen(src, tmp_path / "imported.jsonl")

    text = format_transcript_text(read_session(log_path))
    assert "6 times 7 is 42." in text and "And times 2?" in text

    server.load([{"agent": "assistant", "reply": "84. TERMINATE"}])
    config = make_config(
        agents=[{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER"},
                {"name": "assistant", "kind": "assistant", "model": "default"}],
        teams=[{"name": "pair", "agents": ["user", "assistant"], "max_turns": 3}])
    run = prepare_resume(log_path, config=config, approve="all")
    result = await run.run()
    await run.aclose()

    # The assistant saw the imported conversation, from its own side.
    sent = server.requests_for("assistant")[0].body["messages"]
    assert [(m["role"], m["content"]) for m in sent if m["role"] != "system"] == [
        ("user", "What is 6 times 7?"), ("assistant", "6 times 7 is 42."), ("user", "And times 2?")]
    assert result.stop_kind == StopKind.TERMINATION_MESSAGE
    log = read_session(log_path)
    delivered = [e.message.content for e in log.events if isinstance(e, MessageDelivered)]
    assert delivered[-1] == "84. TERMINATE" and delivered[:3] == [m["content"] for m in HISTORY]
    assert isinstance(log.events[-1], RunStopped)


def test_resume_of_an_import_without_config_explains(tmp_path, capsys):
    from tuiagents.app.cli import main

    src = tmp_path / "history.json"
    src.write_text(json.dumps(HISTORY))
    log_path = import_autogen(src, tmp_path / "imported.jsonl")
    assert main(["resume", str(log_path), "--headless"]) == 2
    assert "pass --config" in capsys.readouterr().err
