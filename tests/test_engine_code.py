"""Code turns with the local executor (tmp work dirs): approve, edit, skip, rule approvals and a
human reply instead of running; the output the agent reads is checked."""

from __future__ import annotations

import asyncio

from tuiagents.engine.decisions import ApprovalRule, DecidedBy, Decision, DecisionKind, RequestKind, Scope
from tuiagents.engine.events import (
    CodeProposed, DecisionRecorded, ExecutionFinished, ExecutionOutput, ExecutionStarted,
)
from tuiagents.engine.factory import build_run
from tuiagents.testing import Rule

PY = "```python\nprint(6 * 7)\n```"
SH = "```sh\necho from-shell\n```"


def code_run(make_config, tmp_path, *replies: str, approve: str = "ask", max_turns: int = 4):
    """user (runs code locally) <-> assistant (answers `replies`, then TERMINATE)."""
    cfg = make_config(
        agents=[{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER", "code_execution": "local"},
                {"name": "assistant", "kind": "assistant", "model": "default"}],
        teams=[{"name": "pair", "agents": ["user", "assistant"], "max_turns": max_turns}],
        local_execution={"timeout": 20})
    run = build_run(cfg, "pair", "compute", approve=approve, work_dir=tmp_path / "work")
    run.supervisor.add_rule(ApprovalRule(kind=RequestKind.MESSAGE))  # drafts go through
    return run


def outputs(result) -> list[str]:
    return [m.content for m in result.chat_history if m.origin == "execution"]


def of(run, cls) -> list:
    return [e for e in run.bus.history if isinstance(e, cls)]


async def test_approved_code_runs_and_the_agent_reads_the_output(server, make_config, human, run_to_end,
                                                                 tmp_path):
    server.load([Rule(agent="assistant", replies=[f"Let me compute.\n{PY}", "It is 42. TERMINATE"])])
    run = human.attach(code_run(make_config, tmp_path))
    human.queue(RequestKind.CODE, Decision.approve())
    result = await run_to_end(run)

    [request] = human.seen
    assert request.kind == RequestKind.CODE and request.agent == "assistant"
    assert [(b.language, b.code) for b in request.code_blocks] == [("python", "print(6 * 7)\n")]
    assert "UNSANDBOXED" in request.prompt and request.executor
    assert of(run, CodeProposed)[0].blocks == request.code_blocks
    assert outputs(result) == ["exitcode: 0 (execution succeeded)\nCode output: 42"]
    assert result.chat_history[2].sender == "user"
    assert of(run, ExecutionFinished)[0].exit_code == 0
    seen_by_model = server.requests_for("assistant")[1].body["messages"][-1]
    assert seen_by_model["name"] == "user" and seen_by_model["content"].endswith("Code output: 42")
    assert result.stop_reason == "assistant said TERMINATE"


async def test_edited_code_is_what_runs(server, make_config, human, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=[PY, "TERMINATE"])])
    run = human.attach(code_run(make_config, tmp_path))
    human.queue(RequestKind.CODE, Decision.edit("print(100 + 1)"))
    result = await run_to_end(run)

    assert [e.code for e in of(run, ExecutionStarted)] == ["print(100 + 1)"]
    assert outputs(result) == ["exitcode: 0 (execution succeeded)\nCode output: 101"]


async def test_edit_with_a_fence_can_change_the_language(server, make_config, human, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=[PY, "TERMINATE"])])
    run = human.attach(code_run(make_config, tmp_path))
    human.queue(RequestKind.CODE, Decision.edit("```sh\necho edited-by-human\n```"))
    result = await run_to_end(run)
    assert [e.language for e in of(run, ExecutionStarted)] == ["sh"]
    assert outputs(result) == ["exitcode: 0 (execution succeeded)\nCode output: edited-by-human"]


async def test_skip_runs_nothing_and_tells_the_agent(server, make_config, human, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=[PY, "TERMINATE"])])
    run = human.attach(code_run(make_config, tmp_path))
    human.queue(RequestKind.CODE, Decision.skip())
    result = await run_to_end(run)
    assert of(run, ExecutionStarted) == []
    assert outputs(result) == ["The code was not run: skipped by you."]
    assert server.requests_for("assistant")[1].body["messages"][-1]["content"] == outputs(result)[0]


async def test_approve_none_policy_skips_code(server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=[PY, "TERMINATE"])])
    result = await run_to_end(code_run(make_config, tmp_path, approve="none"))
    assert outputs(result) == ["The code was not run: skipped by policy. --approve none runs no code or tools"]


async def test_rule_approval_applies_to_later_blocks_of_that_language(server, make_config, human, run_to_end,
                                                                      tmp_path):
    server.load([Rule(agent="assistant", replies=[PY, "```python\nprint('again')\n```", SH, "TERMINATE"])])
    run = human.attach(code_run(make_config, tmp_path, max_turns=6))
    rule = ApprovalRule(kind=RequestKind.CODE, agent="assistant", language="python")
    human.queue(RequestKind.CODE, Decision.approve(scope=Scope.RULE, rule=rule), Decision.approve())
    result = await run_to_end(run)

    # asked for the first python block and for the shell block, not for the second python block
    assert [sorted(r.languages) for r in human.seen] == [["python"], ["sh"]]
    code_decisions = [e.decision.by for e in of(run, DecisionRecorded) if e.request_kind == RequestKind.CODE]
    assert code_decisions == [DecidedBy.HUMAN, DecidedBy.SESSION_RULE, DecidedBy.HUMAN]
    assert [o.rsplit(": ", 1)[-1] for o in outputs(result)] == ["42", "again", "from-shell"]


