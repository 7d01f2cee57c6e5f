"""How a saved run ended, in the words the sessions listing and the F2 browser show.

The log stores a machine-readable stop kind (`stopped_by_user`, `max_rounds`, ...); people read
"stopped" or "over budget", never the code.
"""

from __future__ import annotations

_WORDS = {
    "termination_message": "finished",
    # a turn or round limit is how many AutoGen chats end: the reason says which limit
    "max_turns": "finished",
    "max_rounds": "finished",
    "max_messages": "finished",
    "token_budget": "over budget",
    "cost_budget": "over budget",
    "timeout": "timed out",
    "stopped_by_user": "stopped",  # the reason says by whom
    "external": "stopped",
    "no_reply": "no reply",
    "error": "failed",
}


def outcome_words(status: str, stop_kind: str | None) -> str:
    """A short phrase for how a run ended: its stop kind in words, "interrupted" or "unreadable"."""
    if status == "corrupt":
        return "unreadable"
    if status == "running":
        return "running"
    if status == "interrupted" or not stop_kind:
        return "interrupted" if status == "interrupted" else "stopped"
    return _WORDS.get(stop_kind, stop_kind.replace("_", " "))
