"""The fixed shape of a run (its pattern's kind, limits, speaker selection) and the resources it releases."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal, Protocol, Union

if TYPE_CHECKING:
    from tuiagents.execution.base import CodeExecutor
    from tuiagents.llm.client import LLMClient

#: A custom speaker selection: ``fn(last_speaker, run)`` returns the next agent's name (or None).
SpeakerFunction = Callable[[str, Any], Union[str, None]]


@dataclass
class RunSettings:
    """How a team runs: its kind and name, its limits and how the next speaker is chosen."""

    #: the pattern that runs the team: a kind of `patterns.PATTERNS`
    kind: str = "two_agent"
    team_name: str = "team"
    #: Two-agent chats: turns per agent before the run stops (None: no limit).
    max_turns: int | None = None
    #: Group chats: rounds before the run stops.
    max_rounds: int = 12
    speaker_selection: str | SpeakerFunction = "auto"
    allow_repeat_speaker: bool = True
    allowed_transitions: dict[str, list[str]] | None = None
    disallowed_transitions: dict[str, list[str]] | None = None
    #: The model entry that picks speakers in "auto" mode (default: the first agent's).
    selector_model: str | None = None
    #: How many answers the selector model gets before round robin takes over.
    selector_attempts: int = 3
    summary_method: Literal["last_msg", "reflection"] = "last_msg"
    #: Seeds `random` speaker selection (tests and replays).
    seed: int | None = None
    #: The `[context]` variables the run's texts were filled from (announced in RunStarted).
    context: dict[str, str] = field(default_factory=dict)


class SessionSink(Protocol):
    """The session log writer a run closes when it is done (the session layer provides it)."""

    def close(self) -> None:
        """Flush and release the log."""


@dataclass
class RunResources:
    """What a run owns and releases in `aclose()`: executors, the model client, the session log."""

    executors: list["CodeExecutor"] = field(default_factory=list)
    work_dir: Path | None = None
    llm: "LLMClient | None" = None
    session_path: Path | None = None
    session_writer: SessionSink | None = None
