"""Rebuilds a TeamRun's state from recorded events, so a run can resume where its log ends.

Pure engine code: it folds typed events (from any source) into the run view, then sets the
transcript, counters, usage and standing approvals on a freshly built run from it. Code that ran
(or was running) when the process died, without its result reaching the conversation, is never run
again on a rule's say-so: the next request to run that agent's code is asked (or left to the
approve mode).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Iterable

from tuiagents.engine.decisions import (
    ROOT_CHAT, ApprovalRule, DecidedBy, DecisionKind, RequestKind, Scope, reserve_request_ids,
)
from tuiagents.engine.events import DecisionRecorded, ExecutionFinished, ExecutionStarted, RunStopped
from tuiagents.engine.view import RunView

if TYPE_CHECKING:
    from tuiagents.engine.run import TeamRun


def restore_state(run: "TeamRun", events: Iterable[object]) -> RunStopped | None:
    """Apply recorded `events` to `run`; return the last RunStopped (None after a crash).

    The events are folded once (`RunView`); this copies what the run needs from the view. A run
    that had stopped continues as a new leg: its turn and round counters start again, so limits
    such as max_turns apply to the continuation. A crashed run keeps its counters and finishes
    where it would have; a turn the crash cut off before it delivered a message is not counted,
    since the resumed run gives it again.
    """
    view = RunView().apply_all(events)
    stopped = view.stopped_event
    run.transcript.extend(view.messages_in(ROOT_CHAT))
    run.state.usage = replace(view.usage)
    run.state.usage_by_agent = {name: replace(u) for name, u in view.usage_by_agent.items()}
    for recorded in view.decisions:
        rule = _standing_rule(recorded)
        if rule is not None:
            run.supervisor.add_rule(rule)
    # queued human messages not delivered before the log ends wait for the next turn again
    run.state.queued = [m for eid in view.queued.values() if (m := view.entries[eid].message) is not None]
    # a turn the crash cut off before it delivered anything is given again: not counted yet
    turns, last_round = (view.leg.turns, view.leg.round) if stopped is not None else view.leg.settled
    run.state.round = last_round
    run.state.agent_turns = turns + (1 if stopped is None and run.transcript else 0)
    for agent in run.agents.values():
        agent.consecutive_auto_replies = _trailing_auto_replies(run, agent.name)
    run.state.resumed = True
    reserve_request_ids([*view.requests, *(d.request_id for d in view.decisions)])
    cut: dict[str | None, bool] = {}  # source agent -> a block was cut off mid-run
    for x in view.unfinished_code():
        cut[x.started.source_agent] = cut.get(x.started.source_agent, False) or x.finished is None
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
    return [(x.started, x.finished) for x in RunView().apply_all(events).unfinished_code()]


def _standing_rule(ev: DecisionRecorded) -> ApprovalRule | None:
    d = ev.decision
    if d.kind != DecisionKind.APPROVE or d.by != DecidedBy.HUMAN:
        return None
    if d.scope in (Scope.RULE, Scope.SESSION) and d.rule is not None:
        return d.rule  # a session approval recorded with its rule (a tool call's names its tool)
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
