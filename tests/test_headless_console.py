"""The headless console prints from the run view: approvals under their message, controls with who."""

from __future__ import annotations

import io

from tuiagents.engine.decisions import DecidedBy, Decision, DecisionRequest, RequestKind
from tuiagents.engine.events import (
    AgentInfo, DecisionRecorded, DecisionRequested, MessageDelivered, MessageDrafted, MessageQueued,
    NextSpeakerForced, RunPaused, RunResumed, RunStarted, RunStopped, StopKind, StopRequested, TurnStarted,
)
from tuiagents.engine.messages import Message
from tuiagents.headless import ConsolePrinter


def test_the_console_prints_approvals_under_their_message_and_every_control():
    out = io.StringIO()
    printer = ConsolePrinter(out)
    request = DecisionRequest(kind=RequestKind.MESSAGE, agent="coder", content="done")
    note = Message(sender="human", content="check twice", origin="human", recipient="coder")
    for event in [RunStarted(run_id="r", team="t", team_kind="two_agent", task="go",
                             agents=[AgentInfo(name="coder"), AgentInfo(name="user")]),
                  TurnStarted(agent="coder", round=1), MessageDrafted(agent="coder", content="done"),
                  DecisionRequested(request=request), RunPaused(), NextSpeakerForced(agent="user"),
                  MessageQueued(message=note), RunResumed(by=DecidedBy.POLICY),
                  DecisionRecorded(request_id=request.id, request_kind=RequestKind.MESSAGE, agent="coder",
                                   decision=Decision.approve()),
                  MessageDelivered(message=Message(sender="coder", content="done"), round=1),
                  StopRequested(reason="enough", kind=StopKind.STOPPED_BY_USER),
                  RunStopped(reason="enough", kind=StopKind.STOPPED_BY_USER)]:
        printer(event)
    lines = out.getvalue().splitlines()
    assert "  · ⏸ paused by you: the run holds before its next turn" in lines
    assert "  · → user speaks next (picked by you)" in lines
    assert "  · you queued a message for coder for the next turn" in lines
    assert "  · ▶ resumed by policy" in lines
    assert "  · ■ stop requested by you: enough" in lines
    # the approval is printed once, right under the message it let through
    assert lines[lines.index("done") + 1] == "  · message of coder: approved (by you)"
    assert sum("approved" in line for line in lines) == 1
    assert printer.view.stopped and printer.view.pending == []
