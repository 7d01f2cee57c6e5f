"""Termination conditions (alone and composed with | and &), budgets, timeout, external stop,
and pausing a run."""

from __future__ import annotations

import asyncio

from tuiagents.engine.decisions import DecidedBy, DecisionKind, RequestKind
from tuiagents.engine.events import DecisionRecorded, MessageDelivered, RunStopped, StopKind, TurnStarted
from tuiagents.engine.factory import build_run
from tuiagents.engine.termination import (
    AllOf, AnyOf, MaxMessages, TextMention, TokenBudget,
)
from tuiagents.testing import Fault, Reply, Rule, Usage

AGENTS = [{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER", "default_auto_reply": "go on"},
          {"name": "assistant", "kind": "assistant", "model": "default"}]
PRICE = [1000.0, 2000.0]  # USD per 1M tokens: 100 prompt + 50 completion tokens cost $0.20


def team(**kw) -> list[dict]:
    return [{"name": "pair", "agents": ["user", "assistant"], "max_turns": 20, **kw}]


def metered(text: str = "working") -> Reply:
    return Reply(content=text, usage=Usage(prompt_tokens=100, completion_tokens=50))


def stopped(run) -> RunStopped:
    last = run.bus.history[-1]
    assert isinstance(last, RunStopped)
    return last


async def test_text_mention_from_config(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=["thinking", "we are DONE here", "more"])])
    cfg = make_config(agents=AGENTS, teams=team(termination_text="DONE"))
    run = build_run(cfg, "pair", "t", approve="all", work_dir=tmp_path)
    result = await run_to_end(run)
    assert result.stop_kind == StopKind.TERMINATION_MESSAGE
    assert result.stop_reason == "assistant said DONE"
    assert result.chat_history[-1].content == "we are DONE here"
    assert stopped(run).reason == result.stop_reason


async def test_max_messages_from_config(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", reply="working")])
    cfg = make_config(agents=AGENTS, teams=team(max_messages=5))
    result = await run_to_end(build_run(cfg, "pair", "t", approve="all", work_dir=tmp_path))
    assert (result.stop_kind, result.stop_reason) == (StopKind.MAX_MESSAGES, "max messages 5 reached")
    assert len(result.chat_history) == 5


async def test_or_stops_on_the_first_condition(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=["a", "b", "FINISHED", "c"])])
    run = build_run(make_config(agents=AGENTS, teams=team()), "pair", "t", approve="all", work_dir=tmp_path)
    run.termination = TextMention("FINISHED") | MaxMessages(100)
    assert isinstance(run.termination, AnyOf)
    result = await run_to_end(run)
    assert result.stop_reason == "assistant said FINISHED"

    server.load([Rule(agent="assistant", replies=["a", "b", "FINISHED", "c"])])
    run = build_run(make_config(agents=AGENTS, teams=team()), "pair", "t", approve="all", work_dir=tmp_path)
    run.termination = TextMention("FINISHED") | MaxMessages(3)
    result = await run_to_end(run)
    assert result.stop_reason == "max messages 3 reached"


async def test_and_waits_for_every_condition(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=["FINISHED", "more", "more", "more"])])
    run = build_run(make_config(agents=AGENTS, teams=team()), "pair", "t", approve="all", work_dir=tmp_path)
    run.termination = TextMention("FINISHED", sources=["assistant"]) & MaxMessages(6)
    assert isinstance(run.termination, AllOf)
    result = await run_to_end(run)
    # FINISHED came in message 2; the run went on until the message count was reached too
    assert len(result.chat_history) == 6
    assert result.stop_reason == "assistant said FINISHED and max messages 6 reached"
    assert result.stop_kind == StopKind.MAX_MESSAGES


async def test_text_mention_sources_filter(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=["a", "b"])])
    cfg = make_config(agents=[{**AGENTS[0], "default_auto_reply": "STOP now"}, AGENTS[1]], teams=team(max_turns=2))
    run = build_run(cfg, "pair", "t", approve="all", work_dir=tmp_path)
    run.termination = TextMention("STOP", sources=["assistant"])
    result = await run_to_end(run)
    assert result.stop_reason == "max turns 2 reached"  # the user's STOP does not count


