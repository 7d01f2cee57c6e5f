"""A swarm hands the conversation from agent to agent by `transfer_to_<agent>` tool calls, each
transfer approved, redirected or refused by the supervisor; its texts are filled from `[context]`.
Real engine, real `openai` client, the scripted server; resume and replay read a real session log."""

from __future__ import annotations

import io

from tuiagents.app.launch import prepare_run
from tuiagents.engine.decisions import DecidedBy, Decision, DecisionKind, RequestKind
from tuiagents.engine.events import DecisionRecorded, RunStarted, RunStopped, SpeakerSelected, StopKind
from tuiagents.engine.factory import build_run
from tuiagents.engine.view import fold
from tuiagents.headless import ConsolePrinter
from tuiagents.session.export import export_session
from tuiagents.session.reader import read_session
from tuiagents.session.resume import prepare_resume
from tuiagents.testing import Reply, Rule

TASK = "Customer {customer} wants money back for a {product}."
FILLED = "Customer Ada wants money back for a toaster."


def desk(make_config, **team):
    """A three-agent help desk: triage hands off to refunds or sales (or the person)."""
    return make_config(
        context={"customer": "Ada", "product": "toaster", "year": 2026},
        agents=[
            {"name": "triage", "kind": "assistant", "system_message": "You route {customer}'s requests. {{json}}",
             "handoffs": ["refunds", "sales", "user"]},
            {"name": "refunds", "kind": "assistant", "system_message": "You refund {product}s.",
             "handoffs": ["triage"]},
            {"name": "sales", "kind": "assistant", "system_message": "You sell."},
        ],
        teams=[{"name": "desk", "kind": "swarm", "agents": ["triage", "refunds", "sales"], "task": TASK,
                **team}])


def transfer(target: str) -> Reply:
    return Reply(content=f"Passing you to {target}.", tool_calls=[{"name": f"transfer_to_{target}"}])


def _selections(run) -> list[tuple[str, str]]:
    return [(e.agent, e.method) for e in run.bus.history if isinstance(e, SpeakerSelected)]


async def test_a_three_agent_swarm_hands_off_and_fills_its_task(make_config, server, run_to_end):
    server.load([Rule(agent="triage", reply=transfer("refunds")),
                 Rule(agent="refunds", reply="Refund sent for the toaster. TERMINATE")])
    config = desk(make_config)
    run = build_run(config, "desk", config.fill(TASK, "task"), approve="all")
    result = await run_to_end(run)

    assert (result.stop_kind, result.stop_reason) == (StopKind.TERMINATION_MESSAGE, "refunds said TERMINATE")
    first = result.chat_history[0]
    assert (first.sender, first.recipient, first.content) == ("human", "triage", FILLED)
    asked = server.requests_for("triage")[0].body
    assert asked["messages"][0] == {"role": "system", "content": "You route Ada's requests. {json}"}
    assert asked["messages"][1]["role"] == "user"  # the task is the person's, not triage's own words
    offered = {t["function"]["name"]: t["function"]["description"] for t in asked["tools"]}
    assert list(offered) == ["transfer_to_refunds", "transfer_to_sales", "transfer_to_user"]
    assert "refunds speaks next" in offered["transfer_to_refunds"]
    assert "the user (the person)" in offered["transfer_to_user"]
    # the handoff is answered with a result naming the new holder, which refunds reads as context
    handoff = next(m for m in result.chat_history if m.handoff)
    assert (handoff.sender, handoff.handoff) == ("triage", "refunds")
    refunds_saw = server.requests_for("refunds")[0].body["messages"]
    assert refunds_saw[0]["content"] == "You refund toasters."
    assert any("Transferred to refunds" in (m.get("content") or "") for m in refunds_saw)
    assert "tools" in server.requests_for("refunds")[0].body  # transfer_to_triage
    assert "tools" not in server.requests_for("sales") or not server.requests_for("sales")
    assert _selections(run) == [("triage", "holder"), ("triage", "transfer"), ("refunds", "handoff")]
    recorded = [e for e in run.bus.history if isinstance(e, DecisionRecorded)
                and e.request_kind == RequestKind.HANDOFF]
    assert [(e.agent, e.decision.kind, e.decision.by) for e in recorded] == [
        ("triage", DecisionKind.APPROVE, DecidedBy.POLICY)]
    started = run.bus.history[0]
    assert isinstance(started, RunStarted) and started.team_kind == "swarm"
    assert started.context == {"customer": "Ada", "product": "toaster", "year": "2026"}


