"""Synthetic but realistic event sequences, for tests, benchmarks and UI development.

`sample_events(n)` yields the events of a two-agent run (assistant "coder", user proxy "runner")
with `n` delivered messages: turns, streamed tokens, drafts, decisions (approved, edited,
rejected, session-scoped), code proposals and executions, a tool call, usage, a notice and a stop.
Sequence numbers and timestamps are assigned as the engine's bus would.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

from tuiagents.engine.decisions import CodeSnippet, DecidedBy, Decision, DecisionRequest, RequestKind, Scope
from tuiagents.engine.events import (
    AgentInfo, CodeProposed, DecisionRecorded, DecisionRequested, ExecutionFinished, ExecutionOutput,
    ExecutionStarted, MessageDelivered, MessageDrafted, Notice, RunStarted, RunStopped, SpeakerSelected,
    StopKind, TokenDelta, ToolCallFinished, ToolCallStarted, TurnStarted, UsageRecorded,
)
from tuiagents.engine.messages import Message, ToolCall, ToolResult
from tuiagents.session.log import SessionHeader, SessionWriter

SAMPLE_AGENTS = [
    AgentInfo(name="coder", kind="assistant", model="gpt-4o-mini", description="writes code"),
    AgentInfo(name="runner", kind="user_proxy", human_input_mode="TERMINATE", code_execution="docker",
              executor="docker python:3.12-slim"),
]
SAMPLE_TASK = "Plot the first 20 Fibonacci numbers and save fib.png"


def _reply(i: int) -> str:
    if i % 4 == 1:
        return (f"Step {i}: here is the next piece.\n\n```python\nfib = [0, 1]\nfor _ in range({i % 17 + 3}):\n"
                f"    fib.append(fib[-1] + fib[-2])\nprint(fib)\n```\n")
    return f"Message {i}: the plan looks right; I checked the `fib` list and the <b>output</b> matches."


def sample_events(n_messages: int = 10, *, run_id: str = "sample0001", token_deltas: bool = True,
                  stop: bool = True, start_ts: float = 1_700_000_000.0, step: float = 0.05) -> Iterator:
    """Yield the events of a synthetic run with `n_messages` delivered messages."""
    seq = 0
    ts = start_ts

    def emit(ev):
        nonlocal seq, ts
        seq += 1
        ts += step
        ev.seq, ev.ts = seq, round(ts, 3)
        message = getattr(ev, "message", None)
        if message is not None:  # a deterministic id: the same sample is the same log
            message.id = f"m{seq:06d}"
        return ev

    yield emit(RunStarted(run_id=run_id, team="pair", team_kind="two_agent", task=SAMPLE_TASK,
                          agents=SAMPLE_AGENTS, max_rounds=n_messages))
    yield emit(MessageDelivered(message=Message(sender="runner", content=SAMPLE_TASK, origin="human")))
    for i in range(1, n_messages + 1):
        agent = "coder" if i % 2 else "runner"
        yield emit(TurnStarted(agent=agent, round=i))
        if i % 10 == 5:
            yield emit(SpeakerSelected(agent=agent, method="round_robin", round=i))
        text = _reply(i)
        if token_deltas:
            for k in range(0, len(text), 12):
                yield emit(TokenDelta(agent=agent, text=text[k:k + 12]))
        yield emit(MessageDrafted(agent=agent, content=text))
        yield emit(UsageRecorded(agent=agent, model="gpt-4o-mini", prompt_tokens=100 + i,
                                 completion_tokens=len(text) // 4, cost=0.0001, cached=i % 9 == 0))
        req = DecisionRequest(id=f"m{i}", kind=RequestKind.MESSAGE, agent=agent, content=text)
        yield emit(DecisionRequested(request=req))
        delivered = Message(sender=agent, content=text)
        if i % 7 == 3:
            decision = Decision.edit(text.replace("plan", "revised plan"))
            delivered = Message(sender=agent, content=decision.content, human_edited=True, original=text)
        elif i % 11 == 6:
            decision = Decision.reject("please check the edge case n=0")
        elif i == 2:
            decision = Decision.approve(scope=Scope.SESSION)
        else:
            decision = Decision.approve(by=DecidedBy.SESSION_RULE if i > 2 else DecidedBy.HUMAN)
        yield emit(DecisionRecorded(request_id=req.id, request_kind=req.kind, agent=agent, decision=decision))
        if decision.kind.value == "reject":
            yield emit(MessageDelivered(message=Message(sender="human", content=decision.content,
                                                        origin="human", recipient=agent), round=i))
            continue
        yield emit(MessageDelivered(message=delivered, round=i))
        if i % 4 == 1:
            yield from _code_events(emit, agent, i)
        if i % 25 == 10:
            yield from _tool_events(emit, agent, i)
    yield emit(Notice(level="warning", text="rate limited; retried after 1.0s", agent="coder"))
    if stop:
        yield emit(RunStopped(reason=f"reached max_rounds ({n_messages})", kind=StopKind.MAX_ROUNDS,
                              summary="fib.png saved"))


def _code_events(emit, agent: str, i: int) -> Iterator:
    code = f"fib = [0, 1]\nfor _ in range({i % 17 + 3}):\n    fib.append(fib[-1] + fib[-2])\nprint(fib)\n"
    yield emit(CodeProposed(agent=agent, blocks=[CodeSnippet(language="python", code=code)],
                            executor="docker python:3.12-slim"))
    req = DecisionRequest(id=f"c{i}", kind=RequestKind.CODE, agent=agent, content=code,
                          code_blocks=[CodeSnippet(language="python", code=code)])
    yield emit(DecisionRequested(request=req))
    yield emit(DecisionRecorded(request_id=req.id, request_kind=req.kind, agent=agent,
                                decision=Decision.approve()))
    ex = f"x{i}"
    yield emit(ExecutionStarted(exec_id=ex, agent=agent, language="python", code=code, executor="docker"))
    yield emit(ExecutionOutput(exec_id=ex, agent=agent, text="[0, 1, 1, 2, 3, 5, 8]\n"))
    yield emit(ExecutionFinished(exec_id=ex, agent=agent, exit_code=0, duration=0.42))
    yield emit(MessageDelivered(message=Message(sender="runner", content="exitcode: 0\n[0, 1, 1, 2, 3, 5, 8]",
                                                origin="execution", recipient=agent), round=i))


def _tool_events(emit, agent: str, i: int) -> Iterator:
    call = ToolCall(id=f"call{i}", name="search", arguments='{"q": "fibonacci"}')
    yield emit(MessageDelivered(message=Message(sender=agent, tool_calls=[call]), round=i))
    yield emit(ToolCallStarted(agent=agent, call=call))
    result = ToolResult(call_id=call.id, name="search", content="F(n) = F(n-1) + F(n-2)")
    yield emit(ToolCallFinished(agent=agent, result=result))
    yield emit(MessageDelivered(message=Message(sender="runner", tool_results=[result], origin="tool",
                                                recipient=agent), round=i))


def sample_header(run_id: str = "sample0001", **kw) -> SessionHeader:
    """A header matching `sample_events`."""
    fields = dict(created="2023-11-14T22:13:20+00:00", team="pair", team_kind="two_agent",
                  task=SAMPLE_TASK, agents=SAMPLE_AGENTS, config={"teams": [{"name": "pair"}]})
    return SessionHeader(run_id=run_id, **(fields | kw))


def write_sample_session(path: str | os.PathLike, n_messages: int = 10, *, run_id: str = "sample0001",
                         header: SessionHeader | None = None, **kw) -> Path:
    """Write a complete sample log to `path` and return it."""
    with SessionWriter(path, header or sample_header(run_id)) as w:
        for ev in sample_events(n_messages, run_id=run_id, **kw):
            w(ev)
    return Path(path)
