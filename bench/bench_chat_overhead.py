"""The engine's own cost per turn inside a later stage of a sequence, against a flat two-agent chat.

Issue 17: a turn inside a chat of the run (stage 3 of a sequence, after two stages whose summaries
it carries) must cost the engine within 1.2x of a turn of a flat two-agent chat. To measure the
engine alone, the model is an in-process fake at the client boundary (an object with
`LLMClient.complete`'s signature that returns a fixed `Completion` at once: no HTTP, no SDK), so
what is timed is the loop, the turns, the decision gate (policy approvals, recorded), the events
and the bus; the session log is not attached (`bench_session_write.py` measures it).

Both variants run the same pair (a user proxy that answers with its default reply, an assistant
on the fake model) for `--turns` agent turns (default 400) in the measured chat; the sequence's
first two stages run 4 turns each and are not timed. A turn's cost is the time from the measured
chat's first `TurnStarted` to its last event, divided by its turns. The variants run round-robin
(`--rounds`, default 7) so load falls on both alike; the medians and their ratio are printed.

Run: ``python bench/bench_chat_overhead.py [--turns N] [--rounds N]``. Timing lives here, never in
a test assertion.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from typing import Any

from tuiagents.engine.agent import AssistantAgent, UserProxyAgent
from tuiagents.engine.events import TurnStarted
from tuiagents.engine.run import TeamRun
from tuiagents.engine.settings import RunSettings, StageSettings
from tuiagents.engine.supervisor import Supervisor
from tuiagents.llm.client import Completion

REPLY = ("Here is a paragraph of a realistic length for a chat message between agents, with a few "
         "clauses, a list of steps, and some code-ish words like `def main()` and `print(x)`. ") * 2


class FakeLLM:
    """The client boundary, in process: every call answers `REPLY` at once, with usage."""

    async def complete(self, messages: list[dict[str, Any]], *, entry: str | None = None, tools: Any = None,
                       agent: str = "", on_delta: Any = None, on_discard: Any = None, stream: Any = None,
                       response_format: Any = None) -> Completion:
        """One fixed completion."""
        return Completion(content=REPLY, model="fake", entry=entry or "fake", prompt_tokens=10 * len(messages),
                          completion_tokens=40, finish_reason="stop")

    async def aclose(self) -> None:
        """Nothing to release."""


def _agents(llm: FakeLLM) -> list:
    return [UserProxyAgent("user", human_input_mode="NEVER", default_auto_reply="Go on, please."),
            AssistantAgent("assistant", llm=llm, model="fake")]


def flat_run(turns: int) -> TeamRun:
    """A two-agent chat of `turns` agent turns."""
    llm = FakeLLM()
    return TeamRun(_agents(llm), "Write it.", RunSettings(kind="two_agent", max_turns=turns // 2 + 1),
                   supervisor=Supervisor("all"))


def sequence_run(turns: int) -> TeamRun:
    """Three stages of the same pair; the third (measured) runs `turns` agent turns."""
    llm = FakeLLM()
    stages = [StageSettings(team="pair", task=f"Part {i}.", agents=["user", "assistant"],
                            settings=RunSettings(kind="two_agent", max_turns=n))
              for i, n in ((1, 2), (2, 2), (3, turns // 2 + 1))]
    return TeamRun(_agents(llm), "", RunSettings(kind="sequence", stages=stages), supervisor=Supervisor("all"))


async def per_turn(run: TeamRun, chat: str) -> tuple[float, int]:
    """Seconds per turn of `chat` in `run` (from its first TurnStarted to its last event)."""
    marks: list[tuple[float, bool]] = []

    def watch(event: Any) -> None:
        if event.chat == chat:
            marks.append((time.perf_counter(), isinstance(event, TurnStarted)))

    run.bus.subscribe(watch)
    gc.collect()
    await run.run()
    await run.aclose()
    first = next(t for t, turn in marks if turn)
    n = sum(1 for _, turn in marks if turn)
    return (marks[-1][0] - first) / n, n


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    flat: list[float] = []
    staged: list[float] = []
    for _ in range(args.rounds):
        t, n1 = await per_turn(flat_run(args.turns), "root")
        flat.append(t)
        t, n2 = await per_turn(sequence_run(args.turns), "root/stage3")
        staged.append(t)
    f, s = statistics.median(flat), statistics.median(staged)
    print(f"engine cost per turn, fake model in process, {args.rounds} rounds, medians:")
    print(f"  flat two-agent chat      {f * 1e6:8.1f} µs/turn ({n1} turns)")
    print(f"  stage 3 of a sequence    {s * 1e6:8.1f} µs/turn ({n2} turns)")
    print(f"  ratio                    {s / f:8.2f}x (goal ≤ 1.20x)")


if __name__ == "__main__":
    asyncio.run(main())
