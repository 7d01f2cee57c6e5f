"""The words the feed puts on entries: a block's result and status, a draft's tags once decided,
a human control. The console and transcripts say the same through the engine's own words.
"""

from __future__ import annotations

from typing import Any

from tuiagents.engine.decisions import Decision, DecisionKind, Sender
from tuiagents.engine.events import ExecutionFinished
from tuiagents.engine.view import control_words
from tuiagents.execution.base import EXIT_NOT_RUN
from tuiagents.ui.safe_text import one_line


def result_line(event: ExecutionFinished) -> tuple[str, str]:
    """The line under a finished block, and its tone."""
    took = f"{event.duration:.2f} s"
    if event.exit_code == EXIT_NOT_RUN:  # the sandbox never started it: no exit code to speak of
        return f"✗ not run: {one_line(event.error or 'the executor could not start it', 200)}", "error"
    if event.cancelled:  # by you, by a stop, or by a crash (resume then says why in `error`)
        why = f" · {one_line(event.error, 200)}" if event.error else ""
        return f"■ cancelled after {took} (exit code {event.exit_code}){why}", "warning"
    if event.timed_out:
        return f"■ timed out after {took} (exit code {event.exit_code})", "error"
    text = f"{'✓' if event.exit_code == 0 else '✗'} exit code {event.exit_code} · {took}"
    if event.truncated:
        text += " · output truncated"
    if event.error:
        text += f" · {one_line(event.error, 200)}"
    return text, "success" if event.exit_code == 0 and not event.error else "error"


def finished_status(event: ExecutionFinished) -> tuple[str, str]:
    """The header status of a block that ended: what happened to it, not only that it ended."""
    if event.exit_code == EXIT_NOT_RUN:
        return "not run", "error"
    if event.cancelled:
        return "cancelled", "warning"
    if event.timed_out:
        return "timed out", "error"
    return "finished", "muted"


def control_line(event: Any, viewer: Sender | None = None) -> str:
    """A human control in words (the engine's words: the console and transcripts say the same)."""
    return one_line(control_words(event, viewer), 300)


def message_tags(decision: Decision, viewer: Sender | None = None) -> tuple[list[str], str]:
    """Tags and tone of a draft once decided (from the decision itself, never from old tags);
    who decided is told as `viewer` reads it (`Decision.who`)."""
    d, who = decision, decision.who(viewer)
    if d.kind == DecisionKind.REJECT:
        return [f"rejected by {who}: {one_line(d.content or '', 100)}"], "error"
    if d.kind == DecisionKind.EDIT:
        return [f"edited by {who} · delivering"], "warning"
    if d.kind == DecisionKind.APPROVE:
        scope = " for this session" if d.scope.value != "once" else ""
        return [f"approved{scope} by {who}"], "success"
    if d.kind == DecisionKind.INJECT:
        return [f"{who} injected a message"], "warning"
    if d.kind == DecisionKind.STOP:
        return ["not delivered: stopped"], "error"
    return [d.kind.value], "muted"


def code_status(d: Decision, viewer: Sender | None = None) -> tuple[str, str]:
    """A code block's status and tone once decided (who decided as `viewer` reads it)."""
    who = d.who(viewer)
    return {
        DecisionKind.APPROVE: (f"approved by {who}", "success"),
        DecisionKind.EDIT: (f"edited by {who}, then approved", "warning"),
        DecisionKind.SKIP: (f"skipped by {who}", "muted"),
        DecisionKind.REPLY: (f"not run: {who} replied instead", "muted"),
        DecisionKind.STOP: ("not run: stopped", "error"),
    }.get(d.kind, (d.kind.value, "muted"))
