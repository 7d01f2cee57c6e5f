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
    from tuiagents.app.launch import prepare_run

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


def _code_events(*, finished: bool, delivered: bool) -> list:
    """The coder proposes code, a person approves python from coder for the session, the block starts."""
    from tuiagents.engine.events import ExecutionFinished, ExecutionStarted, RunStarted

    code = Message(sender="coder", content="```python\nprint(1)\n```")
    events = [
        RunStarted(run_id="r", team="pair", team_kind="two_agent", task="task", agents=[]),
        MessageDelivered(message=Message(sender="user", content="task", origin="human")),
        MessageDelivered(message=code),
        DecisionRecorded(request_id="r1", request_kind=RequestKind.CODE, agent="coder",
                         decision=Decision.approve(scope=Scope.RULE, rule=ApprovalRule(
                             kind=RequestKind.CODE, agent="coder", language="python"))),
        ExecutionStarted(exec_id="x1", agent="user", language="python", code="print(1)", executor="local",
                         source_agent="coder", block_index=0),
    ]
    if finished:
        events.append(ExecutionFinished(exec_id="x1", agent="user", exit_code=0, duration=0.1))
    if delivered:
        events.append(MessageDelivered(message=Message(sender="user", content="exitcode: 0", origin="execution")))
    return events


def _code_request():
    from tuiagents.engine.decisions import CodeSnippet, DecisionRequest

    return DecisionRequest(kind=RequestKind.CODE, agent="coder", prompt="Run coder's code?",
                           code_blocks=[CodeSnippet(language="python", code="print(1)")])


def test_code_cut_off_by_a_crash_is_asked_again_whatever_the_rules():
    from tuiagents.engine.restore import unfinished_code

    for finished in (False, True):  # running when the process died, or ran but its result was lost
        events = _code_events(finished=finished, delivered=False)
        assert [s.exec_id for s, _ in unfinished_code(events)] == ["x1"]
        run = _run()
        assert restore_state(run, events) is None
        request = _code_request()
        assert run.supervisor.policy_decision(request) is None  # a person decides, not the rule
        assert request.prompt.startswith("This code was running when tuiagents stopped" if not finished
                                         else "This code had run when tuiagents stopped")
        assert request.prompt.endswith("Run coder's code?")
        assert run.supervisor.policy_decision(_code_request()) is not None  # later code: the rule again


def test_the_approve_mode_still_answers_a_cut_off_block():
    run = TeamRun([UserProxyAgent("user"), AssistantAgent("coder")], "task")
    run.supervisor.mode = "none"
    restore_state(run, _code_events(finished=False, delivered=False))
    decision = run.supervisor.policy_decision(_code_request())
    assert decision is not None and decision.kind.value == "skip"


def test_code_whose_result_was_delivered_or_whose_run_stopped_is_not_open():
    from tuiagents.engine.restore import unfinished_code

    assert unfinished_code(_code_events(finished=True, delivered=True)) == []
    stopped = _code_events(finished=True, delivered=False) + [RunStopped(reason="x", kind=StopKind.ERROR)]
    assert unfinished_code(stopped) == []
    run = _run()
    restore_state(run, _code_events(finished=True, delivered=True))
    assert run.supervisor.policy_decision(_code_request()).by.value == "session_rule"


def test_a_crashed_second_leg_is_a_crash_not_the_first_legs_stop():
    from tuiagents.engine.events import RunStarted

    events = _events(stopped=True) + [
        RunStarted(run_id="r", team="pair", team_kind="two_agent", task="task", agents=[], resumed=True),
        TurnStarted(agent="coder", round=1)]
    assert restore_state(_run(), events) is None


def test_a_turn_cut_off_by_a_crash_is_not_counted_twice():
    """The crash cut the coder's reply: resume gives that turn again, so it must not count already
    (a max_turns=1 chat would otherwise stop at once, the coder never having replied)."""
    from tuiagents.engine.events import RunStarted

    task = Message(sender="user", content="task", origin="human")
    events = [RunStarted(run_id="r", team="pair", team_kind="two_agent", task="task", agents=[]),
              MessageDelivered(message=task), TurnStarted(agent="coder", round=1),
              UsageRecorded(agent="coder", model="m", prompt_tokens=10, completion_tokens=5)]
    run = _run()
    assert restore_state(run, events) is None
    assert (run.round, run.agent_turns) == (0, 1)  # as right after the task was delivered
    done = events + [MessageDelivered(message=Message(sender="coder", content="reply"))]
    run = _run()
    restore_state(run, done)
    assert (run.round, run.agent_turns) == (1, 2)
