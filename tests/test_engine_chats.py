"""Chats inside a run: each has its own id, parent, transcript and counters; every event inside it
carries its id; a person's stop ends them all, an inject goes to the chat giving turns, and a log
cut off inside one resumes there. Real engine, LLM client and scripted server; the pattern that
opens the chats is the test's own, run by the unchanged TeamRun."""

from __future__ import annotations

import asyncio

from tuiagents.engine.agent import AssistantAgent, UserProxyAgent
from tuiagents.engine.chats import ChatOutcome, child_chat_id, run_chat
from tuiagents.engine.core import RunCore
from tuiagents.engine.decisions import ROOT_CHAT, Decision, RequestKind
from tuiagents.engine.events import (
    ChatEnded, ChatStarted, DecisionRequested, MessageDelivered, RunStopped, StopKind, TurnStarted, parse_event,
)
from tuiagents.engine.handle import InjectMessage, LocalRunHandle
from tuiagents.engine.patterns import PATTERNS, Pattern
from tuiagents.engine.run import TeamRun
from tuiagents.engine.settings import RunResources, RunSettings
from tuiagents.engine.speaker import Selection
from tuiagents.engine.supervisor import Supervisor
from tuiagents.engine.termination import StopInfo
from tuiagents.engine.view import RunView
from tuiagents.llm import LLMClient, LLMSettings, ModelEntry
from tuiagents.testing import Rule


class TwoChats(Pattern):
    """Two inner chats one after the other, the first's summary carried into the second's task."""

    kind = "two_chats"
    label = "two chats"
    log: list[object] | None = None  # events to resume from (the test sets it)

    def check_team(self, agents) -> None:
        pass

    def stage_over(self, run: RunCore) -> StopInfo | None:
        return None

    async def choose(self, run: RunCore) -> Selection:
        raise AssertionError("the root chat gives no turns")

    async def drive(self, run: RunCore) -> StopInfo:
        carry = ""
        outcome: ChatOutcome | None = None
        for i, (a, b) in enumerate([("user", "writer"), ("user", "critic")], start=1):
            chat = child_chat_id(run.chat, f"stage{i}")
            log = TwoChats.log
            if log is not None and any(isinstance(e, ChatEnded) and e.chat == chat for e in log):
                continue  # ended before the log did
            outcome = await run_chat(run, chat=chat, scope="stage", title=f"stage {i}", index=i,
                                     agents=[run.agents[a], run.agents[b]], task=f"part {i}. {carry}".strip(),
                                     settings=RunSettings(kind="two_agent", max_turns=2),
                                     restore_from=log if log is not None else None)
            if outcome.ends_run:
                return outcome.info
            carry = outcome.summary
        return outcome.info if outcome else StopInfo(StopKind.MAX_TURNS, "nothing to do")


def _run(server, supervisor: str = "all", task: str = "go") -> TeamRun:
    llm = LLMClient([ModelEntry(name="m", model="scripted-model", base_url=server.url, max_retries=0)],
                    LLMSettings(cache_seed=False))
    user = UserProxyAgent("user", human_input_mode="NEVER", default_auto_reply="more")
    return TeamRun([user, AssistantAgent("writer", llm=llm), AssistantAgent("critic", llm=llm)], task,
                   RunSettings(kind="two_chats"), supervisor=Supervisor(supervisor), resources=RunResources(llm=llm))


async def test_each_inner_chat_has_its_id_parent_and_transcript_and_hands_its_summary_on(
        server, run_to_end, monkeypatch):
    monkeypatch.setitem(PATTERNS, TwoChats.kind, TwoChats)
    monkeypatch.setattr(TwoChats, "log", None)
    server.load([Rule(agent="writer", reply="a draft"), Rule(agent="critic", reply="a critique")])
    run = _run(server)
    result = await run_to_end(run)

    events = run.bus.history
    started = [e for e in events if isinstance(e, ChatStarted)]
    ended = [e for e in events if isinstance(e, ChatEnded)]
    assert [(e.chat, e.parent, e.index) for e in started] == [("root/stage1", ROOT_CHAT, 1),
                                                              ("root/stage2", ROOT_CHAT, 2)]
    assert [a.name for a in started[1].agents] == ["user", "critic"]
    assert ended[0].summary == "a draft" and started[1].task == "part 2. a draft"  # the carryover
    assert all(e.kind == StopKind.MAX_TURNS for e in ended)
    # every message says which chat it was in; the writer never speaks in stage 2
    where = [(e.chat, e.message.sender) for e in events if isinstance(e, MessageDelivered)]
    assert ("root/stage1", "writer") in where and ("root/stage2", "critic") in where
    assert ("root/stage2", "writer") not in where
    assert all(e.chat != ROOT_CHAT for e in events if isinstance(e, TurnStarted))
    assert result.chat_history == []  # the root chat itself said nothing
    assert run.usage.total_tokens > 0  # the inner chats' calls count for the run's budgets

    # the view, fed from the log's lines, keeps the chats apart
    view = RunView().apply_all(parse_event(e.model_dump_json()) for e in events)
    assert list(view.chats) == ["root/stage1", "root/stage2"]
    assert [m.sender for m in view.messages_in("root/stage2")] == ["user", "critic", "user", "critic"]
    assert view.messages_in(ROOT_CHAT) == []
    assert view.chats["root/stage1"].summary == "a draft" and view.chats["root/stage1"].turns == 3
    assert [c.id for c in view.chat_path("root/stage2")] == ["root/stage2"]


