"""A sequence of chats with carryover (AutoGen's `initiate_chats`): each stage is another team on
its task, and its first message carries the summaries of the stages before it.

Each stage is a chat inside the run (`run_chat`, engine/chats.py) with a stable id
(`root/stage2`), so a log cut off inside stage 2 resumes in stage 2: the stages that had ended
are not run again, their summaries are read from the log's `ChatEnded`. A stage that ends by its
own limit or termination word, or that a person stopped alone (`RunCore.end_chat`), hands its
summary on and the next stage starts; a stop of the run ends the sequence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tuiagents.engine.chats import RUN_WIDE_STOPS, ChatOutcome, child_chat_id, run_chat
from tuiagents.engine.core import RunCore
from tuiagents.engine.events import ChatEnded, ChatStarted, StopKind
from tuiagents.engine.patterns import Pattern, register_pattern
from tuiagents.engine.settings import StageSettings
from tuiagents.engine.speaker import Selection
from tuiagents.engine.termination import StopInfo

__all__ = ["CARRYOVER_HEADING", "SequentialChats", "first_message", "stage_title"]

#: what comes between a stage's task and the summaries it carries (AutoGen's `_process_carryover`)
CARRYOVER_HEADING = "\nContext: \n"


def first_message(task: str, carryover: Sequence[str]) -> str:
    """A stage's first message: its task, then the summaries before it, as AutoGen writes them
    (`task + "\\nContext: \\n" + "\\n".join(summaries)`); the task alone when there are none."""
    carried = [c for c in carryover if c]
    return task + CARRYOVER_HEADING + "\n".join(carried) if carried else task


def stage_title(index: int, stage: StageSettings) -> str:
    """What a person calls stage `index` (from 1): "stage 2: writing"."""
    return f"stage {index}: {stage.team}"


@dataclass
class _LogChats:
    """What a log says about the chats inside one chat: which started, and how each ended last."""

    started: set[str] = field(default_factory=set)
    ended: dict[str, ChatEnded] = field(default_factory=dict)

    @classmethod
    def read(cls, events: list[object] | None, parent: str) -> "_LogChats":
        found = cls()
        for e in events or ():
            if isinstance(e, ChatStarted) and e.parent == parent:
                found.started.add(e.chat)
                found.ended.pop(e.chat, None)  # a resumed stage goes on: its earlier end is not its last
            elif isinstance(e, ChatEnded) and e.chat in found.started:
                found.ended[e.chat] = e
        return found

    def done(self, chat: str) -> ChatEnded | None:
        """How `chat` ended, when it ended on its own (a run-wide stop leaves it to go on)."""
        end = self.ended.get(chat)
        return end if end is not None and end.kind not in RUN_WIDE_STOPS else None


@register_pattern
class SequentialChats(Pattern):
    """Stages one after the other, each another team; a stage's summary is carried to the next."""

    kind = "sequence"
    label = "sequence"

    def check_team(self, agents: Sequence[str]) -> None:
        """A sequence needs stages, and every stage's agents among the run's."""
        if not self.settings.stages:
            raise ValueError("a sequence needs at least one stage")
        for i, stage in enumerate(self.settings.stages, start=1):
            missing = [n for n in stage.agents if n not in agents]
            if missing:
                raise ValueError(f"{stage_title(i, stage)} needs agents {', '.join(missing)}, which the run lacks")

    def limits(self) -> dict[str, int | None]:
        """A sequence has no limits of its own: each stage has its team's."""
        return {}

    def stage_over(self, run: RunCore) -> StopInfo | None:
        """Never asked: a sequence gives no turns itself (see `drive`)."""
        return None

    async def choose(self, run: RunCore) -> Selection:
        """Never asked: a sequence gives no turns itself, its stages do."""
        raise RuntimeError("a sequence gives no turns itself: its stages do")

    async def drive(self, run: RunCore) -> StopInfo:
        """Run the stages in order, each given the summaries before it; skip those a resumed
        log had finished (their summaries are carried from it). The sequence's own task, when
        it has one, is the first stage's carryover (not carried further, as in AutoGen)."""
        log = run.root.state.log
        known = _LogChats.read(log, run.chat)
        carry: list[str] = []  # the summaries so far
        own = [run.task] if run.task.strip() else []  # the first stage's own carryover (AutoGen's)
        stages = self.settings.stages
        outcome: ChatOutcome | None = None
        for i, stage in enumerate(stages, start=1):
            chat = child_chat_id(run.chat, f"stage{i}")
            done = known.done(chat)
            if done is not None:
                carry.append(done.summary)
                continue
            outcome = await run_chat(
                run, chat=chat, scope="stage", title=stage_title(i, stage), index=i,
                agents=[run.agents[n] for n in stage.agents],
                task=first_message(stage.task, (own if i == 1 else []) + carry),
                settings=stage.settings, termination=stage.termination,
                restore_from=log if chat in known.started else None)
            if outcome.ends_run:
                return outcome.info
            carry.append(outcome.summary)
            run.check_stop()  # a stop asked between two stages
        run.state.summary = carry[-1] if carry else ""
        if outcome is None:
            return StopInfo(StopKind.MAX_TURNS, f"all {len(stages)} stages had ended before")
        return StopInfo(outcome.info.kind, f"all {len(stages)} stages done; the last: {outcome.info.reason}")