async def test_a_person_redirects_a_handoff_to_another_agent(make_config, server, human, run_to_end):
    server.load([Rule(agent="triage", reply=transfer("sales")),
                 Rule(agent="refunds", reply="Refund sent. TERMINATE")])
    human.default = Decision.approve()
    human.queue(RequestKind.HANDOFF, Decision.choose("refunds"))
    run = human.attach(build_run(desk(make_config), "desk", FILLED))
    result = await run_to_end(run)

    request = human.of_kind(RequestKind.HANDOFF)[0]
    assert (request.agent, request.target, request.candidates) == ("triage", "sales", ["sales", "refunds"])
    handoff = next(m for m in result.chat_history if m.handoff)
    assert handoff.handoff == "refunds"
    assert "Transferred to refunds instead of sales" in handoff.tool_results[0].content
    assert [m.sender for m in result.chat_history if m.origin == "agent"] == ["triage", "refunds"]
    assert server.requests_for("sales") == []
    assert result.stop_reason == "refunds said TERMINATE"


async def test_a_refused_handoff_leaves_the_conversation_with_the_caller(make_config, server, human, run_to_end):
    server.load([Rule(agent="triage", replies=[transfer("sales"), "I will help you myself. TERMINATE"])])
    human.default = Decision.approve()
    human.queue(RequestKind.HANDOFF, Decision.reject("handle refunds yourself"))
    run = human.attach(build_run(desk(make_config), "desk", FILLED))
    result = await run_to_end(run)

    refused = next(m for m in result.chat_history if m.tool_results)
    assert refused.handoff is None and refused.tool_results[0].is_error
    assert "refused the handoff: handle refunds yourself" in refused.tool_results[0].content
    tool_msgs = [m for m in server.requests_for("triage")[1].body["messages"] if m["role"] == "tool"]
    assert "handle refunds yourself" in tool_msgs[0]["content"]  # triage reads why, as its call's result
    assert [m.sender for m in result.chat_history if m.origin == "agent"] == ["triage", "triage"]
    assert result.stop_reason == "triage said TERMINATE"


async def test_transfer_to_user_asks_the_person_and_the_caller_keeps_the_conversation(
        make_config, server, human, run_to_end):
    server.load([Rule(agent="triage", replies=[transfer("user"), "Thanks, noted. TERMINATE"])])
    human.default = Decision.approve()
    human.queue(RequestKind.HUMAN_INPUT, Decision.reply("It was a blue toaster"))
    run = human.attach(build_run(desk(make_config), "desk", FILLED))
    result = await run_to_end(run)

    asked = human.of_kind(RequestKind.HUMAN_INPUT)[0]
    assert asked.agent == "triage" and asked.ends_run and "hands the conversation to you" in asked.prompt
    reply = next(m for m in result.chat_history if m.content == "It was a blue toaster")
    assert (reply.sender, reply.recipient, reply.origin) == ("human", "triage", "human")
    assert human.of_kind(RequestKind.HANDOFF) == []
    assert result.stop_reason == "triage said TERMINATE"


async def test_transfer_to_user_ends_an_unattended_run(make_config, server, run_to_end):
    server.load([Rule(agent="triage", reply=transfer("user"))])
    result = await run_to_end(build_run(desk(make_config), "desk", FILLED, approve="all"))
    assert result.stop_kind == StopKind.TERMINATION_MESSAGE
    assert result.stop_reason == "triage handed the conversation to you, and the run ended there"


async def test_a_holder_that_never_hands_off_keeps_speaking_until_a_limit(make_config, server, run_to_end):
    server.load([Rule(agent="triage", reply="Still thinking.")])
    run = build_run(desk(make_config, max_rounds=3), "desk", FILLED, approve="all")
    result = await run_to_end(run)
    assert (result.stop_kind, result.stop_reason) == (StopKind.MAX_ROUNDS, "max rounds 3 reached")
    assert [m.sender for m in result.chat_history] == ["human", "triage", "triage", "triage"]
    assert _selections(run) == [("triage", "holder")] * 3