async def test_token_budget(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", reply=metered())])
    cfg = make_config(agents=AGENTS, teams=team(max_tokens=400))
    result = await run_to_end(build_run(cfg, "pair", "t", approve="all", work_dir=tmp_path))
    assert result.stop_kind == StopKind.TOKEN_BUDGET
    assert result.stop_reason == "token budget 400 reached (450 used)"
    assert len(server.requests_for("assistant")) == 3
    assert result.usage.total_tokens == 450


async def test_cost_budget_uses_the_model_price(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", reply=metered())])
    cfg = make_config(agents=AGENTS, teams=team(max_cost=0.5),
                      models=[{"name": "default", "model": "scripted-model", "price": PRICE}])
    result = await run_to_end(build_run(cfg, "pair", "t", approve="all", work_dir=tmp_path))
    assert result.stop_kind == StopKind.COST_BUDGET
    assert result.stop_reason == "cost budget $0.5000 reached ($0.6000 spent)"
    assert abs(result.usage.cost - 0.6) < 1e-9


async def test_composed_budget_names_the_one_that_fired(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", reply=metered())])
    run = build_run(make_config(agents=AGENTS, teams=team()), "pair", "t", approve="all", work_dir=tmp_path)
    run.termination = (TextMention("never said") | TokenBudget(10_000)) | MaxMessages(4)
    result = await run_to_end(run)
    assert result.stop_reason == "max messages 4 reached"


async def test_wall_clock_timeout(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", reply="slow answer", fault=Fault.slow(delay=0.15))])
    cfg = make_config(agents=AGENTS, teams=team(timeout=0.1))
    result = await run_to_end(build_run(cfg, "pair", "t", approve="all", work_dir=tmp_path))
    assert result.stop_kind == StopKind.TIMEOUT
    assert result.stop_reason == "time limit 0.1 s reached"
    assert [m.sender for m in result.chat_history] == ["user"]  # the slow reply never arrived


async def test_another_program_stops_the_run_saying_why(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", reply="working")])
    run = build_run(make_config(agents=AGENTS, teams=team()), "pair", "t", approve="all", work_dir=tmp_path)

    def on_event(event):
        if isinstance(event, MessageDelivered) and event.message.sender == "assistant":
            run.request_stop("the budget service said no", StopKind.EXTERNAL)

    run.bus.subscribe(on_event)
    result = await run_to_end(run)
    assert (result.stop_kind, result.stop_reason) == (StopKind.EXTERNAL, "the budget service said no")
    assert len(result.chat_history) == 2


async def test_request_stop_answers_the_pending_request(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", reply="draft")])
    run = build_run(make_config(agents=AGENTS, teams=team()), "pair", "t", approve="ask", work_dir=tmp_path)

    async def stopper():
        while not run.pending:
            await asyncio.sleep(0.005)
        run.request_stop()

    task = asyncio.create_task(stopper())
    result = await run_to_end(run)
    await task
    assert (result.stop_kind, result.stop_reason) == (StopKind.STOPPED_BY_USER, "stopped by you")
    recorded = [e for e in run.bus.history if isinstance(e, DecisionRecorded)]
    assert [(e.request_kind, e.decision.kind) for e in recorded] == [(RequestKind.MESSAGE, DecisionKind.STOP)]
    assert recorded[0].decision.by == DecidedBy.HUMAN
    assert run.pending == []
    assert [m.sender for m in result.chat_history] == ["user"]  # the draft was never delivered


async def test_request_stop_during_a_model_call(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", reply="too late", fault=Fault.slow(delay=30))])
    run = build_run(make_config(agents=AGENTS, teams=team()), "pair", "t", approve="all", work_dir=tmp_path)

    def on_event(event):
        if isinstance(event, TurnStarted):
            asyncio.get_running_loop().call_later(0.05, run.request_stop)

    run.bus.subscribe(on_event)
    result = await run_to_end(run, timeout=10)
    assert (result.stop_kind, result.stop_reason) == (StopKind.STOPPED_BY_USER, "stopped by you")
    assert [m.sender for m in result.chat_history] == ["user"]
    assert isinstance(run.bus.history[-1], RunStopped)


async def test_pause_holds_the_next_turn_until_resume(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", reply="hi")])
    cfg = make_config(agents=AGENTS, teams=team(max_turns=2))
    run = build_run(cfg, "pair", "t", approve="all", work_dir=tmp_path)
    delivered = asyncio.Event()

    def on_event(event):
        if isinstance(event, MessageDelivered) and event.message.sender == "assistant" and not delivered.is_set():
            run.pause()
            delivered.set()

    run.bus.subscribe(on_event)
    turns_while_paused: list[int] = []

    async def resumer():
        await delivered.wait()
        await asyncio.sleep(0.1)
        assert run.paused
        turns_while_paused.append(sum(isinstance(e, TurnStarted) for e in run.bus.history))
        run.resume()

    task = asyncio.create_task(resumer())
    result = await run_to_end(run)
    await task
    assert turns_while_paused == [1]  # only the assistant's first turn started while paused
    assert result.stop_reason == "max turns 2 reached" and len(result.chat_history) == 4


async def test_stop_releases_a_paused_run(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", reply="hi")])
    run = build_run(make_config(agents=AGENTS, teams=team()), "pair", "t", approve="all", work_dir=tmp_path)
    run.pause()
    asyncio.get_running_loop().call_later(0.05, run.request_stop)
    result = await run_to_end(run, timeout=5)
    assert result.stop_reason == "stopped by you"
    assert server.requests_for("assistant") == []


async def test_timeout_fires_during_a_slow_model_call(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", reply="too late", fault=Fault.slow(delay=30))])
    cfg = make_config(agents=AGENTS, teams=team(timeout=0.2))
    run = build_run(cfg, "pair", "t", approve="all", work_dir=tmp_path)
    result = await run_to_end(run, timeout=10)  # without a timer the run would wait for the reply
    assert (result.stop_kind, result.stop_reason) == (StopKind.TIMEOUT, "time limit 0.2 s reached")
    assert [m.sender for m in result.chat_history] == ["user"]


async def test_timeout_fires_while_a_person_deliberates(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", reply="draft")])
    cfg = make_config(agents=AGENTS, teams=team(timeout=0.2))
    run = build_run(cfg, "pair", "t", approve="ask", work_dir=tmp_path)  # nobody answers
    result = await run_to_end(run, timeout=10)
    assert result.stop_reason == "time limit 0.2 s reached"
    assert run.pending == []
    [rec] = [e for e in run.bus.history if isinstance(e, DecisionRecorded)]
    assert rec.decision.kind == DecisionKind.STOP
    assert rec.decision.by == DecidedBy.POLICY  # the time limit decided, not a person


async def test_a_timeout_under_and_is_not_enforced_alone(server, make_config, run_to_end, tmp_path):
    from tuiagents.engine.termination import Timeout

    server.load([Rule(agent="assistant", reply="slow", fault=Fault.slow(delay=0.3))])
    run = build_run(make_config(agents=AGENTS, teams=team()), "pair", "t", approve="all", work_dir=tmp_path)
    run.termination = Timeout(0.1) & MaxMessages(4)
    result = await run_to_end(run)
    assert len(result.chat_history) == 4
    assert result.stop_reason == "time limit 0.1 s reached and max messages 4 reached"
