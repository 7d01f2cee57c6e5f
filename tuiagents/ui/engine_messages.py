"""Engine events as Textual messages: one message class per event family, and the bus bridge.

The engine calls `EngineBridge` (an event-bus subscriber) on the asyncio loop it shares with the
app; the bridge posts the matching message to the cockpit screen. Every message carries the typed
event unchanged, and every handler passes it to the same entry point
(`CockpitScreen.handle_event`) that replay feeds from a session log.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message
from textual.message_pump import MessagePump

from tuiagents.engine import events as ev


class EngineEvent(Message, bubble=False):
    """Base of the engine messages; `event` is the engine's typed event."""

    def __init__(self, event: Any) -> None:
        super().__init__()
        self.event = event


class RunLifecycle(EngineEvent):
    """The run started or stopped."""


class TurnActivity(EngineEvent):
    """A turn: speaker selected, turn started, tokens streamed, message drafted."""


class DecisionActivity(EngineEvent):
    """A request waits for a decision, or a decision was recorded."""


class ConversationActivity(EngineEvent):
    """A message was delivered to the conversation."""


class ToolActivity(EngineEvent):
    """A tool call started or finished."""


class CodeActivity(EngineEvent):
    """Code was proposed, started, printed output or finished."""


class UsageActivity(EngineEvent):
    """Tokens and cost of an LLM call."""


class NoticeActivity(EngineEvent):
    """Something worth telling a person."""


_FAMILY: dict[type, type[EngineEvent]] = {
    ev.RunStarted: RunLifecycle, ev.RunStopped: RunLifecycle,
    ev.SpeakerSelected: TurnActivity, ev.TurnStarted: TurnActivity, ev.TokenDelta: TurnActivity,
    ev.MessageDrafted: TurnActivity,
    ev.DecisionRequested: DecisionActivity, ev.DecisionRecorded: DecisionActivity,
    ev.MessageDelivered: ConversationActivity,
    ev.ToolCallStarted: ToolActivity, ev.ToolCallFinished: ToolActivity,
    ev.CodeProposed: CodeActivity, ev.ExecutionStarted: CodeActivity, ev.ExecutionOutput: CodeActivity,
    ev.ExecutionFinished: CodeActivity,
    ev.UsageRecorded: UsageActivity,
    ev.Notice: NoticeActivity,
}


def message_for(event: Any) -> EngineEvent:
    """The Textual message carrying `event` (its family's class)."""
    return _FAMILY.get(type(event), EngineEvent)(event)


class EngineBridge:
    """An event-bus subscriber that posts every event to `target` as a Textual message."""

    def __init__(self, target: MessagePump) -> None:
        self.target = target
        self.posted = 0

    def __call__(self, event: Any) -> None:
        """Post `event` (called by the engine's bus, in order, on the app's loop)."""
        self.posted += 1
        self.target.post_message(message_for(event))