async def test_resume_mid_swarm_gives_the_turn_to_the_holder_from_the_log(make_config, server, human,
                                                                          run_to_end, tmp_path):
    server.load([Rule(agent="triage", reply=transfer("refunds")),
                 Rule(agent="refunds", replies=["Which order?", "Refund sent. TERMINATE", "Refund sent. TERMINATE"])])
    config = desk(make_config)
    human.default = Decision.approve()
    # triage's handoff and refunds' question go through; refunds' next draft is stopped
    human.queue(RequestKind.MESSAGE, Decision.approve(), Decision.approve(), Decision.stop())
    path = tmp_path / "desk.jsonl"
    run = human.attach(prepare_run(config, "desk", TASK, session_path=path))
    first = await run_to_end(run)
    assert first.stop_kind == StopKind.STOPPED_BY_USER and len(server.requests_for("refunds")) == 2
    assert first.chat_history[-1].content == "Which order?"

    resumed = prepare_resume(path, config=config, approve="all")
    result = await run_to_end(resumed)
    assert result.stop_reason == "refunds said TERMINATE"
    events = read_session(path).events
    second_leg = events[next(i for i, e in enumerate(events) if isinstance(e, RunStopped)) + 1:]
    picks = [(e.agent, e.method) for e in second_leg if isinstance(e, SpeakerSelected)]
    assert picks == [("refunds", "holder")]  # the holder the log names, not triage, the first agent
    assert len(server.requests_for("triage")) == 1 and len(server.requests_for("refunds")) == 3


async def test_a_swarm_log_replays_with_its_handoffs_and_context(make_config, server, run_to_end, tmp_path):
    server.load([Rule(agent="triage", reply=transfer("sales")),
                 Rule(agent="sales", reply="Here is a new toaster. TERMINATE")])
    path = tmp_path / "desk.jsonl"
    await run_to_end(prepare_run(desk(make_config), "desk", TASK, approve="all", session_path=path))

    log = read_session(path)
    assert log.header.config["context"] == {"customer": "Ada", "product": "toaster", "year": 2026}
    view = fold(log.events)
    assert view.task == FILLED and view.context["customer"] == "Ada"
    assert [m.handoff for m in view.messages if m.handoff] == ["sales"]
    out = io.StringIO()
    printer = ConsolePrinter(out)
    for event in log.events:
        printer(event)
    text = out.getvalue()
    assert "context: customer=Ada · product=toaster · year=2026" in text
    assert "⇢ triage hands the conversation to sales" in text
    assert "· handoff of triage: approved (by policy: --approve all)" in text
    for fmt, row in (("md", "| Context | customer=Ada · product=toaster · year=2026 |"),
                     ("html", "<tr><th>Context</th><td>customer=Ada · product=toaster · year=2026</td></tr>")):
        exported = export_session(log, fmt)
        assert row in exported and "handoff: approved by policy" in exported


def _results_after_calls(history) -> list:
    """The messages that answer the calls of the (one) message with transfer calls, in order."""
    calls = next(i for i, m in enumerate(history) if m.tool_calls)
    answers = []
    for message in history[calls + 1:]:
        if not message.tool_results:
            break
        answers.append(message)
    return answers


def _answered_once(history, server, agent: str) -> None:
    """Every call of every assistant message `agent`'s model was sent is answered exactly once,
    by tool messages that follow it at once (what the OpenAI API accepts)."""
    for request in server.requests_for(agent):
        messages = request.body["messages"]
        for i, m in enumerate(messages):
            if m["role"] != "assistant" or not m.get("tool_calls"):
                continue
            ids = [c["id"] for c in m["tool_calls"]]
            follow = []
            for n in messages[i + 1:]:
                if n["role"] != "tool":
                    break
                follow.append(n["tool_call_id"])
            assert sorted(follow) == sorted(ids), (ids, follow)


def two_transfers(*targets: str) -> Reply:
    return Reply(content="Passing you on.", tool_calls=[{"name": f"transfer_to_{t}"} for t in targets])


