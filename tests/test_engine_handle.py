"""The run boundary: views answer requests by id and send typed controls, each saying who sent
it, through a handle; the first answer wins and a later one learns who gave it. Real engine, LLM
client and scripted server."""

from __future__ import annotations

import asyncio

from pydantic import TypeAdapter

from tuiagents.engine.decisions import Decision, Sender
from tuiagents.engine.events import (
    CodeCancelRequested, DecisionRecorded, DecisionRequested, MessageQueued, NextSpeakerForced, RunPaused,
    RunResumed, StopRequested, parse_event,
)
from tuiagents.engine.factory import build_run
from tuiagents.engine.handle import (
    CancelCode, Control, ForceNextSpeaker, InjectMessage, LocalRunHandle, PauseRun, ResumeRun, StopRun,
)
from tuiagents.engine.view import control_words
from tuiagents.testing import Rule

ANN = Sender(user="ann", client="cockpit")
BOB = Sender(user="bob", client="attached")


def _pair(make_config, **user):
    return make_config(agents=[{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER",
                                "default_auto_reply": "go on", **user},
                               {"name": "assistant", "kind": "assistant", "model": "default"}],
                       teams=[{"name": "pair", "agents": ["user", "assistant"], "max_turns": 3}])


async def _request(run) -> DecisionRequested:
    for _ in range(500):
        if run.pending:
            return run.pending[0]
        await asyncio.sleep(0.01)
    raise AssertionError("no request came")


async def test_the_first_answer_wins_and_the_second_learns_who_gave_it(server, make_config, tmp_path):
    server.load([Rule(agent="assistant", reply="done TERMINATE")])
    run = build_run(_pair(make_config), "pair", "task", approve="ask", work_dir=tmp_path)
    handle = LocalRunHandle(run)
    task = asyncio.ensure_future(run.run())
    try:
        request = (await _request(run)).request
        assert handle.is_open(request.id)
        first = handle.answer(request.id, Decision.approve(), ANN)
        second = handle.answer(request.id, Decision.reject("no"), BOB)
        assert first.accepted and not second.accepted
        assert second.answered_by == ANN and "answered already by ann (cockpit)" in second.reason
        assert not handle.is_open(request.id)
        unknown = handle.answer("r-none", Decision.approve(), BOB)
        assert not unknown.accepted and "no such request" in unknown.reason
        await asyncio.wait_for(task, 10)
    finally:
        await run.aclose()

    recorded = next(e for e in run.bus.history if isinstance(e, DecisionRecorded) and e.request_id == request.id)
    assert recorded.decision.sender == ANN and recorded.decision.content is None  # Bob's reject never counted
    # after the run, a late answer is told it was answered, by whom, from the events
    late = handle.answer(request.id, Decision.approve(), BOB)
    assert not late.accepted and late.answered_by == ANN
    assert [e.seq for e in handle.events_since(recorded.seq - 1)][0] == recorded.seq


async def test_an_answer_after_another_views_stop_is_told_the_run_was_stopped_by_whom(server, make_config, tmp_path):
    server.load([Rule(agent="assistant", reply="done TERMINATE")])
    run = build_run(_pair(make_config), "pair", "task", approve="ask", work_dir=tmp_path)
    handle = LocalRunHandle(run)
    task = asyncio.ensure_future(run.run())
    try:
        request = (await _request(run)).request
        assert handle.control(StopRun(), BOB).applied
        await asyncio.wait_for(task, 10)
    finally:
        await run.aclose()
    late = handle.answer(request.id, Decision.reject("no"), ANN)
    assert not late.accepted and late.answered_by == BOB
    assert late.reason == "it was stopped by bob (attached)"  # a stop, not an answer


