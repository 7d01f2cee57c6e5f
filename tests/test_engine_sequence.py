"""Sequential chats with carryover (kind = "sequence"): each stage is another team, its first
message is its task followed by the summaries before it (AutoGen's "\\nContext: \\n" + summaries),
a stage's own limit ends only the stage, a run-wide stop ends the sequence, a person can stop
one stage alone, and a log cut off inside a stage resumes in that stage. Real config loading,
engine, `openai` client and scripted server."""

from __future__ import annotations

import asyncio

import pytest

from tuiagents.app.cli import main
from tuiagents.config import ConfigError
from tuiagents.engine.decisions import ROOT_CHAT, Decision, RequestKind
from tuiagents.engine.events import (
    ChatEnded, ChatStarted, DecisionRequested, MessageDelivered, RunStarted, RunStopped, StopKind, StopRequested,
    parse_event,
)
from tuiagents.engine.factory import build_run
from tuiagents.engine.handle import LocalRunHandle, StopChat
from tuiagents.engine.view import RunView, control_words
from tuiagents.testing import Rule

TASKS = ["Find three facts about bees.", "Write a paragraph from the facts.", "Review the paragraph."]


def sequence_config(make_config, *, summary=("last_msg", "reflection", "last_msg"), first_turns=None, **extra):
    """Three two-agent teams (one reply each) and a sequence of them."""
    agents = [{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER", "default_auto_reply": "go on"},
              {"name": "researcher", "kind": "assistant"}, {"name": "writer", "kind": "assistant"},
              {"name": "critic", "kind": "assistant"}]
    teams = [{"name": "research", "agents": ["user", "researcher"], "max_turns": 1},
             {"name": "writing", "agents": ["user", "writer"], "max_turns": 1},
             {"name": "review", "agents": ["user", "critic"], "max_turns": 1},
             {"name": "pipeline", "kind": "sequence", **extra,
              "stages": [{"team": t, "task": task, "summary_method": s}
                         for t, task, s in zip(("research", "writing", "review"), TASKS, summary)]}]
    if first_turns:
        teams[-1]["stages"][0]["max_turns"] = first_turns
    return make_config(agents=agents, teams=teams)


SCRIPT = [Rule(contains="Summarize the takeaway", reply="the paragraph, in short"),
          Rule(agent="researcher", reply="facts: pollen, dance, hive"),
          Rule(agent="writer", reply="Bees carry pollen and dance."),
          Rule(agent="critic", reply="Good paragraph.")]


async def test_three_stages_each_start_with_their_task_and_the_summaries_before_them(
        server, make_config, run_to_end):
    server.load(SCRIPT)
    config = sequence_config(make_config)
    assert config.team("pipeline").agents == ["user", "researcher", "writer", "critic"]  # first-seen order
    run = build_run(config, "pipeline", "", approve="all")
    result = await run_to_end(run)

    events = run.bus.history
    start = events[0]
    assert isinstance(start, RunStarted) and start.team_kind == "sequence"
    assert [a.name for a in start.agents] == ["user", "researcher", "writer", "critic"]
    stages = [e for e in events if isinstance(e, ChatStarted)]
    assert [(e.chat, e.parent, e.index, e.title, e.scope) for e in stages] == [
        ("root/stage1", ROOT_CHAT, 1, "stage 1: research", "stage"),
        ("root/stage2", ROOT_CHAT, 2, "stage 2: writing", "stage"),
        ("root/stage3", ROOT_CHAT, 3, "stage 3: review", "stage")]
    firsts = {e.chat: e.message.content for e in reversed(events) if isinstance(e, MessageDelivered)}
    assert firsts["root/stage1"] == TASKS[0]  # nothing before it to carry
    assert firsts["root/stage2"] == TASKS[1] + "\nContext: \nfacts: pollen, dance, hive"
    assert firsts["root/stage3"] == (TASKS[2] + "\nContext: \nfacts: pollen, dance, hive\n"
                                     "the paragraph, in short")  # stage 2's summary is its reflection
    # what the model was sent is that message, not a copy of the task alone
    critic_saw = server.requests_for("critic")[0].body["messages"]
    assert critic_saw[-1]["content"] == firsts["root/stage3"]
    ended = [e for e in events if isinstance(e, ChatEnded)]
    assert [(e.chat, e.kind, e.summary) for e in ended] == [
        ("root/stage1", StopKind.MAX_TURNS, "facts: pollen, dance, hive"),
        ("root/stage2", StopKind.MAX_TURNS, "the paragraph, in short"),
        ("root/stage3", StopKind.MAX_TURNS, "Good paragraph.")]
    # each stage's agents speak only in it; the run ends after the last stage, with its summary
    said = {(e.chat, e.message.sender) for e in events if isinstance(e, MessageDelivered)}
    assert ("root/stage1", "researcher") in said and ("root/stage3", "critic") in said
    assert not any(chat != "root/stage2" and who == "writer" for chat, who in said)
    assert isinstance(events[-1], RunStopped) and events[-1].summary == "Good paragraph." == result.summary
    assert "all 3 stages done" in result.stop_reason and result.stop_kind == StopKind.MAX_TURNS


async def test_the_run_task_is_the_first_stage_carryover_and_a_termination_word_ends_only_its_stage(
        server, make_config, run_to_end):
    server.load([Rule(agent="researcher", reply="facts found. TERMINATE"), *SCRIPT[2:]])
    config = sequence_config(make_config, summary=("last_msg", "last_msg", "last_msg"), first_turns=5)
    run = build_run(config, "pipeline", "topic: honey bees", approve="all")
    await run_to_end(run)
    events = run.bus.history
    first = next(e for e in events if isinstance(e, MessageDelivered))
    assert first.message.content == TASKS[0] + "\nContext: \ntopic: honey bees"
    ended = [e for e in events if isinstance(e, ChatEnded)]
    assert [e.chat for e in ended] == ["root/stage1", "root/stage2", "root/stage3"]
    assert ended[0].kind == StopKind.TERMINATION_MESSAGE  # the stage ended, not the sequence
    # as AutoGen's last_msg summary, without the word: carried on, it must not end stage 2 at once
    assert ended[0].summary == "facts found."
    stage2 = [(e.message.sender, e.message.content) for e in events
              if isinstance(e, MessageDelivered) and e.chat == "root/stage2"]
    assert stage2 == [("user", TASKS[1] + "\nContext: \nfacts found."), ("writer", "Bees carry pollen and dance.")]


async def _request(run, chat: str) -> DecisionRequested:
    for _ in range(1000):
        waiting = [p for p in run.pending if p.request.chat == chat and p.future is not None and not p.future.done()]
        if waiting:
            return waiting[0]
        await asyncio.sleep(0.01)
    raise AssertionError(f"no request came in {chat}")


async def test_a_stage_stopped_alone_hands_on_and_the_next_stage_runs_but_a_run_stop_ends_all(
        server, make_config):
    server.load(SCRIPT)
    run = build_run(sequence_config(make_config, summary=("last_msg",) * 3), "pipeline", "", approve="ask")
    handle = LocalRunHandle(run)
    task = asyncio.ensure_future(run.run())
    try:
        first = await _request(run, "root/stage1")
        assert handle.answer(first.request.id, Decision.approve()).accepted
        draft = await _request(run, "root/stage2")  # the writer's draft waits
        assert draft.request.kind == RequestKind.MESSAGE
        done = handle.control(StopChat())
        assert done.applied, done.reason
        third = await _request(run, "root/stage3")  # the sequence went on
        assert handle.control(StopChat(chat="root/stage1")).applied is False  # it is over
        assert handle.answer(third.request.id, Decision.stop("enough")).accepted
        result = await asyncio.wait_for(task, 10)
    finally:
        await run.aclose()
    events = run.bus.history
    ended = {e.chat: e for e in events if isinstance(e, ChatEnded)}
    assert ended["root/stage2"].kind == StopKind.CHAT_STOPPED
    assert ended["root/stage3"].kind == StopKind.STOPPED_BY_USER and result.stop_kind == StopKind.STOPPED_BY_USER
    stop = next(e for e in events if isinstance(e, StopRequested))
    assert (stop.chat, stop.kind) == ("root/stage2", StopKind.CHAT_STOPPED)
    assert control_words(stop).startswith("■ stop of this stage alone requested by")
    # the draft stopped alone was never delivered; stage 3 carried stage 2's summary (its task)
    assert not any(isinstance(e, MessageDelivered) and e.message.sender == "writer" for e in events)
    stage3 = next(e for e in events if isinstance(e, ChatStarted) and e.chat == "root/stage3")
    assert stage3.task == TASKS[2] + "\nContext: \nfacts: pollen, dance, hive\n" + TASKS[1] + \
        "\nContext: \nfacts: pollen, dance, hive"
    # the view tells a stage stopped alone from a run that is stopping
    view = RunView().apply_all(events[:events.index(stop) + 1])
    assert view.chats["root/stage2"].stop_requested == stop and not view.stop_requested


async def test_a_log_cut_off_inside_stage_two_resumes_in_stage_two(server, make_config, run_to_end, tmp_path):
    from tuiagents.app.launch import prepare_run
    from tuiagents.session.resume import prepare_resume

    server.load(SCRIPT)
    config = sequence_config(make_config, summary=("last_msg",) * 3)
    path = tmp_path / "seq.jsonl"
    first = prepare_run(config, "pipeline", "", approve="all", session_path=str(path))
    await run_to_end(first)
    lines = path.read_text().splitlines()
    # the process died just after stage 2's task was delivered, before the writer answered
    cut = next(i for i, line in enumerate(lines) if '"message_delivered"' in line and '"root/stage2"' in line)
    path.write_text("\n".join(lines[:cut + 1]) + "\n")
    server.clear_requests()

    again = prepare_resume(path, approve="all")
    await run_to_end(again)
    events = again.bus.history
    new = events[next(i for i, e in enumerate(events) if isinstance(e, RunStarted) and e.resumed):]
    from tuiagents.engine.events import Notice
    assert any(isinstance(e, Notice) and "resumed after 3 messages" in e.text for e in new)  # stage 1's and 2's
    starts = [(e.chat, e.resumed) for e in new if isinstance(e, ChatStarted)]
    assert starts == [("root/stage2", True), ("root/stage3", False)]  # stage 1 is not run again
    assert server.requests_for("researcher") == []
    said = [(e.chat, e.message.sender) for e in new if isinstance(e, MessageDelivered)]
    assert said[0] == ("root/stage2", "writer")  # the task is not delivered again
    stage3 = next(e for e in new if isinstance(e, ChatStarted) and e.chat == "root/stage3")
    assert stage3.task == TASKS[2] + "\nContext: \nfacts: pollen, dance, hive\nBees carry pollen and dance."
    # the whole log now reads as one run of three stages
    view = RunView().apply_all(parse_event(line) for line in path.read_text().splitlines()[1:])
    assert [c.id for c in view.chats.values()] == ["root/stage1", "root/stage2", "root/stage3"]
    assert all(not c.open for c in view.chats.values())
    assert [m.sender for m in view.messages_in("root/stage2")] == ["user", "writer"]


@pytest.mark.parametrize(("teams", "words"), [
    ([{"name": "loop", "kind": "sequence", "stages": [{"team": "loop", "task": "x"}]}],
     "teams[2].stages: sequence 'loop' contains itself directly: loop → loop"),
    ([{"name": "a", "kind": "sequence", "stages": [{"team": "pair", "task": "x"}, {"team": "b", "task": "y"}]},
      {"name": "b", "kind": "sequence", "stages": [{"team": "a", "task": "z"}]}],
     "teams[2].stages: sequence 'a' contains itself through 'b': a → b → a"),
    ([{"name": "s", "kind": "sequence", "stages": [{"team": "nope", "task": "x"}]}],
     "teams[2].stages[0].team: sequence 's' names team 'nope', which is not defined"),
    ([{"name": "s", "kind": "sequence", "stages": []}], "teams[2]: a sequence team needs stages"),
    ([{"name": "s", "agents": ["u", "v"], "stages": [{"team": "pair", "task": "x"}]}],
     'stages are for kind = "sequence" teams'),
])
def test_bad_sequences_are_config_errors_naming_the_loop(tmp_path, capsys, teams, words):
    data = {"agents": [{"name": "u", "kind": "user_proxy"}, {"name": "v", "kind": "user_proxy"}],
            "teams": [{"name": "pair", "agents": ["u", "v"]}, {"name": "pair2", "agents": ["v", "u"]}, *teams]}
    path = tmp_path / "config.toml"
    path.write_text(_toml(data))
    code = main(["run", "--headless", "--config", str(path), "--team", "pair", "--task", "x", "--approve", "all",
                 "--session", str(tmp_path / "s.jsonl")])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert words in err and "Traceback" not in err + out
    assert not (tmp_path / "s.jsonl").exists()
    from tuiagents.config import load_config
    with pytest.raises(ConfigError):
        load_config(path)


def _toml(data: dict) -> str:
    """Arrays of tables as TOML (enough for these configs: strings, lists, inline tables)."""
    def value(v):
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return f'"{v}"'
    return "".join(f"[[{section}]]\n" + "".join(f"{k} = {value(v)}\n" for k, v in item.items())
                   for section, items in data.items() for item in items)


async def test_exports_show_each_stage_its_task_its_messages_and_the_summary_it_handed_on(
        server, make_config, run_to_end, tmp_path):
    import json

    from tuiagents.app.launch import prepare_run
    from tuiagents.session.export import export_session

    server.load(SCRIPT)
    path = tmp_path / "seq.jsonl"
    await run_to_end(prepare_run(sequence_config(make_config), "pipeline", "", approve="all",
                                 session_path=str(path)))
    md = export_session(path, "md")
    heads = [md.index(f"### ▸ stage {i}: {team}") for i, team in enumerate(("research", "writing", "review"), 1)]
    assert heads == sorted(heads)
    ends = [md.index(f"**◂ stage {i}: {team} ended**") for i, team in enumerate(("research", "writing", "review"), 1)]
    assert heads[0] < ends[0] < heads[1] < ends[1] < heads[2] < ends[2]
    assert md.index("facts: pollen, dance, hive") < ends[0]  # the researcher's message inside stage 1
    assert "Summary handed on:" in md[ends[1]:heads[2]] and "the paragraph, in short" in md[ends[1]:heads[2]]
    html = export_session(path, "html")
    assert html.count('<h3 class="chat">▸ stage') == 3 and "◂ stage 2: writing ended" in html
    data = json.loads(export_session(path, "json"))
    chats = [(e["chat"], e["ended"]) for e in data["transcript"]["entries"] if e["kind"] == "chat"]
    assert chats == [("root/stage1", False), ("root/stage1", True), ("root/stage2", False), ("root/stage2", True),
                     ("root/stage3", False), ("root/stage3", True)]
    said = [(e["chat"], e["sender"]) for e in data["transcript"]["entries"] if e["kind"] == "message"]
    assert ("root/stage2", "writer") in said and ("root/stage1", "researcher") in said


async def test_a_stage_stopped_while_its_model_is_slow_ends_at_once_and_the_next_stage_runs(
        server, make_config, run_to_end):
    from tuiagents.engine.events import TurnStarted
    from tuiagents.testing import Fault

    server.load([Rule(agent="writer", reply="too late", fault=Fault.slow(delay=30)), *SCRIPT])
    run = build_run(sequence_config(make_config, summary=("last_msg",) * 3), "pipeline", "", approve="all")
    task = asyncio.ensure_future(run.run())
    try:
        for _ in range(1000):  # the writer's model call is under way
            if any(isinstance(e, TurnStarted) and e.chat == "root/stage2" and e.agent == "writer"
                   for e in run.bus.history):
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        assert run.stop_chat() == "root/stage2"
        result = await asyncio.wait_for(task, 10)  # not the 30 s the model would take
    finally:
        await run.aclose()
    ended = {e.chat: e.kind for e in run.bus.history if isinstance(e, ChatEnded)}
    assert ended == {"root/stage1": StopKind.MAX_TURNS, "root/stage2": StopKind.CHAT_STOPPED,
                     "root/stage3": StopKind.MAX_TURNS}
    assert result.stop_kind == StopKind.MAX_TURNS and result.summary == "Good paragraph."
    assert not any(isinstance(e, MessageDelivered) and e.message.content == "too late" for e in run.bus.history)


async def test_a_stage_may_be_another_sequence_with_its_own_stages_inside(server, make_config, run_to_end):
    server.load(SCRIPT)
    agents = [{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER", "default_auto_reply": "go on"},
              {"name": "researcher", "kind": "assistant"}, {"name": "writer", "kind": "assistant"},
              {"name": "critic", "kind": "assistant"}]
    teams = [{"name": "research", "agents": ["user", "researcher"], "max_turns": 1},
             {"name": "writing", "agents": ["user", "writer"], "max_turns": 1},
             {"name": "review", "agents": ["user", "critic"], "max_turns": 1},
             {"name": "draft", "kind": "sequence", "stages": [{"team": "writing", "task": "Draft."},
                                                              {"team": "review", "task": "Review."}]},
             {"name": "outer", "kind": "sequence", "stages": [{"team": "research", "task": "Research."},
                                                              {"team": "draft", "task": "Draft and review."}]}]
    run = build_run(make_config(agents=agents, teams=teams), "outer", "", approve="all")
    assert [a for a in run.agents] == ["user", "researcher", "writer", "critic"]
    result = await run_to_end(run)
    started = [(e.chat, e.parent) for e in run.bus.history if isinstance(e, ChatStarted)]
    assert started == [("root/stage1", ROOT_CHAT), ("root/stage2", ROOT_CHAT),
                       ("root/stage2/stage1", "root/stage2"), ("root/stage2/stage2", "root/stage2")]
    inner_first = next(e.task for e in run.bus.history if isinstance(e, ChatStarted) and e.chat == "root/stage2/stage1")
    # the inner sequence's task (with the outer carryover) is its first stage's context
    assert inner_first == "Draft.\nContext: \nDraft and review.\nContext: \nfacts: pollen, dance, hive"
    ends = {e.chat: e.summary for e in run.bus.history if isinstance(e, ChatEnded)}
    assert ends["root/stage2"] == ends["root/stage2/stage2"] == "Good paragraph." == result.summary


async def test_a_fork_inside_stage_two_goes_on_from_there_and_leaves_the_original_alone(
        server, make_config, run_to_end, tmp_path):
    from tuiagents.app.launch import prepare_run
    from tuiagents.session.fork import fork_session
    from tuiagents.session.resume import prepare_resume

    server.load(SCRIPT)
    path = tmp_path / "seq.jsonl"
    await run_to_end(prepare_run(sequence_config(make_config, summary=("last_msg",) * 3), "pipeline", "",
                                 approve="all", session_path=str(path)))
    lines = path.read_text().splitlines()[1:]
    at = next(i for i, line in enumerate(lines, start=1) if '"chat_started"' in line and '"root/stage2"' in line)
    before = path.read_bytes()
    fork = fork_session(path, at + 1)  # the fork ends just after stage 2's task
    again = prepare_resume(fork, approve="all")
    await run_to_end(again)
    assert path.read_bytes() == before
    new = [e for e in again.bus.history if e.seq > at + 1]
    assert [(e.chat, e.resumed) for e in new if isinstance(e, ChatStarted)] == [("root/stage2", True),
                                                                               ("root/stage3", False)]
    assert [e.chat for e in new if isinstance(e, ChatEnded)] == ["root/stage2", "root/stage3"]


async def test_stage_tasks_are_filled_from_the_context_and_an_unknown_variable_is_named_at_load(
        server, make_config, run_to_end, tmp_path, capsys):
    server.load(SCRIPT)
    config = sequence_config(make_config).model_copy(update={"context": {"insect": "honey bees"}})
    stages = [s.model_copy(update={"task": "Find three facts about {insect}."}) if s.team == "research" else s
              for s in config.team("pipeline").stages]
    teams = [t.model_copy(update={"stages": stages}) if t.name == "pipeline" else t for t in config.teams]
    run = build_run(config.model_copy(update={"teams": teams}), "pipeline", "", approve="all")
    await run_to_end(run)
    first = next(e for e in run.bus.history if isinstance(e, MessageDelivered))
    assert first.message.content == "Find three facts about honey bees."

    data = {"agents": [{"name": "u", "kind": "user_proxy"}, {"name": "v", "kind": "user_proxy"}],
            "teams": [{"name": "pair", "agents": ["u", "v"]},
                      {"name": "s", "kind": "sequence", "stages": [{"team": "pair", "task": "about {insct}"}]}]}
    path = tmp_path / "config.toml"
    path.write_text('[context]\ninsect = "bees"\n' + _toml(data))
    code = main(["run", "--headless", "--config", str(path), "--team", "s", "--approve", "all",
                 "--session", str(tmp_path / "s.jsonl")])
    err = capsys.readouterr().err
    assert code == 2 and "teams[1].stages[0].task (team 's' stage 1 task): unknown context variable {insct}" in err


async def test_a_reflection_summary_that_ends_with_the_termination_word_does_not_end_the_next_stage(
        server, make_config, run_to_end):
    server.load([Rule(contains="Summarize the takeaway", reply="the paragraph, in short. TERMINATE"), *SCRIPT[1:]])
    run = build_run(sequence_config(make_config), "pipeline", "", approve="all")
    await run_to_end(run)
    ended = {e.chat: e for e in run.bus.history if isinstance(e, ChatEnded)}
    assert ended["root/stage2"].summary == "the paragraph, in short."
    assert ended["root/stage3"].kind == StopKind.MAX_TURNS  # the critic spoke; the word did not end it
    said = [(e.message.sender, e.message.content) for e in run.bus.history
            if isinstance(e, MessageDelivered) and e.chat == "root/stage3"]
    assert ("critic", "Good paragraph.") in said