async def test_a_python_rule_does_not_approve_a_message_that_also_holds_shell(server, make_config, human,
                                                                             run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=[f"{PY}\nand\n{SH}", "TERMINATE"])])
    run = human.attach(code_run(make_config, tmp_path))
    run.supervisor.add_rule(ApprovalRule(kind=RequestKind.CODE, agent="assistant", language="python"))
    human.queue(RequestKind.CODE, Decision.skip())
    result = await run_to_end(run)
    assert [sorted(r.languages) for r in human.seen] == [["python", "sh"]]
    assert of(run, ExecutionStarted) == []
    assert outputs(result) == ["The code was not run: skipped by you."]


async def test_reply_instead_of_running(server, make_config, human, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=[PY, "TERMINATE"])])
    run = human.attach(code_run(make_config, tmp_path))
    human.queue(RequestKind.CODE, Decision.reply("explain the code first"))
    result = await run_to_end(run)
    assert of(run, ExecutionStarted) == []
    said = result.chat_history[2]
    assert (said.sender, said.content, said.origin) == ("user", "explain the code first", "human")
    assert [e.decision.kind for e in of(run, DecisionRecorded) if e.request_kind == RequestKind.CODE] == [
        DecisionKind.REPLY]


async def test_failing_code_reports_the_exit_code(server, make_config, human, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=["```python\nimport sys\nprint('bad')\nsys.exit(3)\n```",
                                                  "TERMINATE"])])
    run = human.attach(code_run(make_config, tmp_path))
    human.queue(RequestKind.CODE, Decision.approve())
    result = await run_to_end(run)
    assert outputs(result) == ["exitcode: 3 (execution failed)\nCode output: bad"]


async def test_stop_while_code_runs_kills_it(server, make_config, human, run_to_end, tmp_path):
    slow = "```python\nimport time\nprint('started', flush=True)\ntime.sleep(60)\nprint('never')\n```"
    server.load([Rule(agent="assistant", replies=[slow, "TERMINATE"])])
    run = human.attach(code_run(make_config, tmp_path))
    human.queue(RequestKind.CODE, Decision.approve())

    def on_event(event):
        if isinstance(event, ExecutionOutput) and "started" in event.text:
            run.request_stop()

    run.bus.subscribe(on_event)
    result = await run_to_end(run, timeout=15)
    assert result.stop_reason == "stopped by you"
    [done] = of(run, ExecutionFinished)
    assert done.cancelled and not done.timed_out
    assert outputs(result) == []  # the run ended; nothing was delivered after the stop


async def test_stop_decision_on_code(server, make_config, human, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=[PY, "TERMINATE"])])
    run = human.attach(code_run(make_config, tmp_path))
    human.queue(RequestKind.CODE, Decision.stop())
    result = await run_to_end(run)
    assert result.stop_reason == "stopped by you" and of(run, ExecutionStarted) == []


async def test_stop_during_a_model_call_after_code_ran(server, make_config, human, run_to_end, tmp_path):
    from tuiagents.testing import Fault

    server.load([Rule(agent="assistant", turn=0, reply=PY),
                 Rule(agent="assistant", reply="late", fault=Fault.slow(delay=30))])
    run = human.attach(code_run(make_config, tmp_path))
    human.queue(RequestKind.CODE, Decision.approve())

    def on_event(event):
        if isinstance(event, ExecutionFinished):  # the next turn is the slow model call
            asyncio.get_running_loop().call_later(0.1, run.request_stop)

    run.bus.subscribe(on_event)
    result = await run_to_end(run, timeout=10)  # a stop that waited for the reply would time out
    assert result.stop_reason == "stopped by you"
    assert outputs(result) == ["exitcode: 0 (execution succeeded)\nCode output: 42"]


async def test_a_note_queued_after_the_code_does_not_hide_it(server, make_config, human, run_to_end, tmp_path):
    """A human note delivered between the code and the executor's turn: the code still runs."""
    server.load([Rule(agent="assistant", replies=[f"Here:\n{PY}", "42 it is. TERMINATE"])])
    cfg = make_config(
        agents=[{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER", "code_execution": "local"},
                {"name": "assistant", "kind": "assistant", "model": "default"}],
        teams=[{"name": "pair", "agents": ["user", "assistant"], "max_turns": 4}],
        local_execution={"timeout": 20})
    run = human.attach(build_run(cfg, "pair", "compute", work_dir=tmp_path / "work"))
    human.queue(RequestKind.MESSAGE, Decision.inject("thanks, run it", target="all"), Decision.approve())
    human.queue(RequestKind.CODE, Decision.approve())
    result = await run_to_end(run)

    senders = [(m.sender, m.origin) for m in result.chat_history]
    assert senders[:4] == [("user", "human"), ("assistant", "agent"), ("human", "human"), ("user", "execution")]
    assert outputs(result) == ["exitcode: 0 (execution succeeded)\nCode output: 42"]
    assert result.stop_reason == "assistant said TERMINATE"


async def test_a_block_whose_filename_will_be_refused_says_so_before_it_is_approved(
        server, make_config, human, run_to_end, tmp_path):
    escape = "```python\n# filename: ../../escape.py\nprint('out')\n```"
    server.load([Rule(agent="assistant", replies=[f"Save it.\n{escape}\n{PY}", "TERMINATE"])])
    run = human.attach(code_run(make_config, tmp_path))
    human.queue(RequestKind.CODE, Decision.approve())
    result = await run_to_end(run)

    [request] = human.seen
    assert "block 1 will not run" in request.prompt and "'..' would leave the work dir" in request.prompt
    assert "block 2" not in request.prompt  # the good block is not named
    assert not (tmp_path / "escape.py").exists()
    assert "refused to save the block" in outputs(result)[0]  # as the request said