async def test_a_transfer_the_agent_lacks_beside_a_real_one_is_answered_in_the_same_step(
        make_config, server, human, run_to_end, tmp_path):
    # the unknown transfer comes first: the first transfer the agent HAS is the one taken
    server.load([Rule(agent="triage", reply=two_transfers("nobody", "refunds")),
                 Rule(agent="refunds", reply="Refund sent. TERMINATE")])
    human.default = Decision.approve()
    path = tmp_path / "desk.jsonl"
    run = human.attach(prepare_run(desk(make_config), "desk", TASK, session_path=path))
    result = await run_to_end(run)

    answers = _results_after_calls(result.chat_history)
    assert len(answers) == 1  # one step answers both calls
    calls = next(m for m in result.chat_history if m.tool_calls).tool_calls
    results = answers[0].tool_results
    assert [r.call_id for r in results] == [c.id for c in calls]  # each once, in the calls' order
    unknown, taken = results
    assert unknown.is_error and not taken.is_error
    assert "triage has no transfer_to_nobody" in unknown.content
    assert "refunds, sales or the user" in unknown.content  # the agents it may hand to
    assert answers[0].handoff == "refunds" and "Transferred to refunds" in taken.content
    # the person is asked about one handoff, and about no tool call
    assert [r.kind for r in human.seen] == [RequestKind.MESSAGE, RequestKind.HANDOFF, RequestKind.MESSAGE]
    assert "transfer_to_nobody" in human.of_kind(RequestKind.HANDOFF)[0].prompt
    assert _selections(run) == [("triage", "holder"), ("triage", "transfer"), ("refunds", "handoff")]
    asked = next(e for e in run.bus.history if isinstance(e, SpeakerSelected) and e.method == "transfer")
    assert asked.note == "asks to hand the conversation to refunds"  # the transfer taken, not the first call
    assert [m.sender for m in result.chat_history if m.origin == "agent"] == ["triage", "refunds"]
    _answered_once(result.chat_history, server, "refunds")

    # the log and its replay read the same one step
    log = read_session(path)
    view = fold(log.events)
    replayed = [m for m in view.messages if m.tool_results]
    assert len(replayed) == 1 and [r.call_id for r in replayed[0].tool_results] == [c.id for c in calls]
    assert replayed[0].handoff == "refunds"
    out = io.StringIO()
    printer = ConsolePrinter(out)
    for event in log.events:
        printer(event)
    text = out.getvalue()
    block = text.split("triage → triage:")
    assert len(block) == 2  # one tool-results message, not two
    assert "✗ transfer_to_nobody: not transferred: triage has no transfer_to_nobody" in block[1]
    assert "↳ transfer_to_refunds: Transferred to refunds" in block[1]
    assert "tool_call of triage" not in text


async def test_a_transfer_outside_the_agents_handoffs_is_refused_in_the_same_step_as_its_handoff(
        make_config, server, human, run_to_end):
    # refunds may hand only to triage; sales is in the team but not among its handoffs
    server.load([Rule(agent="triage", replies=[transfer("refunds"), "Back with me. TERMINATE"]),
                 Rule(agent="refunds", reply=two_transfers("sales", "triage"))])
    human.default = Decision.approve()
    run = human.attach(build_run(desk(make_config), "desk", FILLED))
    result = await run_to_end(run)

    calls_at = [i for i, m in enumerate(result.chat_history) if m.sender == "refunds" and m.tool_calls][0]
    answer = result.chat_history[calls_at + 1]
    following = result.chat_history[calls_at + 2]
    assert not following.tool_results  # nothing answers refunds' calls a second time
    sales, triage = answer.tool_results
    assert sales.is_error and "refunds has no transfer_to_sales" in sales.content
    assert "it may hand the conversation to triage" in sales.content
    assert answer.handoff == "triage" and not triage.is_error
    assert [r.target for r in human.of_kind(RequestKind.HANDOFF)] == ["refunds", "triage"]
    assert human.of_kind(RequestKind.TOOL_CALL) == []
    assert result.stop_reason == "triage said TERMINATE"
    _answered_once(result.chat_history, server, "triage")


async def test_two_real_transfers_ask_one_handoff_and_a_refusal_answers_both(make_config, server, human,
                                                                              run_to_end):
    server.load([Rule(agent="triage", replies=[two_transfers("sales", "nobody", "refunds"),
                                               "I will help myself. TERMINATE"])])
    human.default = Decision.approve()
    human.queue(RequestKind.HANDOFF, Decision.reject("stay with the customer"))
    run = human.attach(build_run(desk(make_config), "desk", FILLED))
    result = await run_to_end(run)

    answers = _results_after_calls(result.chat_history)
    assert len(answers) == 1 and answers[0].handoff is None
    refused, unknown, extra = answers[0].tool_results
    assert refused.is_error and "refused the handoff: stay with the customer" in refused.content
    assert unknown.is_error and "triage has no transfer_to_nobody" in unknown.content
    assert extra.is_error and "one handoff per message" in extra.content and "transfer_to_sales" in extra.content
    assert [r.target for r in human.of_kind(RequestKind.HANDOFF)] == ["sales"]  # one handoff asked
    assert human.of_kind(RequestKind.TOOL_CALL) == []
    assert [m.sender for m in result.chat_history if m.origin == "agent"] == ["triage", "triage"]
    _answered_once(result.chat_history, server, "triage")


