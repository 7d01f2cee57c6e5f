"""Leftover sandbox containers: labelled with their owner (host, pid, start time), reaped when the
owner is gone, even if its pid was reused, never while the owner lives; and the reaping is said."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from pathlib import Path

import pytest

from tuiagents.execution import DockerExecutor, DockerSettings
from tuiagents.execution.codeblocks import CodeBlock
from tuiagents.execution.docker_client import (
    LABEL,
    connect_docker,
    container_labels,
    docker_host,
    process_start,
    reap_orphans,
)
from tuiagents.execution.doctor import docker_checks

IMAGE = os.environ.get("SANDBOX_IMAGE", "tuiagents-sandbox:latest")

pytestmark = [pytest.mark.docker]


@pytest.fixture
def client():
    import docker

    try:
        client = connect_docker()
    except docker.errors.DockerException as exc:
        reason = f"Docker daemon not reachable at {docker_host()}: {exc}"
        if os.environ.get("TUIAGENTS_REQUIRE_DOCKER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    made: list = []
    client.made = made
    yield client
    for container in made:
        try:
            container.remove(force=True)
        except docker.errors.DockerException:
            pass
    client.close()


def fake_session(client, pid: int, started: str | None) -> str:
    """A container labelled as if process ``pid`` (started at ``started``) owned it."""
    session = f"reap-{uuid.uuid4().hex[:8]}"
    labels = {LABEL: "1", f"{LABEL}.session": session, f"{LABEL}.pid": str(pid),
              f"{LABEL}.host": socket.gethostname()}
    if started is not None:
        labels[f"{LABEL}.started"] = started
    client.made.append(client.containers.create(IMAGE, ["true"], labels=labels,
                                                network_mode="none"))
    return session


def exists(client, session: str) -> bool:
    return bool(client.containers.list(all=True, filters={"label": f"{LABEL}.session={session}"}))


def test_labels_name_the_owner_and_its_start_time() -> None:
    labels = container_labels("s1")
    assert labels[f"{LABEL}.pid"] == str(os.getpid())
    assert labels[f"{LABEL}.started"] == process_start(os.getpid())
    assert labels[f"{LABEL}.host"] == socket.gethostname()


def test_dead_and_reused_owners_are_reaped_live_ones_kept(client) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    alive = subprocess.Popen(["sleep", "60"])
    try:
        gone = fake_session(client, dead.pid, "1")
        reused = fake_session(client, alive.pid, "1")  # same pid, another process's start time
        live = fake_session(client, alive.pid, process_start(alive.pid))
        removed = reap_orphans()
        assert gone in removed and reused in removed and live not in removed
        assert not exists(client, gone) and not exists(client, reused)
        assert exists(client, live)
    finally:
        alive.kill()
        alive.wait()


async def test_a_starting_run_reaps_and_says_so(client, tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    gone = fake_session(client, dead.pid, "1")
    executor = DockerExecutor(DockerSettings(image=IMAGE), tmp_path, f"reaper-{uuid.uuid4().hex[:6]}")
    try:
        result = await executor.run(CodeBlock(language="sh", code="true", runnable=True))
        assert result.ok, result
        notice = executor.pop_notice()
        assert notice and "removed" in notice and gone in notice, notice
        assert executor.pop_notice() is None  # said once
        assert not exists(client, gone)
    finally:
        await executor.close()


def test_doctor_reaps_and_says_so(client, tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    gone = fake_session(client, dead.pid, "1")
    checks = {c.name: c for c in docker_checks(DockerSettings(image=IMAGE), tmp_path)}
    leftovers = checks["leftover sandbox containers"]
    assert leftovers.ok and gone in leftovers.detail and leftovers.detail.startswith("removed ")
    assert not exists(client, gone)
    assert checks["sandbox starts"].ok, checks["sandbox starts"]


def test_a_killed_owner_leaves_nothing_running_and_its_container_is_reaped(client, tmp_path) -> None:
    import signal
    import sys
    import textwrap
    import time

    session = f"crash-{uuid.uuid4().hex[:8]}"
    script = textwrap.dedent(f"""
        import asyncio, sys
        from tuiagents.execution import DockerExecutor, DockerSettings, extract_code_blocks
        ex = DockerExecutor(DockerSettings(image={IMAGE!r}), {str(tmp_path)!r}, {session!r})
        (b,) = extract_code_blocks("```sh\\necho up; sleep 60\\n```")
        asyncio.run(ex.run(b, on_output=lambda t: print(t, end="", flush=True)))
    """)
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout.readline() == "up\n"
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    [container] = client.containers.list(all=True, filters={"label": f"{LABEL}.session={session}"})
    for _ in range(100):  # the watchdog sees its stdin close, kills the block and exits
        container.reload()
        if container.status != "running":
            break
        time.sleep(0.1)
    assert container.status != "running"
    assert session in reap_orphans()
    assert not exists(client, session)
