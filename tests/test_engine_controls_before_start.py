"""Every control asked of a run before it starts (no event loop yet, as a command line's `--task`
does) is kept, takes effect, and is announced once the run has started: after `RunStarted` and
its startup notices, in the order the controls were asked, each exactly once."""

from __future__ import annotations

import asyncio

from headless_support import pair_toml
from tuiagents.app.cli import main
from tuiagents.engine.decisions import DecidedBy
from tuiagents.engine.events import (
    MessageDelivered, MessageQueued, NextSpeakerForced, Notice, RunPaused, RunResumed, RunStarted, StopKind,
    StopRequested, TurnStarted,
)
from tuiagents.engine.factory import build_run
from tuiagents.session.reader import read_session
from tuiagents.testing import Rule

NAMES = ["planner", "coder", "critic"]


def crew_run(server, make_config, tmp_path):
    """A round-robin group chat of three, built outside any event loop."""
    server.load([Rule(agent=n, reply=f"{n} here") for n in NAMES])
    agents = [{"name": n, "kind": "assistant", "model": "default"} for n in NAMES]
    cfg = make_config(agents=agents, teams=[{"name": "crew", "kind": "group_chat", "agents": NAMES,
                                             "speaker_selection": "round_robin", "max_rounds": 2}])
    run = build_run(cfg, "crew", "the task", approve="all", work_dir=tmp_path)
    run.startup_notices.append("a startup notice")
    return run


def kinds(run) -> list[type]:
    return [type(e) for e in run.bus.history]


def after_start(run, kind: type) -> list:
    """The events of `kind`, having checked each came after RunStarted and its notice."""
    history = run.bus.history
    notice = next(i for i, e in enumerate(history) if isinstance(e, Notice) and e.text == "a startup notice")
    assert isinstance(history[0], RunStarted) and notice > 0
    found = [(i, e) for i, e in enumerate(history) if isinstance(e, kind)]
    assert all(i > notice for i, _ in found), kinds(run)
    return [e for _, e in found]


def test_an_inject_for_the_next_turn_is_queued_announced_then_delivered(server, make_config, run_to_end, tmp_path):
    run = crew_run(server, make_config, tmp_path)
    run.inject("mind the edge cases", target="coder")
    result = asyncio.run(run_to_end(run))
    [queued] = after_start(run, MessageQueued)
    assert queued.message.content == "mind the edge cases" and queued.by == DecidedBy.HUMAN
    human = [e for e in after_start(run, MessageDelivered) if e.message.sender == "human"]
    assert [e.message.content for e in human] == ["mind the edge cases"]
    assert run.bus.history.index(queued) < run.bus.history.index(human[0])
    sent = server.requests_for("coder")[0].body["messages"]
    assert any("mind the edge cases" in str(m.get("content")) for m in sent)
    assert result.stop_kind == StopKind.MAX_ROUNDS


def test_an_inject_now_is_delivered_once_the_run_starts(server, make_config, run_to_end, tmp_path):
    run = crew_run(server, make_config, tmp_path)
    run.inject("right away", now=True)
    asyncio.run(run_to_end(run))
    human = [e for e in after_start(run, MessageDelivered) if e.message.sender == "human"]
    assert [e.message.content for e in human] == ["right away"]
    first_turn = next(i for i, e in enumerate(run.bus.history) if isinstance(e, TurnStarted))
    assert run.bus.history.index(human[0]) < first_turn
    assert not after_start(run, MessageQueued)


def test_a_pause_holds_the_first_turn_until_resumed(server, make_config, run_to_end, tmp_path):
    run = crew_run(server, make_config, tmp_path)
    run.pause()

    async def scenario() -> None:
        task = asyncio.ensure_future(run_to_end(run))
        for _ in range(200):
            if any(isinstance(e, RunPaused) for e in run.bus.history):
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        assert not server.chat_requests and not any(isinstance(e, TurnStarted) for e in run.bus.history)
        run.resume()
        await task

    asyncio.run(scenario())
    [paused] = after_start(run, RunPaused)
    assert paused.by == DecidedBy.HUMAN
    assert len(after_start(run, RunResumed)) == 1
    assert server.chat_requests


def test_a_stop_ends_the_run_before_any_turn(server, make_config, run_to_end, tmp_path):
    run = crew_run(server, make_config, tmp_path)
    run.request_stop()
    result = asyncio.run(run_to_end(run))
    [stop] = after_start(run, StopRequested)
    assert stop.by == DecidedBy.HUMAN and stop.reason == ""  # no words of the stopper's own
    assert result.stop_kind == StopKind.STOPPED_BY_USER and result.stop_reason == "stopped by you"
    assert not server.chat_requests and TurnStarted not in kinds(run)


def test_a_forced_next_speaker_speaks_first(server, make_config, run_to_end, tmp_path):
    run = crew_run(server, make_config, tmp_path)
    run.set_next_speaker("critic")
    result = asyncio.run(run_to_end(run))
    [forced] = after_start(run, NextSpeakerForced)
    assert forced.agent == "critic" and forced.by == DecidedBy.HUMAN
    assert [m.sender for m in result.chat_history[1:]][0] == "critic"


def test_controls_are_announced_in_the_order_they_were_asked(server, make_config, run_to_end, tmp_path):
    run = crew_run(server, make_config, tmp_path)
    run.set_next_speaker("critic")
    run.inject("first a note")
    run.request_stop()
    asyncio.run(run_to_end(run))
    controls = [type(e) for e in run.bus.history if isinstance(e, (NextSpeakerForced, MessageQueued, StopRequested))]
    assert controls == [NextSpeakerForced, MessageQueued, StopRequested]


def test_resume_headless_with_a_task_queues_it_and_goes_on(server, tmp_path, capsys):
    server.load([Rule(agent="assistant", reply="Done so far.")])
    config = tmp_path / "config.toml"
    config.write_text(pair_toml(server.url, 1))
    session = tmp_path / "s.jsonl"
    assert main(["run", "--headless", "--config", str(config), "--team", "pair", "--task", "start",
                 "--approve", "all", "--session", str(session)]) == 0
    capsys.readouterr()
    code = main(["resume", str(session), "--headless", "--approve", "all", "--task", "one more thing"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Traceback" not in err
    assert "you queued a message for all for the next turn" in out
    events = read_session(session).events
    queued = [e for e in events if e.type == "message_queued"]
    assert [e.message.content for e in queued] == ["one more thing"]
    delivered = [e.message.content for e in events if e.type == "message_delivered" and e.message.sender == "human"]
    assert delivered == ["one more thing"]
    assert any("one more thing" in str(m.get("content")) for m in server.requests_for("assistant")[-1].body["messages"])