async def test_a_swarm_agent_without_handoffs_is_told_it_may_hand_to_no_one(make_config, server, human,
                                                                           run_to_end):
    server.load([Rule(agent="triage", reply=transfer("sales")),
                 Rule(agent="sales", replies=[transfer("triage"), "Here is a toaster. TERMINATE"])])
    human.default = Decision.approve()
    run = human.attach(build_run(desk(make_config), "desk", FILLED))
    result = await run_to_end(run)

    answer = next(m for m in result.chat_history if m.tool_results and m.sender == "sales")
    (lacking,) = answer.tool_results
    assert lacking.is_error and "sales has no transfer_to_triage" in lacking.content
    assert "it may hand the conversation to no one" in lacking.content
    assert answer.handoff is None and human.of_kind(RequestKind.TOOL_CALL) == []
    assert ("sales", "transfer") in _selections(run)
    assert [m.sender for m in result.chat_history if m.origin == "agent"] == ["triage", "sales", "sales"]
    assert result.stop_reason == "sales said TERMINATE"


def order_status(order: str) -> str:
    """Where an order is.

    :param order: the order's number
    """
    return f"order {order}: delivered broken"


def look_up_and_transfer(target: str) -> Reply:
    return Reply(content="Let me check, then pass you on.",
                 tool_calls=[{"name": "order_status", "arguments": {"order": "A1"}}, {"name": f"transfer_to_{target}"}])


async def test_a_message_with_a_tool_call_and_a_transfer_runs_the_tool_then_hands_off_in_one_step(
        make_config, server, human, run_to_end):
    # AgentChat's Swarm runs the message's tools, then takes its handoff: one step, one answer to both
    server.load([Rule(agent="triage", reply=look_up_and_transfer("refunds")),
                 Rule(agent="refunds", reply="Refund sent for the broken toaster. TERMINATE")])
    human.default = Decision.approve()
    run = build_run(desk(make_config), "desk", FILLED)
    run.agents["triage"].register_tool(order_status)
    result = await run_to_end(human.attach(run))

    answers = _results_after_calls(result.chat_history)
    assert len(answers) == 1  # one message answers the tool call and the transfer
    calls = next(m for m in result.chat_history if m.tool_calls).tool_calls
    status, moved = answers[0].tool_results
    assert [status.call_id, moved.call_id] == [c.id for c in calls]
    assert not status.is_error and "delivered broken" in status.content
    assert answers[0].handoff == "refunds" and "Transferred to refunds" in moved.content
    # the tool is asked (and run) first, then the one handoff
    assert [r.kind for r in human.seen] == [RequestKind.MESSAGE, RequestKind.TOOL_CALL, RequestKind.HANDOFF,
                                            RequestKind.MESSAGE]
    assert "order_status" not in human.of_kind(RequestKind.HANDOFF)[0].prompt  # it is no error
    assert _selections(run) == [("triage", "holder"), ("triage", "transfer"), ("refunds", "handoff")]
    assert result.stop_reason == "refunds said TERMINATE"
    _answered_once(result.chat_history, server, "refunds")  # refunds' model read both results


async def test_a_reply_instead_of_the_tool_answers_the_transfer_too_and_asks_no_handoff(
        make_config, server, human, run_to_end):
    server.load([Rule(agent="triage", replies=[look_up_and_transfer("refunds"), "Understood. TERMINATE"])])
    human.default = Decision.approve()
    human.queue(RequestKind.TOOL_CALL, Decision.reply("It was delivered broken; keep the customer."))
    run = build_run(desk(make_config), "desk", FILLED)
    run.agents["triage"].register_tool(order_status)
    result = await run_to_end(human.attach(run))

    answers = _results_after_calls(result.chat_history)
    assert len(answers) == 1 and answers[0].handoff is None
    assert all(r.is_error for r in answers[0].tool_results) and len(answers[0].tool_results) == 2
    assert human.of_kind(RequestKind.HANDOFF) == []
    said = next(m for m in result.chat_history if m.origin == "human" and m.sender == "human"
                and "keep the customer" in (m.content or ""))
    assert said.recipient == "triage"
    assert [m.sender for m in result.chat_history if m.origin == "agent"] == ["triage", "triage"]
    _answered_once(result.chat_history, server, "triage")
