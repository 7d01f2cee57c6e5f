"""Group chats: every speaker selection mode, transitions, repeat speakers, max rounds and the
human's next-speaker override, against the scripted server."""

from __future__ import annotations

from tuiagents.engine.decisions import Decision, RequestKind
from tuiagents.engine.events import Notice, SpeakerSelected, StopKind
from tuiagents.engine.factory import build_run
from tuiagents.engine.run import TeamRun
from tuiagents.engine.speaker import RETRY_PROMPT
from tuiagents.testing import Rule

NAMES = ["planner", "coder", "critic"]
DESCRIPTIONS = {"planner": "Breaks the task into steps.", "coder": "Writes the code.",
                "critic": "Reviews the work."}


def crew(**team) -> dict:
    """Three assistants in a group chat; each one's model answers with a line naming it."""
    agents = [{"name": n, "kind": "assistant", "model": "default", "description": DESCRIPTIONS[n]}
              for n in NAMES]
    return {"agents": agents, "teams": [{"name": "crew", "kind": "group_chat", "agents": NAMES,
                                         "max_rounds": 4, **team}]}


def agent_rules() -> list[Rule]:
    return [Rule(agent=n, reply=f"{n} here") for n in NAMES]


def speakers(run: TeamRun) -> list[SpeakerSelected]:
    return [e for e in run.bus.history if isinstance(e, SpeakerSelected)]


def spoken(result) -> list[str]:
    """Who spoke after the task."""
    return [m.sender for m in result.chat_history[1:]]


async def test_round_robin_order_and_max_rounds(server, make_config, run_to_end, tmp_path):
    server.load(agent_rules())
    run = build_run(make_config(**crew(speaker_selection="round_robin")), "crew", "t", approve="all",
                    work_dir=tmp_path)
    result = await run_to_end(run)

    assert spoken(result) == ["coder", "critic", "planner", "coder"]
    assert [e.method for e in speakers(run)] == ["round_robin"] * 4
    assert [e.round for e in speakers(run)] == [1, 2, 3, 4]
    assert result.stop_kind == StopKind.MAX_ROUNDS and result.stop_reason == "max rounds 4 reached"
    # every agent sees the others' messages as named user messages
    last = server.requests_for("coder")[-1].body["messages"]
    assert {"role": "user", "name": "critic", "content": "critic here"} in last
    assert {"role": "assistant", "content": "coder here"} in last


async def test_random_is_seeded_and_picks_only_candidates(server, make_config, run_to_end, tmp_path):
    server.load(agent_rules())
    cfg = make_config(**crew(speaker_selection="random", max_rounds=12, allow_repeat_speaker=False))
    orders = []
    for seed in (7, 7, 8):
        run = build_run(cfg, "crew", "t", approve="all", work_dir=tmp_path, seed=seed)
        result = await run_to_end(run)
        assert {e.method for e in speakers(run)} == {"random"}
        order = ["planner", *spoken(result)]
        assert all(a != b for a, b in zip(order, order[1:])), order  # never the same twice in a row
        assert set(order) <= set(NAMES)
        orders.append(order)
    assert orders[0] == orders[1]
    assert orders[0] != orders[2]  # another seed, another order (fixed seeds: deterministic)


async def test_manual_lists_candidates_and_honours_the_choice(server, make_config, human, run_to_end,
                                                              tmp_path):
    server.load(agent_rules())
    run = build_run(make_config(**crew(speaker_selection="manual", max_rounds=3)), "crew", "t",
                    approve="ask", work_dir=tmp_path)
    human.default = Decision.approve()  # drafts
    human.queue(RequestKind.SPEAKER, Decision.choose("critic"), Decision.choose("critic"),
                Decision.choose("planner"))
    result = await run_to_end(human.attach(run))

    asked = human.of_kind(RequestKind.SPEAKER)
    assert len(asked) == 3
    # round robin's pick comes first, everyone may speak (repeats are allowed by default)
    assert asked[0].candidates == ["coder", "planner", "critic"]
    assert asked[1].candidates[0] == "planner" and sorted(asked[1].candidates) == sorted(NAMES)
    assert spoken(result) == ["critic", "critic", "planner"]
    assert [e.method for e in speakers(run)] == ["manual"] * 3


