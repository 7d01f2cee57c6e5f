"""Rebuilding a run from recorded events: transcript, counters, rules, queued messages."""

from __future__ import annotations

from tuiagents.engine.agent import AssistantAgent, UserProxyAgent
from tuiagents.engine.decisions import ApprovalRule, Decision, RequestKind, Scope
from tuiagents.engine.events import (
    DecisionRecorded, MessageDelivered, MessageQueued, RunStopped, StopKind, TurnStarted, UsageRecorded,
)
from tuiagents.engine.messages import Message
from tuiagents.engine.restore import restore_state
from tuiagents.engine.run import TeamRun


def _run() -> TeamRun:
    return TeamRun([UserProxyAgent("user"), AssistantAgent("coder")], "task")


def _events(stopped: bool):
    task = Message(sender="user", content="task", origin="human")
    note = Message(sender="human", content="use numpy", origin="human", recipient="coder")
    later = Message(sender="human", content="and be brief", origin="human")
    events = [
        MessageDelivered(message=task),
        TurnStarted(agent="coder", round=1),
        UsageRecorded(agent="coder", model="m", prompt_tokens=10, completion_tokens=5, cost=0.5),
        DecisionRecorded(request_id="r1", request_kind=RequestKind.MESSAGE, agent="coder",
                         decision=Decision.approve(scope=Scope.SESSION)),
        DecisionRecorded(request_id="r2", request_kind=RequestKind.CODE, agent="coder",
                         decision=Decision.approve(scope=Scope.RULE, rule=ApprovalRule(
                             kind=RequestKind.CODE, agent="coder", language="python"))),
        MessageQueued(message=note),
        MessageDelivered(message=Message(sender="coder", content="draft")),
        MessageDelivered(message=note),
        MessageQueued(message=later),
    ]
    if stopped:
        events.append(RunStopped(reason="max turns 1 reached", kind=StopKind.MAX_TURNS))
    return events


def test_crashed_run_keeps_counters_and_undelivered_queue():
    run = _run()
    assert restore_state(run, _events(stopped=False)) is None
    assert [m.content for m in run.transcript] == ["task", "draft", "use numpy"]
    assert [m.content for m in run.queued] == ["and be brief"]  # queued, never delivered
    assert (run.round, run.agent_turns) == (1, 2)
    assert (run.usage.prompt_tokens, run.usage.completion_tokens, run.usage.cost) == (10, 5, 0.5)
    assert run.usage_by_agent["coder"].completion_tokens == 5
    kinds = {(r.kind, r.agent, r.language) for r in run.supervisor.rules}
    assert kinds == {(RequestKind.MESSAGE, "coder", None), (RequestKind.CODE, "coder", "python")}
    assert run.resumed


def test_stopped_run_continues_as_a_new_leg():
    run = _run()
    stopped = restore_state(run, _events(stopped=True))
    assert stopped is not None and stopped.kind == StopKind.MAX_TURNS
    assert (run.round, run.agent_turns) == (0, 0)
    assert len(run.transcript) == 3


async def test_queued_inject_is_announced_before_delivery(make_config, server):
    from tuiagents.launch import prepare_run

    server.load([{"agent": "assistant", "reply": "done TERMINATE"}])
    config = make_config(
        agents=[{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER", "default_auto_reply": "go"},
                {"name": "assistant", "kind": "assistant", "model": "default"}],
        teams=[{"name": "pair", "agents": ["user", "assistant"], "max_turns": 2}])
    run = prepare_run(config, "pair", "hello", approve="all", session_path=None)
    seen: list = []
    run.bus.subscribe(seen.append)

    def on_start(event):
        if getattr(event, "type", "") == "run_started":
            run.inject("a note", target="assistant")

    run.bus.subscribe(on_start)
    await run.run()
    await run.aclose()
    types = [(e.type, getattr(getattr(e, "message", None), "content", None)) for e in seen]
    queued = types.index(("message_queued", "a note"))
    delivered = types.index(("message_delivered", "a note"))
    assert queued < delivered
