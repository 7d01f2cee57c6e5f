"""Rebuilds a TeamRun's state from recorded events, so a run can resume where its log ends.

Pure engine code: it reads typed events (from any source) and sets the transcript, counters,
usage and standing approvals on a freshly built run. Code that ran (or was running) when the
process died, without its result reaching the conversation, is never run again on a rule's say-so:
the next request to run that agent's code is asked (or left to the approve mode).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from tuiagents.engine.decisions import (
    ApprovalRule, DecidedBy, DecisionKind, RequestKind, Scope, reserve_request_ids,
)
from tuiagents.engine.events import (
    DecisionRecorded, ExecutionFinished, ExecutionStarted, MessageDelivered, MessageQueued, RunStarted,
    RunStopped, TurnStarted, UsageRecorded,
)
from tuiagents.engine.usage import Usage

if TYPE_CHECKING:
    from tuiagents.engine.run import TeamRun


def restore_state(run: "TeamRun", events: Iterable[object]) -> RunStopped | None:
    """Apply recorded `events` to `run`; return the last RunStopped (None after a crash).

    A run that had stopped continues as a new leg: its turn and round counters start again, so
    limits such as max_turns apply to the continuation. A crashed run keeps its counters and
    finishes where it would have; a turn the crash cut off before it delivered a message is not
    counted, since the resumed run gives it again.
    """
    events = list(events)
    stopped: RunStopped | None = None
    waiting: list = []  # queued human messages not delivered before the log ends
    turns = 0
    last_round = 0
    settled = (0, 0)  # (turns, round) when the last message was delivered
    for ev in events:
        if isinstance(ev, MessageQueued):
            waiting.append(ev.message)
        elif isinstance(ev, MessageDelivered):
            run.transcript.append(ev.message)
            if ev.message in waiting:
                waiting.remove(ev.message)
            settled = (turns, last_round)
        elif isinstance(ev, TurnStarted):
            turns += 1
            last_round = max(last_round, ev.round)
        elif isinstance(ev, UsageRecorded):
            for u in (run.usage, run.usage_by_agent.setdefault(ev.agent, Usage())):
                u.add_event(ev)
        elif isinstance(ev, DecisionRecorded):
            rule = _standing_rule(ev)
            if rule is not None:
                run.supervisor.add_rule(rule)
        elif isinstance(ev, RunStopped):
            stopped = ev
            turns, last_round = 0, 0
            settled = (0, 0)
        elif isinstance(ev, RunStarted):
            stopped = None  # a new leg: only its own stop counts
    if stopped is None:
        # a turn the crash cut off before it delivered anything is given again: not counted yet
        turns, last_round = settled
    run.state.queued = waiting
    run.state.round = last_round
    run.state.agent_turns = turns + (1 if stopped is None and run.transcript else 0)
    for agent in run.agents.values():
        agent.consecutive_auto_replies = _trailing_auto_replies(run, agent.name)
    run.state.resumed = True
    reserve_request_ids(getattr(ev, "request_id", None) or getattr(getattr(ev, "request", None), "id", "")
                        for ev in events)
    cut: dict[str | None, bool] = {}  # source agent -> a block was cut off mid-run
    for started, finished in unfinished_code(events):
        cut[started.source_agent] = cut.get(started.source_agent, False) or finished is None
    for source, running in cut.items():
        what = "was running" if running else "had run"
        run.supervisor.ask_again(RequestKind.CODE, source,
                                 f"This code {what} when tuiagents stopped (crash?), and its result "
                                 "never reached the agents: it may have partly run.")
    return stopped


def unfinished_code(events: Iterable[object]) -> list[tuple[ExecutionStarted, ExecutionFinished | None]]:
    """Blocks whose result never reached the conversation: (started, finished or None if cut off).

    A block's story ends when its executor delivers the execution message; a log that stops
    between `ExecutionStarted` and that message was cut off by a crash (after a `RunStopped`
    nothing is open: a stopped run already told its blocks' ends).
    """
    open_: dict[str, tuple[ExecutionStarted, ExecutionFinished | None]] = {}
    for ev in events:
        if isinstance(ev, ExecutionStarted):
            open_[ev.exec_id] = (ev, None)
        elif isinstance(ev, ExecutionFinished) and ev.exec_id in open_:
            open_[ev.exec_id] = (open_[ev.exec_id][0], ev)
        elif isinstance(ev, MessageDelivered) and ev.message.origin == "execution":
            open_ = {k: v for k, v in open_.items() if v[0].agent != ev.message.sender}
        elif isinstance(ev, RunStopped):
            open_ = {}
    return list(open_.values())


def _standing_rule(ev: DecisionRecorded) -> ApprovalRule | None:
    d = ev.decision
    if d.kind != DecisionKind.APPROVE or d.by != DecidedBy.HUMAN:
        return None
    if d.scope == Scope.RULE and d.rule is not None:
        return d.rule
    if d.scope == Scope.SESSION:
        return ApprovalRule(kind=ev.request_kind, agent=ev.agent)
    return None


def _trailing_auto_replies(run: "TeamRun", name: str) -> int:
    count = 0
    for m in reversed(run.transcript):
        if m.sender != name:
            continue
        if m.origin == "human":
            break
        count += 1
    return count
