"""The lines the Markdown and HTML exports share: a decision, how a block ended, a clock, a title."""

from __future__ import annotations

from datetime import datetime, timezone

from tuiagents.engine.decisions import DecisionKind, RequestKind
from tuiagents.session.transcript import DecisionEntry, ExecutionEntry

#: Longer messages are exported verbatim (a fence, a <pre>): rendering them would cost seconds.
MD_MESSAGE_LIMIT = 200_000

WHAT = {RequestKind.MESSAGE: "message", RequestKind.CODE: "code", RequestKind.TOOL_CALL: "tool call",
        RequestKind.HUMAN_INPUT: "input request", RequestKind.SPEAKER: "speaker choice",
        RequestKind.HANDOFF: "handoff"}
VERB = {DecisionKind.APPROVE: "approved", DecisionKind.EDIT: "edited", DecisionKind.REJECT: "rejected",
        DecisionKind.INJECT: "injected a message", DecisionKind.CHOOSE_SPEAKER: "chose the next speaker",
        DecisionKind.STOP: "stopped the run", DecisionKind.REPLY: "replied", DecisionKind.SKIP: "skipped"}


def context_words(config: dict) -> str | None:
    """A log header's `[context]` variables on one line ("company=Acme · days=30"), None without any."""
    context = config.get("context") or {}
    if not isinstance(context, dict) or not context:
        return None
    return " · ".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in context.items())


def decision_line(e: DecisionEntry) -> str:
    """One plain line: "coder's code: approved by human (for this session)"."""
    d = e.decision
    who = d.by.words(human="human")  # a record read by others: not "you"
    verb = "redirected" if e.request_kind == RequestKind.HANDOFF and d.kind == DecisionKind.CHOOSE_SPEAKER \
        else VERB[d.kind]
    text = f"{e.agent}'s {WHAT.get(e.request_kind, e.request_kind.value)}: {verb} by {who}"
    if d.kind == DecisionKind.APPROVE and d.scope.value != "once":
        text += f" (for this session: {d.rule.describe()})" if d.rule else " (for this session)"
    if d.kind == DecisionKind.EDIT and d.original is not None:  # a tool call's arguments: both are kept
        text += f" (arguments {d.original} → {d.content})"
    if d.kind in (DecisionKind.CHOOSE_SPEAKER, DecisionKind.INJECT) and d.target:
        text += f" ({'for ' if d.kind == DecisionKind.INJECT else 'to ' if verb == 'redirected' else ''}{d.target})"
    if d.note:
        text += f" — {d.note}"
    return text


def execution_line(e: ExecutionEntry) -> str:
    """How a block ended: "exit code 0 in 0.4 s", "timed out after 30.0 s", "still running"."""
    if not e.finished:
        return "no end recorded (the run stopped while it ran)"
    took = f" after {e.duration:.1f} s" if e.duration is not None else ""
    how = ("timed out" if e.timed_out else "cancelled" if e.cancelled
           else f"exit code {e.exit_code}" + (f" in {e.duration:.1f} s" if e.duration is not None else ""))
    if e.timed_out or e.cancelled:
        how += took
    if e.truncated:
        how += " (output truncated)"
    if e.error:
        how += f" — {e.error}"
    return how


def clock(ts: float) -> str:
    """`HH:MM:SS` (UTC) of an event timestamp."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%H:%M:%S")


def title(task: str, width: int = 80) -> str:
    """The first line of a task, shortened for a heading."""
    first = task.strip().splitlines()[0] if task.strip() else "(no task)"
    return first if len(first) <= width else first[: width - 1].rstrip() + "…"
