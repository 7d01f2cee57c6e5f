"""What is approved is what runs: the sha256 of the approved code is recorded with the decision,
carried to the executor, and checked again by the sandbox watchdog right before exec."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import uuid

import pytest

from tuiagents.engine.decisions import ApprovalRule, Decision, RequestKind
from tuiagents.engine.events import DecisionRecorded, ExecutionStarted
from tuiagents.engine.factory import build_run
from tuiagents.execution import DockerExecutor, DockerSettings, LocalExecutor, LocalSettings
from tuiagents.execution.base import code_sha256
from tuiagents.execution.codeblocks import CodeBlock
from tuiagents.testing import Rule

PY = "```python\nprint(6 * 7)\n```"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def code_run(make_config, tmp_path):
    cfg = make_config(
        agents=[{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER", "code_execution": "local"},
                {"name": "assistant", "kind": "assistant", "model": "default"}],
        teams=[{"name": "pair", "agents": ["user", "assistant"], "max_turns": 4}],
        local_execution={"timeout": 20})
    run = build_run(cfg, "pair", "compute", approve="ask", work_dir=tmp_path / "work")
    run.supervisor.add_rule(ApprovalRule(kind=RequestKind.MESSAGE))
    return run


def of(run, cls) -> list:
    return [e for e in run.bus.history if isinstance(e, cls)]


@pytest.mark.parametrize("decision, ran", [(Decision.approve(), "print(6 * 7)\n"),
                                           (Decision.edit("print(100 + 1)"), "print(100 + 1)")])
async def test_the_decision_records_the_hash_of_what_runs(server, make_config, human, run_to_end,
                                                          tmp_path, decision, ran):
    server.load([Rule(agent="assistant", replies=[PY, "TERMINATE"])])
    run = human.attach(code_run(make_config, tmp_path))
    human.queue(RequestKind.CODE, decision)
    await run_to_end(run)
    [recorded] = [e for e in of(run, DecisionRecorded) if e.request_kind == RequestKind.CODE]
    assert recorded.decision.code_sha256 == [sha(ran)]
    assert [e.code_sha256 for e in of(run, ExecutionStarted)] == [sha(ran)]
    # The hash is part of the logged event, so a replay or an audit sees it too.
    assert sha(ran) in recorded.model_dump_json()


async def test_an_executor_refuses_code_that_is_not_what_was_approved(tmp_path):
    executor = LocalExecutor(LocalSettings(timeout=10), tmp_path)
    block = CodeBlock(language="sh", code="touch ran", runnable=True)
    result = await executor.run(block, approved_sha256=code_sha256("echo benign"))
    assert result.exit_code == -1 and "not the code that was approved" in (result.error or "")
    assert not (tmp_path / "ran").exists()
    assert (await executor.run(block, approved_sha256=code_sha256("touch ran"))).ok


@pytest.mark.docker
async def test_the_watchdog_checks_the_hash_itself(tmp_path):
    import docker

    from tuiagents.execution.docker_client import connect_docker

    try:
        connect_docker().close()
    except docker.errors.DockerException as exc:
        if os.environ.get("TUIAGENTS_REQUIRE_DOCKER") == "1":
            pytest.fail(str(exc))
        pytest.skip(f"no Docker daemon: {exc}")
    image = os.environ.get("SANDBOX_IMAGE", "tuiagents-sandbox:latest")
    executor = DockerExecutor(DockerSettings(image=image), tmp_path, f"hash-{uuid.uuid4().hex[:6]}")
    try:
        block = CodeBlock(language="sh", code="touch ran", runnable=True)
        refused = await executor.run(block, approved_sha256=code_sha256("echo benign"))
        assert "not the code that was approved" in (refused.error or "")
        assert (await executor.run(CodeBlock(language="sh", code="true", runnable=True))).ok
        # Bytes that reach the watchdog with another hash than the approved one never run.
        channel = executor._channel
        header = json.dumps({"id": "forged", "argv": ["sh"], "name": "x.sh",
                             "sha256": code_sha256("echo benign"), "timeout": 5, "disk_limit": 0,
                             "forward_limit": 1024, "tail": 1024}).encode()
        channel.send(b"B", struct.pack(">I", len(header)) + header + b"touch ran")
        kind, payload = await channel.next_frame()
        assert kind == b"X" and "does not match its approved hash" in json.loads(payload)["error"]
        assert not (tmp_path / "ran").exists()
    finally:
        await executor.close()


# A model may send a lone surrogate (JSON allows "\ud800"); the log keeps it, so the hash, the
# approval and the executor must take it too, and the block runs or is refused with a reason.
LONE = 'print("half a pair: \ud800")\n'


def docker_or_skip():
    import docker

    from tuiagents.execution.docker_client import connect_docker

    try:
        connect_docker().close()
    except docker.errors.DockerException as exc:
        if os.environ.get("TUIAGENTS_REQUIRE_DOCKER") == "1":
            pytest.fail(str(exc))
        pytest.skip(f"no Docker daemon: {exc}")


def test_the_hash_takes_any_text_the_log_can_hold():
    assert code_sha256(LONE) != code_sha256(LONE.replace("\ud800", "\udfff"))
    assert code_sha256(LONE) != code_sha256(LONE.replace("\ud800", "\ufffd"))
    assert code_sha256("print(1)") == sha("print(1)")  # plain text: the UTF-8 bytes, as before


@pytest.mark.parametrize("kind", ["local", pytest.param("docker", marks=pytest.mark.docker)])
async def test_a_block_with_a_lone_surrogate_runs_or_is_refused_with_a_reason(tmp_path, kind):
    if kind == "docker":
        docker_or_skip()
        image = os.environ.get("SANDBOX_IMAGE", "tuiagents-sandbox:latest")
        executor = DockerExecutor(DockerSettings(image=image, timeout=20), tmp_path,
                                  f"lone-{uuid.uuid4().hex[:6]}")
    else:
        executor = LocalExecutor(LocalSettings(timeout=20), tmp_path)
    try:
        for block in (CodeBlock(language="python", code=LONE, runnable=True),
                      CodeBlock(language="python", code=LONE, runnable=True, filename="lone.py")):
            result = await executor.run(block, approved_sha256=code_sha256(block.code))
            assert not result.ok
            assert result.exit_code != -1 or result.error, result
            assert "SyntaxError" in result.output or "surrogate" in (result.error or ""), result
            assert "not the code that was approved" not in (result.error or "")
        # The session goes on: the next block runs.
        after = CodeBlock(language="sh", code="echo still here", runnable=True)
        result = await executor.run(after, approved_sha256=code_sha256(after.code))
        assert result.ok and "still here" in result.output, result
    finally:
        await executor.close()


async def test_a_run_and_its_resume_go_on_after_code_with_a_lone_surrogate(tmp_path):
    from conftest import ScriptedHuman, finish
    from headless_support import pair_toml

    from tuiagents.app.launch import prepare_run
    from tuiagents.config import load_config
    from tuiagents.engine.decisions import DecisionKind
    from tuiagents.engine.events import ExecutionFinished
    from tuiagents.session.reader import read_session
    from tuiagents.session.resume import prepare_resume
    from tuiagents.testing import ScriptedServer

    reply = f"Here.\n```python\n{LONE}```"
    rules = [Rule(agent="assistant", turn=0, reply=reply),
             Rule(agent="assistant", reply="all done TERMINATE")]
    with ScriptedServer(rules) as server:
        cfg = tmp_path / "config.toml"
        cfg.write_text(pair_toml(server.url, 6, user='code_execution = "local"'))
        config = load_config(cfg)
        log = tmp_path / "run.jsonl"
        # First leg: the person stops the run at the code request, which the log keeps pending.
        run = prepare_run(config, "pair", "print something", approve="ask", session_path=log)
        ScriptedHuman(default=Decision.approve()).queue(RequestKind.CODE, Decision.stop()).attach(run)
        await finish(run)
        # Resume: the same code is asked again, approved, and runs; the run goes on to its end.
        run = prepare_resume(log, config=config, approve="ask")
        human = ScriptedHuman(default=Decision.approve())
        human.attach(run)
        result = await finish(run)
    asked = [r for r in human.seen if r.kind == RequestKind.CODE]
    assert asked and "\ud800" in asked[-1].code_blocks[0].code
    assert result.stop_reason == "assistant said TERMINATE", result.stop_reason
    events = read_session(log).events
    [recorded] = [e for e in events if isinstance(e, DecisionRecorded)
                  and e.request_kind == RequestKind.CODE and e.decision.kind == DecisionKind.APPROVE]
    assert recorded.decision.code_sha256 == [code_sha256(LONE)]
    [finished] = [e for e in events if isinstance(e, ExecutionFinished)]
    assert finished.exit_code != 0 and not finished.cancelled
