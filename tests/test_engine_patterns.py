"""Team patterns are objects the loop asks, and a turn is a list of reply steps: a new pattern or
a registered reply runs through the unchanged loop, with the real engine, LLM client and scripted
server."""

from __future__ import annotations

import pytest

from tuiagents.engine.agent import AssistantAgent, ConversableAgent, UserProxyAgent
from tuiagents.engine.core import RunCore
from tuiagents.engine.events import RunStarted, SpeakerSelected, StopKind
from tuiagents.engine.messages import Message
from tuiagents.engine.patterns import PATTERNS, GroupChat, Pattern, TwoAgentChat, pattern_for, pattern_label
from tuiagents.engine.run import TeamRun
from tuiagents.engine.settings import RunResources, RunSettings
from tuiagents.engine.speaker import Selection
from tuiagents.engine.supervisor import Supervisor
from tuiagents.engine.termination import StopInfo
from tuiagents.llm import LLMClient, LLMSettings, ModelEntry
from tuiagents.testing import Rule


class Relay(Pattern):
    """A pattern the engine does not ship: agents speak in reverse team order, three turns in all."""

    kind = "relay"
    label = "relay"
    announces_selection = True

    def stage_over(self, run: RunCore) -> StopInfo | None:
        return StopInfo(StopKind.MAX_ROUNDS, "relay done") if run.state.round >= 3 else None

    async def choose(self, run: RunCore) -> Selection:
        names = list(reversed(run.agents))
        return Selection(names[run.state.round % len(names)], "relay")


def _llm(server) -> LLMClient:
    return LLMClient([ModelEntry(name="m", model="scripted-model", base_url=server.url, max_retries=0)],
                     LLMSettings(cache_seed=False))


async def test_a_new_pattern_is_a_class_the_unchanged_loop_runs(server, run_to_end, monkeypatch):
    monkeypatch.setitem(PATTERNS, Relay.kind, Relay)
    server.load([Rule(agent="b", reply="from b"), Rule(agent="c", reply="from c")])
    llm = _llm(server)
    a = UserProxyAgent("a", human_input_mode="NEVER", default_auto_reply="from a")
    b, c = AssistantAgent("b", llm=llm), AssistantAgent("c", llm=llm)
    run = TeamRun([a, b, c], "go", RunSettings(kind="relay"), supervisor=Supervisor("all"),
                  resources=RunResources(llm=llm))
    assert isinstance(run.pattern, Relay)
    result = await run_to_end(run)

    assert [m.sender for m in result.chat_history] == ["a", "c", "b", "a"]
    assert (result.stop_kind, result.stop_reason) == (StopKind.MAX_ROUNDS, "relay done")
    started = run.bus.history[0]
    assert isinstance(started, RunStarted) and started.team_kind == "relay"
    picks = [(e.agent, e.method) for e in run.bus.history if isinstance(e, SpeakerSelected)]
    assert picks == [("c", "relay"), ("b", "relay"), ("a", "relay")]
    assert pattern_label("relay") == "relay"


def test_an_unknown_kind_or_a_team_the_pattern_cannot_run_is_refused():
    with pytest.raises(ValueError, match="unknown team kind 'swirl'; choose one of: two_agent, group_chat"):
        pattern_for(RunSettings(kind="swirl"))
    three = [ConversableAgent(n) for n in "xyz"]
    with pytest.raises(ValueError, match="exactly 2 agents, got 3"):
        TeamRun(three, "t", RunSettings(kind="two_agent"))
    with pytest.raises(ValueError, match="at least 2 agents, got 1"):
        TeamRun(three[:1], "t", RunSettings(kind="group_chat"))
    assert isinstance(pattern_for(RunSettings(kind="group_chat")), GroupChat)
    assert isinstance(pattern_for(RunSettings()), TwoAgentChat)
    assert (pattern_label("two_agent"), pattern_label("group_chat"), pattern_label("new_kind")) == (
        "two-agent chat", "group chat", "new kind")


async def test_a_registered_reply_step_answers_first_and_none_falls_through(server, run_to_end):
    server.load([Rule(agent="solver", replies=["model reply", "TERMINATE"])])
    llm = _llm(server)
    user = UserProxyAgent("me", human_input_mode="NEVER", default_auto_reply="go on")
    solver = AssistantAgent("solver", llm=llm)
    asked: list[int] = []

    async def every_other(run, agent) -> Message | None:
        asked.append(len(run.transcript))
        if len(asked) == 1:  # the first turn is answered by the step, without the model
            return await run.deliver(Message(sender=agent.name, content="from the step"))
        return None

    solver.register_reply(every_other)
    run = TeamRun([user, solver], "task", RunSettings(max_turns=4), supervisor=Supervisor("all"),
                  resources=RunResources(llm=llm))
    result = await run_to_end(run)

    assert [(m.sender, m.content) for m in result.chat_history] == [
        ("me", "task"), ("solver", "from the step"), ("me", "go on"), ("solver", "model reply"),
        ("me", "go on"), ("solver", "TERMINATE")]
    assert asked == [1, 3, 5]
    assert len(server.requests_for("solver")) == 2
