"""What a run hands back: history, summary (last message or reflection), usage and cost sums that
match what the server reported times the configured price, cached calls counted apart."""

from __future__ import annotations

from tuiagents.engine.events import RunStopped, StopKind, UsageRecorded
from tuiagents.engine.factory import build_run
from tuiagents.engine.loop import REFLECTION_PROMPT
from tuiagents.testing import Reply, Rule, Usage

PRICE = (2.0, 8.0)  # USD per 1M prompt / completion tokens
AGENTS = [{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER", "default_auto_reply": "go on"},
          {"name": "assistant", "kind": "assistant", "model": "default"}]
MODELS = [{"name": "default", "model": "scripted-model", "price": list(PRICE)}]


def cost(prompt: int, completion: int) -> float:
    return (prompt * PRICE[0] + completion * PRICE[1]) / 1_000_000


def config(make_config, **team):
    return make_config(agents=AGENTS, models=MODELS,
                       teams=[{"name": "pair", "agents": ["user", "assistant"], "max_turns": 5, **team}])


REPLIES = [Reply(content="Working on it.", usage=Usage(prompt_tokens=120, completion_tokens=30)),
           Reply(content="It is 5. TERMINATE", usage=Usage(prompt_tokens=200, completion_tokens=45))]


async def test_history_summary_usage_cost_and_stop_reason(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=REPLIES)])
    run = build_run(config(make_config), "pair", "what is 2 + 3?", approve="all", work_dir=tmp_path)
    result = await run_to_end(run)

    assert [(m.sender, m.content) for m in result.chat_history] == [
        ("user", "what is 2 + 3?"), ("assistant", "Working on it."), ("user", "go on"),
        ("assistant", "It is 5. TERMINATE")]
    assert result.summary == "It is 5. TERMINATE"
    assert (result.stop_kind, result.stop_reason) == (StopKind.TERMINATION_MESSAGE, "assistant said TERMINATE")
    assert result.run_id == run.run_id

    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (320, 75)
    assert result.usage.total_tokens == 395 and result.usage.calls == 2
    assert abs(result.usage.cost - (cost(120, 30) + cost(200, 45))) < 1e-12
    assert set(result.usage_by_agent) == {"assistant"}
    assert result.usage_by_agent["assistant"].cost == result.usage.cost

    events = [e for e in run.bus.history if isinstance(e, UsageRecorded)]
    assert [(e.agent, e.prompt_tokens, e.completion_tokens, e.cached) for e in events] == [
        ("assistant", 120, 30, False), ("assistant", 200, 45, False)]
    assert abs(sum(e.cost for e in events) - result.usage.cost) < 1e-12
    stopped = run.bus.history[-1]
    assert isinstance(stopped, RunStopped) and stopped.summary == result.summary


async def test_server_counted_usage_is_what_the_run_sums(server, make_config, run_to_end, tmp_path):
    """Without scripted usage the server counts tokens itself; the run's sums follow it."""
    from tuiagents.testing.wire import usage_for

    server.load([Rule(agent="assistant", replies=["first reply here", "TERMINATE"])])
    run = build_run(config(make_config), "pair", "count my words please", approve="all", work_dir=tmp_path)
    result = await run_to_end(run)
    reported = [usage_for(r.body, Reply(content=c))
                for r, c in zip(server.requests_for("assistant"), ["first reply here", "TERMINATE"])]
    prompt = sum(u["prompt_tokens"] for u in reported)
    completion = sum(u["completion_tokens"] for u in reported)
    assert prompt > 0 and completion > 0
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (prompt, completion)
    assert abs(result.usage.cost - cost(prompt, completion)) < 1e-12


async def test_reflection_summary(server, make_config, run_to_end, tmp_path):
    reflection = Reply(content="The sum of 2 and 3 is 5.", usage=Usage(prompt_tokens=300, completion_tokens=10))
    server.load([Rule(contains=REFLECTION_PROMPT, reply=reflection),
                 Rule(agent="assistant", replies=REPLIES)])
    run = build_run(config(make_config, summary_method="reflection"), "pair", "what is 2 + 3?",
                    approve="all", work_dir=tmp_path)
    result = await run_to_end(run)

    assert result.summary == "The sum of 2 and 3 is 5."
    assert run.bus.history[-1].summary == result.summary
    ask = server.chat_requests[-1].body
    assert ask["messages"][-1] == {"role": "user", "content": REFLECTION_PROMPT}
    assert {"role": "assistant", "content": "It is 5. TERMINATE"} in ask["messages"]
    assert len(result.chat_history) == 4  # the reflection is not part of the conversation
    assert result.usage.calls == 3
    assert abs(result.usage.cost - (cost(120, 30) + cost(200, 45) + cost(300, 10))) < 1e-12


async def test_cached_calls_cost_nothing_and_are_counted_apart(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=REPLIES)])
    cfg = make_config(agents=AGENTS, models=MODELS, llm={"cache_seed": 7, "cache_dir": str(tmp_path / "cache")},
                      teams=[{"name": "pair", "agents": ["user", "assistant"], "max_turns": 5}])
    first = await run_to_end(build_run(cfg, "pair", "same task", approve="all", work_dir=tmp_path))
    assert first.usage.cached_calls == 0 and len(server.chat_requests) == 2

    server.load([Rule(agent="assistant", reply="a different answer")])  # would show if asked
    run = build_run(cfg, "pair", "same task", approve="all", work_dir=tmp_path)
    second = await run_to_end(run)
    assert len(server.chat_requests) == 2  # no new request: both answers came from the cache
    assert [m.content for m in second.chat_history] == [m.content for m in first.chat_history]
    assert (second.usage.calls, second.usage.cached_calls) == (2, 2)
    assert second.usage.total_tokens == 0 and second.usage.cost == 0
    assert all(e.cached and e.cost == 0 for e in run.bus.history if isinstance(e, UsageRecorded))


def test_money_is_written_one_way():
    from tuiagents.engine.usage import format_cost

    assert [format_cost(c) for c in (0, 0.00123, 0.5, 1, 1234.5)] == [
        "$0.0000", "$0.0012", "$0.5000", "$1.00", "$1,234.50"]
