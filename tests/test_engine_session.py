"""Session log round trip: a run prepared by `prepare_run` writes every event, `read_session`
gives the same typed events back, and the API key never reaches the file."""

from __future__ import annotations

from tuiagents.engine.decisions import Decision, RequestKind
from tuiagents.engine.events import DecisionRequested, MessageDelivered, RunStarted, RunStopped
from tuiagents.app.launch import prepare_run
from tuiagents.session.reader import read_session
from tuiagents.testing import Reply, Rule

SECRET = "sk-test-Zq9XwV7utS5rQ3pO1nM"
AGENTS = [{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER", "default_auto_reply": "go on"},
          {"name": "assistant", "kind": "assistant", "model": "default"}]
TEAMS = [{"name": "pair", "agents": ["user", "assistant"], "max_turns": 4}]


def dumps(events) -> list[dict]:
    return [e.model_dump(mode="json") for e in events]


async def test_log_round_trip_gives_the_same_typed_events(server, make_config, human, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=["a rough draft", Reply.tool("nope", x=1), "done. TERMINATE"])])
    path = tmp_path / "logs" / "run.jsonl"
    run = human.attach(prepare_run(make_config(agents=AGENTS, teams=TEAMS), "pair", "the task",
                                   approve="ask", session_path=path))
    human.queue(RequestKind.MESSAGE, Decision.edit("a clean draft"), Decision.approve(), Decision.approve())
    human.queue(RequestKind.TOOL_CALL, Decision.approve())
    result = await run_to_end(run)
    assert run.session_path == path and path.is_file()

    log = read_session(path, token_deltas=False)
    assert log.notice is None and log.finished
    assert log.header.run_id == run.run_id and log.header.team == "pair" and log.header.task == "the task"
    assert [a.name for a in log.header.agents] == ["user", "assistant"]
    assert log.header.config["teams"][0]["name"] == "pair"

    assert [type(e) for e in log.events] == [type(e) for e in run.bus.history]
    assert dumps(log.events) == dumps(run.bus.history)
    kinds = {e.type for e in log.events}
    assert {"run_started", "turn_started", "message_drafted", "decision_requested", "decision_recorded",
            "message_delivered", "tool_call_finished", "usage", "run_stopped"} <= kinds
    asked = [e for e in log.events if isinstance(e, DecisionRequested)]
    assert asked and all(e.future is None for e in asked)  # read back: nothing to resolve
    edited = [e.message for e in log.events if isinstance(e, MessageDelivered) and e.message.human_edited]
    assert [(m.content, m.original) for m in edited] == [("a clean draft", "a rough draft")]
    assert isinstance(log.events[0], RunStarted) and isinstance(log.events[-1], RunStopped)
    assert log.run_stopped.reason == result.stop_reason

    # streamed deltas are kept in the log too, in order, between the events they belong to
    full = read_session(path)
    deltas = [e for e in full.events if e.type == "token_delta"]
    assert "".join(d.text for d in deltas if d.agent == "assistant").startswith("a rough draft")
    assert [e.seq for e in full.events] == sorted(e.seq for e in full.events)


async def test_api_key_never_reaches_the_log(server, make_config, run_to_end, tmp_path, monkeypatch):
    monkeypatch.setenv("TUIAGENTS_TEST_KEY", SECRET)
    # the model even echoes the key back, split over several stream chunks
    server.load([Rule(agent="assistant", reply=f"my key is {SECRET[:10]} {SECRET} TERMINATE")])
    cfg = make_config(agents=AGENTS, teams=TEAMS,
                      models=[{"name": "default", "model": "scripted-model", "api_key_env": "TUIAGENTS_TEST_KEY"}])
    path = tmp_path / "run.jsonl"
    run = prepare_run(cfg, "pair", f"use {SECRET}", approve="all", session_path=path)
    result = await run_to_end(run)

    auth = {k.lower(): v for k, v in server.chat_requests[0].headers.items()}["authorization"]
    assert auth == f"Bearer {SECRET}"  # the key was really used
    assert SECRET in result.chat_history[-1].content  # and really in the conversation
    raw = path.read_bytes()
    assert SECRET.encode() not in raw
    assert b"TUIAGENTS_TEST_KEY" in raw  # the variable's name is fine, its value is not
    log = read_session(path)
    assert log.finished and log.run_stopped.reason == "assistant said TERMINATE"
    assert all(SECRET not in e.model_dump_json() for e in log.events)


async def test_group_chat_with_code_round_trips(server, make_config, run_to_end, tmp_path):
    names = ["user", "coder", "critic"]
    cfg = make_config(
        agents=[{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER", "code_execution": "local"},
                {"name": "coder", "kind": "assistant", "model": "default"},
                {"name": "critic", "kind": "assistant", "model": "default"}],
        teams=[{"name": "crew", "kind": "group_chat", "agents": names, "speaker_selection": "auto", "max_rounds": 3}],
        local_execution={"timeout": 20})
    server.load([Rule(agent="speaker_selector", replies=["coder", "user", "critic"]),
                 Rule(agent="coder", reply="```python\nprint('hi from code')\n```"),
                 Rule(agent="critic", reply="Output is right. TERMINATE")])
    path = tmp_path / "crew.jsonl"
    run = prepare_run(cfg, "crew", "print hi", approve="all", session_path=path)
    result = await run_to_end(run)
    assert result.stop_reason == "critic said TERMINATE"

    log = read_session(path, token_deltas=False)
    assert dumps(log.events) == dumps(run.bus.history)
    kinds = [e.type for e in log.events]
    for kind in ("speaker_selected", "code_proposed", "execution_started", "execution_output",
                 "execution_finished"):
        assert kind in kinds, kind
    assert log.header.team_kind == "group_chat"
    assert (path.with_suffix(".work")).is_dir()  # the code's work dir sits beside the log
