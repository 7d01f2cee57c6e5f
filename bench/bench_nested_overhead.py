"""The engine's own cost per turn inside a nested chat, against a flat two-agent chat.

Both runs deliver the same number of messages with the same number of model calls, supervised by
the "approve all" policy, with an in-process model at the client boundary (a `complete()` that
answers at once: no HTTP, no tokens streamed), so what is timed is the engine alone: turns, reply
steps, the gate, events and the bus history.

- ``flat``: a two-agent chat (``user`` with a fixed auto reply, ``writer`` with the model) of
  2N + 3 messages.
- ``nested``: ``user`` answers the writer's draft with a nested chat with ``critic`` of N turns
  (2N messages), then the writer replies once more: 3 messages in the root chat, 2N inside.

It reports the median wall time per delivered message of each over R rounds (the variants
alternate, so drift affects both alike) and their ratio; issue 17's goal is within 1.2x.

Run: ``python bench/bench_nested_overhead.py [--turns N] [--rounds R]``. Timing lives here, never
in a test assertion.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from typing import Any

from tuiagents.engine.agent import AssistantAgent, UserProxyAgent
from tuiagents.engine.events import MessageDelivered
from tuiagents.engine.nested import NestedChat, register_nested_chats
from tuiagents.engine.run import TeamRun
from tuiagents.engine.settings import RunSettings
from tuiagents.engine.supervisor import Supervisor
from tuiagents.llm.client import Completion


class InstantModel:
    """The client boundary: answers every call at once with a short text."""

    async def complete(self, messages: list, *, entry: Any = None, agent: str = "", **_: Any) -> Completion:
        return Completion(content=f"{agent} says ok ({len(messages)})", model="bench", entry="bench",
                          prompt_tokens=len(messages), completion_tokens=3)

    async def aclose(self) -> None:
        pass


def _flat(turns: int) -> TeamRun:
    llm: Any = InstantModel()
    user = UserProxyAgent("user", human_input_mode="NEVER", default_auto_reply="go on")
    writer = AssistantAgent("writer", llm=llm, model="bench")
    # max_turns counts round trips: (2N + 3) messages, the task included
    return TeamRun([user, writer], "task", RunSettings(kind="two_agent", max_turns=turns + 2),
                   supervisor=Supervisor("all"))


def _nested(turns: int) -> TeamRun:
    llm: Any = InstantModel()
    user = UserProxyAgent("user", human_input_mode="NEVER", default_auto_reply="go on")
    writer = AssistantAgent("writer", llm=llm, model="bench")
    critic = AssistantAgent("critic", llm=llm, model="bench")
    register_nested_chats(user, [NestedChat(critic, "Critique:\n{last}", max_turns=turns)], ["writer"])
    return TeamRun([user, writer], "task", RunSettings(kind="two_agent", max_turns=2), supervisor=Supervisor("all"))


async def _time(run: TeamRun) -> tuple[float, int]:
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        await run.run()
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
    return elapsed, sum(isinstance(e, MessageDelivered) for e in run.bus.history)


async def main(turns: int, rounds: int) -> None:
    per_message: dict[str, list[float]] = {"flat": [], "nested": []}
    counts: dict[str, int] = {}
    await _time(_flat(turns))  # warm up imports and caches
    await _time(_nested(turns))
    for _ in range(rounds):
        for name, build in (("flat", _flat), ("nested", _nested)):
            elapsed, messages = await _time(build(turns))
            per_message[name].append(elapsed / messages)
            counts[name] = messages
    flat, nested = (statistics.median(per_message[k]) for k in ("flat", "nested"))
    print(f"messages per run: flat {counts['flat']}, nested {counts['nested']} "
          f"({2 * turns} inside the nested chat); {rounds} rounds, medians")
    print(f"flat two-agent chat: {flat * 1e6:8.1f} µs per message")
    print(f"inside a nested chat: {nested * 1e6:8.1f} µs per message")
    print(f"ratio: {nested / flat:.2f}x (goal: within 1.2x)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=100, help="turns of the nested chat (default 100)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds per variant (default 7)")
    args = parser.parse_args()
    asyncio.run(main(args.turns, args.rounds))
