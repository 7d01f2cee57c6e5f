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