async def test_a_stop_inside_an_inner_chat_ends_the_run_and_an_inject_goes_to_that_chat(server, monkeypatch):
    monkeypatch.setitem(PATTERNS, TwoChats.kind, TwoChats)
    monkeypatch.setattr(TwoChats, "log", None)
    server.load([Rule(agent="writer", reply="a draft"), Rule(agent="critic", reply="a critique")])
    run = _run(server, supervisor="ask")
    handle = LocalRunHandle(run)
    task = asyncio.ensure_future(run.run())
    try:
        async def request() -> DecisionRequested:
            for _ in range(500):
                if run.pending:
                    return run.pending[0]
                await asyncio.sleep(0.01)
            raise AssertionError("no request came")

        first = await request()
        assert first.chat == first.request.chat == "root/stage1"
        assert first.request.kind == RequestKind.MESSAGE
        assert handle.control(InjectMessage(text="note from me", target="writer")).applied
        # an answer's inject is checked against the asking chat's agents, not the run's
        outside = handle.answer(first.request.id, Decision.inject("psst", target="critic"))
        assert not outside.accepted and "choose one of: all, user, writer" in outside.reason
        assert handle.answer(first.request.id, Decision.approve()).accepted
        await asyncio.sleep(0)
        while run.pending and run.pending[0].request.id == first.request.id:
            await asyncio.sleep(0.01)
        second = await request()
        assert handle.answer(second.request.id, Decision.stop("enough")).accepted
        result = await asyncio.wait_for(task, 10)
    finally:
        await run.aclose()
    assert result.stop_kind == StopKind.STOPPED_BY_USER
    events = run.bus.history
    assert not any(isinstance(e, ChatStarted) and e.chat == "root/stage2" for e in events)
    end = next(e for e in events if isinstance(e, ChatEnded))
    assert (end.chat, end.kind) == ("root/stage1", StopKind.STOPPED_BY_USER)
    injected = next(e for e in events if isinstance(e, MessageDelivered) and e.message.origin == "human"
                    and e.message.content == "note from me")
    assert injected.chat == "root/stage1"
    assert isinstance(events[-1], RunStopped)


async def test_a_log_cut_off_inside_an_inner_chat_resumes_in_it(server, run_to_end, monkeypatch):
    monkeypatch.setitem(PATTERNS, TwoChats.kind, TwoChats)
    monkeypatch.setattr(TwoChats, "log", None)
    server.load([Rule(agent="writer", reply="a draft"), Rule(agent="critic", reply="a critique")])
    first = _run(server)
    await run_to_end(first)
    lines = [parse_event(e.model_dump_json()) for e in first.bus.history]
    # the process died right after the critic's first reply in stage 2
    cut = next(i for i, e in enumerate(lines) if isinstance(e, MessageDelivered) and e.chat == "root/stage2"
               and e.message.sender == "critic")
    log = lines[:cut + 1]

    monkeypatch.setattr(TwoChats, "log", log)
    again = _run(server)
    await run_to_end(again)
    events = again.bus.history
    starts = [e for e in events if isinstance(e, ChatStarted)]
    assert [(e.chat, e.resumed) for e in starts] == [("root/stage2", True)]  # stage 1 had ended
    said = [(e.message.sender, e.message.content) for e in events if isinstance(e, MessageDelivered)]
    assert ("user", "part 2. a draft") not in said  # its task is not delivered again
    assert said == [("user", "more"), ("critic", "a critique")]  # it finished its turns, no more
    view = RunView().apply_all([*log, *events])
    assert [m.sender for m in view.messages_in("root/stage2")] == ["user", "critic", "user", "critic"]


async def test_headless_and_the_cockpit_show_where_each_message_was_said(server, run_to_end, monkeypatch):
    """The console prints each inner chat's start, end and scope; the cockpit gives an agent the
    run's start did not name a pane when it first speaks, and says in the timeline where each chat
    began and ended."""
    import io

    from tuiagents.engine.events import RunStarted
    from tuiagents.headless import ConsolePrinter
    from tuiagents.ui.app import TuiAgentsApp
    from tuiagents.ui.settings import UIOptions

    monkeypatch.setitem(PATTERNS, TwoChats.kind, TwoChats)
    monkeypatch.setattr(TwoChats, "log", None)
    server.load([Rule(agent="writer", reply="a draft"), Rule(agent="critic", reply="a critique")])
    run = _run(server)
    await run_to_end(run)
    events = [parse_event(e.model_dump_json()) for e in run.bus.history]

    out = io.StringIO()
    printer = ConsolePrinter(out)
    for event in events:
        printer(event)
    text = out.getvalue()
    assert "▸ stage 2 begins: two-agent chat of user, critic" in text
    assert "  task: part 2. a draft" in text
    assert "[stage 2] critic:\na critique" in text and "[stage 1] writer:\na draft" in text
    assert "◂ [stage 1] ended: max turns 2 reached\n  summary: a draft" in text

    # the run's start names only two agents: the critic gets its pane when it first speaks
    start = events[0]
    assert isinstance(start, RunStarted)
    events[0] = start.model_copy(update={"agents": [a for a in start.agents if a.name != "critic"]})
    first_critic_turn = next(i for i, e in enumerate(events) if isinstance(e, TurnStarted) and e.agent == "critic")
    app = TuiAgentsApp(events=events[:first_critic_turn], options=UIOptions(bell=False))
    async with app.run_test(size=(160, 48)) as pilot:
        cockpit = app.cockpit
        await pilot.pause()
        assert set(cockpit.panes) == {"user", "writer"}
        cockpit.handle_events(events[first_critic_turn:])
        await pilot.pause()
        assert set(cockpit.panes) == {"user", "writer", "critic"}
        assert cockpit.panes["critic"].is_mounted
        timeline = [getattr(e, "text", "") for e in cockpit.timeline.entries]
        assert any(t.startswith("▸ stage 2 (two-agent chat: user, critic)") for t in timeline)
        assert any(t.startswith("◂ stage 1 ended: max turns 2 reached · summary: a draft") for t in timeline)
