"""The engine used on its own, as a library (no config file): agents, a TeamRun, streaming token
deltas, and LLM retries surfacing as Notice events."""

from __future__ import annotations

from tuiagents.engine.agent import AssistantAgent, HumanInputMode, UserProxyAgent
from tuiagents.engine.events import MessageDrafted, Notice, RunStarted, TokenDelta
from tuiagents.engine.factory import build_run
from tuiagents.engine.run import TeamRun
from tuiagents.engine.settings import RunResources, RunSettings
from tuiagents.engine.supervisor import Supervisor
from tuiagents.llm import LLMClient, LLMSettings, ModelEntry
from tuiagents.testing import Fault, Rule


async def test_library_two_agent_chat(server, run_to_end, tmp_path):
    server.load([Rule(agent="solver", replies=["x = 4", "So x is 4. TERMINATE"])])
    llm = LLMClient([ModelEntry(name="m", model="scripted-model", base_url=server.url, max_retries=0)],
                    LLMSettings(cache_seed=False))
    user = UserProxyAgent("me", human_input_mode="NEVER", default_auto_reply="check it")
    solver = AssistantAgent("solver", llm=llm)
    assert solver.human_input_mode == HumanInputMode.NEVER and solver.code_executor is None
    assert user.llm is None and UserProxyAgent("u").human_input_mode == HumanInputMode.ALWAYS
    run = TeamRun([user, solver], "solve x + 1 = 5", RunSettings(max_turns=5), supervisor=Supervisor("all"),
                  resources=RunResources(llm=llm))  # released by aclose()
    result = await run_to_end(run)

    assert [(m.sender, m.content) for m in result.chat_history] == [
        ("me", "solve x + 1 = 5"), ("solver", "x = 4"), ("me", "check it"), ("solver", "So x is 4. TERMINATE")]
    assert result.stop_reason == "solver said TERMINATE"
    started = run.bus.history[0]
    assert isinstance(started, RunStarted)
    assert [(a.name, a.kind, a.human_input_mode) for a in started.agents] == [
        ("me", "user_proxy", "NEVER"), ("solver", "assistant", "NEVER")]
    assert started.team_kind == "two_agent" and started.max_turns == 5 and started.max_rounds is None
    # the assistant preset's system message is sent first
    assert server.requests_for("solver")[0].body["messages"][0]["content"] == solver.system_message


async def test_replies_stream_as_token_deltas(server, make_config, run_to_end, tmp_path):
    text = "one two three four five six"
    server.load([Rule(agent="assistant", reply=f"{text} TERMINATE")])
    cfg = make_config(agents=[{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER"},
                              {"name": "assistant", "kind": "assistant", "model": "default"}],
                      teams=[{"name": "pair", "agents": ["user", "assistant"]}])
    run = build_run(cfg, "pair", "count", approve="all", work_dir=tmp_path)
    deltas: list[TokenDelta] = []
    run.bus.subscribe(lambda e: deltas.append(e) if isinstance(e, TokenDelta) else None)
    await run_to_end(run)

    assert len(deltas) > 3  # in pieces, as they arrived
    assert "".join(d.text for d in deltas) == f"{text} TERMINATE"
    drafted = next(e for e in run.bus.history if isinstance(e, MessageDrafted))
    assert all(d.seq < drafted.seq for d in deltas) and {d.agent for d in deltas} == {"assistant"}
    assert server.requests_for("assistant")[0].body["stream"] is True


async def test_llm_retries_become_notices_and_the_run_goes_on(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", reply="TERMINATE")])
    server.inject(Fault.server_error())
    cfg = make_config(agents=[{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER"},
                              {"name": "assistant", "kind": "assistant", "model": "default"}],
                      teams=[{"name": "pair", "agents": ["user", "assistant"]}],
                      models=[{"name": "default", "model": "scripted-model", "max_retries": 2}])
    run = build_run(cfg, "pair", "t", approve="all", work_dir=tmp_path)
    result = await run_to_end(run)
    assert result.stop_reason == "assistant said TERMINATE"
    notices = [e for e in run.bus.history if isinstance(e, Notice)]
    assert any(n.level == "warning" and "retrying" in n.text and "500" in n.text for n in notices), notices
    assert [r.status for r in server.chat_requests] == [500, 200]