async def test_manual_without_repeat_excludes_the_last_speaker(server, make_config, human, run_to_end,
                                                               tmp_path):
    server.load(agent_rules())
    run = build_run(make_config(**crew(speaker_selection="manual", max_rounds=2, allow_repeat_speaker=False)),
                    "crew", "t", approve="ask", work_dir=tmp_path)
    human.default = Decision.approve()
    human.queue(RequestKind.SPEAKER, Decision.choose("critic"), Decision.choose("coder"))
    result = await run_to_end(human.attach(run))
    asked = human.of_kind(RequestKind.SPEAKER)
    assert "planner" not in asked[0].candidates and "critic" not in asked[1].candidates
    assert spoken(result) == ["critic", "coder"]


async def test_manual_unknown_speaker_is_asked_again(server, make_config, human, run_to_end, tmp_path):
    server.load(agent_rules())
    run = build_run(make_config(**crew(speaker_selection="manual", max_rounds=1, allow_repeat_speaker=False)),
                    "crew", "t", approve="ask", work_dir=tmp_path)
    human.default = Decision.approve()
    human.queue(RequestKind.SPEAKER, Decision.choose("nobody"), Decision.choose("planner"),
                Decision.choose("coder"))
    result = await run_to_end(human.attach(run))

    asked = human.of_kind(RequestKind.SPEAKER)
    assert len(asked) == 3 and len({r.id for r in asked}) == 1  # the same request, asked again
    warnings = [e.text for e in run.bus.history if isinstance(e, Notice) and e.level == "warning"]
    assert any("'nobody' cannot speak next" in w for w in warnings)
    assert any("'planner' cannot speak next" in w for w in warnings)  # the last speaker, no repeats
    assert spoken(result) == ["coder"]


async def test_auto_the_model_names_the_speaker(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="speaker_selector", replies=["critic", "The coder should go.", "planner"]),
                 *agent_rules()])
    run = build_run(make_config(**crew(speaker_selection="auto", max_rounds=3)), "crew", "t",
                    approve="all", work_dir=tmp_path)
    result = await run_to_end(run)

    assert spoken(result) == ["critic", "coder", "planner"]
    assert [(e.method, e.note) for e in speakers(run)] == [("auto", "")] * 3
    ask = server.requests_for("speaker_selector")[0].body["messages"]
    system = ask[0]["content"]
    for name in NAMES:
        assert f"- {name}: {DESCRIPTIONS[name]}" in system
    assert ask[1] == {"role": "user", "name": "planner", "content": "t"}
    # the selector's calls count in the run's usage
    assert result.usage_by_agent["speaker_selector"].calls == 3


async def test_auto_invalid_answer_is_retried(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="speaker_selector", replies=["banana", "critic"]), *agent_rules()])
    run = build_run(make_config(**crew(speaker_selection="auto", max_rounds=1)), "crew", "t",
                    approve="all", work_dir=tmp_path)
    result = await run_to_end(run)

    assert spoken(result) == ["critic"]
    event = speakers(run)[0]
    assert (event.method, event.note) == ("auto", "after 1 invalid answer(s)")
    retry = server.requests_for("speaker_selector")[1].body["messages"]
    assert retry[-2] == {"role": "assistant", "content": "banana"}
    assert retry[-1]["content"] == RETRY_PROMPT.format(answer="banana", names=", ".join(NAMES))


async def test_auto_falls_back_to_round_robin_and_says_so(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="speaker_selector", reply="I cannot decide"), *agent_rules()])
    run = build_run(make_config(**crew(speaker_selection="auto", max_rounds=1)), "crew", "t",
                    approve="all", work_dir=tmp_path)
    result = await run_to_end(run)

    assert len(server.requests_for("speaker_selector")) == run.settings.selector_attempts == 3
    event = speakers(run)[0]
    assert event.method == "round_robin"
    assert "did not name a valid speaker" in event.note and "fell back to round robin" in event.note
    assert "'I cannot decide'" in event.note
    assert spoken(result) == ["coder"]


async def test_auto_with_two_names_is_not_a_choice(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="speaker_selector", replies=["coder or critic", "critic"]), *agent_rules()])
    run = build_run(make_config(**crew(speaker_selection="auto", max_rounds=1)), "crew", "t",
                    approve="all", work_dir=tmp_path)
    result = await run_to_end(run)
    assert spoken(result) == ["critic"] and speakers(run)[0].note == "after 1 invalid answer(s)"


