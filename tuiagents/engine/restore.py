"""Rebuilds a TeamRun's state from recorded events, so a run can resume where its log ends.

Pure engine code: it reads typed events (from any source) and sets the transcript, counters,
usage and standing approvals on a freshly built run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from tuiagents.engine.decisions import ApprovalRule, DecidedBy, DecisionKind, Scope
from tuiagents.engine.events import (
    DecisionRecorded, MessageDelivered, MessageQueued, RunStopped, TurnStarted, UsageRecorded,
)
from tuiagents.engine.usage import Usage

if TYPE_CHECKING:
    from tuiagents.engine.run import TeamRun


def restore_state(run: "TeamRun", events: Iterable[object]) -> RunStopped | None:
    """Apply recorded `events` to `run`; return the last RunStopped (None after a crash).

    A run that had stopped continues as a new leg: its turn and round counters start again, so
    limits such as max_turns apply to the continuation. A crashed run keeps its counters and
    finishes where it would have.
    """
    stopped: RunStopped | None = None
    waiting: list = []  # queued human messages not delivered before the log ends
    turns = 0
    last_round = 0
    for ev in events:
        if isinstance(ev, MessageQueued):
            waiting.append(ev.message)
        elif isinstance(ev, MessageDelivered):
            run.transcript.append(ev.message)
            if ev.message in waiting:
                waiting.remove(ev.message)
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
    run.queued = waiting
    run.round = last_round
    run.agent_turns = turns + (1 if stopped is None and run.transcript else 0)
    for agent in run.agents.values():
        agent.consecutive_auto_replies = _trailing_auto_replies(run, agent.name)
    run.resumed = True
    return stopped


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