async def test_every_control_is_announced_with_who_sent_it(server, make_config, tmp_path):
    server.load([Rule(agent="assistant", reply="```python\nimport time; time.sleep(30)\n```")])
    cfg = _pair(make_config, code_execution="local")
    run = build_run(cfg, "pair", "task", approve="all", work_dir=tmp_path)
    handle = LocalRunHandle(run)
    assert handle.control(PauseRun(), ANN).applied  # before the run starts: kept, announced once it has
    assert not handle.control(PauseRun(), BOB).applied
    task = asyncio.ensure_future(run.run())
    try:
        await asyncio.sleep(0.2)
        assert handle.control(ForceNextSpeaker(agent="assistant"), BOB).applied
        refused = handle.control(ForceNextSpeaker(agent="nobody"), BOB)
        assert not refused.applied and "no agent named 'nobody'" in refused.reason
        assert handle.control(InjectMessage(text="use code", target="assistant"), ANN).applied
        assert not handle.control(CancelCode(), ANN).applied  # nothing runs yet
        assert handle.control(ResumeRun(), ANN).applied
        for _ in range(500):  # the local block sleeps: cancel it
            if run.control.executing:
                break
            await asyncio.sleep(0.02)
        assert handle.control(CancelCode(), BOB).applied
        await asyncio.sleep(0.2)
        assert handle.control(StopRun(reason="enough"), ANN).applied
        await asyncio.wait_for(task, 20)
    finally:
        await run.aclose()
    assert not handle.control(PauseRun(), ANN).applied  # a stopped run takes no control

    controls = [e for e in run.bus.history if isinstance(
        e, (RunPaused, RunResumed, NextSpeakerForced, MessageQueued, CodeCancelRequested, StopRequested))]
    assert [(type(e).__name__, e.sender) for e in controls] == [
        ("RunPaused", ANN), ("NextSpeakerForced", BOB), ("MessageQueued", ANN), ("RunResumed", ANN),
        ("CodeCancelRequested", BOB), ("StopRequested", ANN)]
    assert control_words(controls[4]) == "✕ cancel of the running code requested by bob (attached)"
    assert all(parse_event(e.model_dump_json()) == e for e in controls)  # they survive the log


def test_controls_and_answers_are_serialisable():
    adapter = TypeAdapter(Control)
    for control in (PauseRun(), ResumeRun(), StopRun(reason="x"), InjectMessage(text="hi", now=True),
                    ForceNextSpeaker(agent="a"), CancelCode()):
        assert adapter.validate_json(adapter.dump_json(control)) == control
    decision = Decision.approve(sender=ANN)
    assert Decision.model_validate_json(decision.model_dump_json()).sender == ANN


async def test_an_answer_that_cannot_answer_its_request_is_refused_at_once_and_the_next_one_taken(server, make_config, tmp_path):
    # skip does not answer a draft: the handle refuses it at once, saying why, and it stays open
    server.load([Rule(agent="assistant", reply="done TERMINATE")])
    run = build_run(_pair(make_config), "pair", "task", approve="ask", work_dir=tmp_path)
    handle = LocalRunHandle(run)
    task = asyncio.ensure_future(run.run())
    try:
        first = await _request(run)
        skipped = handle.answer(first.request.id, Decision.skip(), ANN)
        assert not skipped.accepted and "skip does not answer a message request" in skipped.reason
        assert handle.is_open(first.request.id) and run.pending[0] is first
        # an inject for an agent the chat lacks is refused at once too, naming the chat's agents
        ghost = handle.answer(first.request.id, Decision.inject("hi", target="ghost"), ANN)
        assert not ghost.accepted and "no agent named 'ghost'" in ghost.reason
        assert "all, user, assistant" in ghost.reason
        assert handle.is_open(first.request.id) and run.pending[0] is first
        assert handle.answer(first.request.id, Decision.approve(), BOB).accepted
        await asyncio.wait_for(task, 10)
    finally:
        await run.aclose()
    recorded = next(e for e in run.bus.history if isinstance(e, DecisionRecorded))
    assert recorded.decision.sender == BOB and recorded.decision.kind.value == "approve"