async def test_python_callable_selects(server, make_config, run_to_end, tmp_path):
    server.load(agent_rules())
    seen: list[str] = []

    def pick(last: str, run: TeamRun) -> str | None:
        seen.append(last)
        return {"planner": "critic", "critic": "coder", "coder": "nobody"}[last]

    run = build_run(make_config(**crew(max_rounds=3)), "crew", "t", approve="all", work_dir=tmp_path)
    run.settings.speaker_selection = pick
    result = await run_to_end(run)

    assert seen == ["planner", "critic", "coder"]
    assert spoken(result) == ["critic", "coder", "critic"]
    methods = [(e.method, e.note) for e in speakers(run)]
    assert methods[:2] == [("custom", ""), ("custom", "")]
    assert methods[2][0] == "round_robin" and "returned 'nobody'" in methods[2][1]
    assert run.started_event().speaker_selection == "custom"


async def test_allowed_transitions(server, make_config, run_to_end, tmp_path):
    server.load(agent_rules())
    cfg = make_config(**crew(speaker_selection="round_robin", max_rounds=4,
                             allowed_transitions={"planner": ["critic"], "critic": ["coder"],
                                                  "coder": ["planner"]}))
    result = await run_to_end(build_run(cfg, "crew", "t", approve="all", work_dir=tmp_path))
    assert spoken(result) == ["critic", "coder", "planner", "critic"]


async def test_disallowed_transitions(server, make_config, run_to_end, tmp_path):
    server.load(agent_rules())
    cfg = make_config(**crew(speaker_selection="round_robin", max_rounds=4,
                             disallowed_transitions={"planner": ["coder"], "critic": ["planner"]}))
    result = await run_to_end(build_run(cfg, "crew", "t", approve="all", work_dir=tmp_path))
    # planner may not hand over to coder, nor critic to planner; round robin skips those
    assert spoken(result) == ["critic", "coder", "critic", "coder"]


async def test_auto_respects_transitions_in_the_question(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="speaker_selector", replies=["coder", "critic"]), *agent_rules()])
    cfg = make_config(**crew(speaker_selection="auto", max_rounds=1,
                             allowed_transitions={"planner": ["critic"]}))
    run = build_run(cfg, "crew", "t", approve="all", work_dir=tmp_path)
    result = await run_to_end(run)
    system = server.requests_for("speaker_selector")[0].body["messages"][0]["content"]
    assert "- critic:" in system and "- coder:" not in system
    assert spoken(result) == ["critic"]  # "coder" was not a candidate: retried


async def test_set_next_speaker_overrides_once(server, make_config, human, run_to_end, tmp_path):
    server.load(agent_rules())
    run = build_run(make_config(**crew(speaker_selection="round_robin", max_rounds=3)), "crew", "t",
                    approve="ask", work_dir=tmp_path)

    def approve_and_pick(request):
        if request.agent == "coder" and not speakers(run)[1:]:  # during coder's first turn only
            run.set_next_speaker("coder")
        return Decision.approve()

    human.default = approve_and_pick
    result = await run_to_end(human.attach(run))
    assert spoken(result) == ["coder", "coder", "critic"]
    forced = speakers(run)[1]
    assert (forced.agent, forced.method, forced.note) == ("coder", "forced", "picked by you")
    assert speakers(run)[2].method == "round_robin"


async def test_an_agent_saying_terminate_ends_a_group_chat(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="coder", reply="done"), Rule(agent="critic", reply="Approved. TERMINATE"),
                 Rule(agent="planner", reply="more")])
    run = build_run(make_config(**crew(speaker_selection="round_robin", max_rounds=10)), "crew", "t",
                    approve="all", work_dir=tmp_path)
    result = await run_to_end(run)
    assert spoken(result) == ["coder", "critic"]
    assert (result.stop_kind, result.stop_reason) == (StopKind.TERMINATION_MESSAGE, "critic said TERMINATE")


async def test_names_sent_to_the_model_are_valid_openai_names(server, make_config, run_to_end, tmp_path):
    """OpenAI accepts only [a-zA-Z0-9_-] in a message's `name`; agent names may hold more."""
    import re

    odd = ["lead dev", "qa.bot", "critic"]
    cfg = make_config(agents=[{"name": n, "kind": "assistant", "model": "default"} for n in odd],
                      teams=[{"name": "crew", "kind": "group_chat", "agents": odd, "max_rounds": 2}])
    server.load([Rule(agent="speaker_selector", replies=["qa.bot", "critic"]),
                 *[Rule(agent=n, reply=f"{n} here") for n in odd]])
    run = build_run(cfg, "crew", "t", approve="all", work_dir=tmp_path)
    result = await run_to_end(run)
    assert spoken(result) == ["qa.bot", "critic"]
    names = [m["name"] for r in server.chat_requests for m in r.body["messages"] if "name" in m]
    assert names and all(re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", n) for n in names), names
