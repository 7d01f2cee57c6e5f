"""The Docker executor against a real daemon and the real sandbox image.

Needs a reachable daemon (skipped otherwise, with the reason) and the image named by
``SANDBOX_IMAGE`` (default ``tuiagents-sandbox:latest``; build it with
``tuiagents sandbox build``). Two containers are shared across the module to keep it fast: one
with the default limits and one with tight limits for the timeout/memory/pids/cap tests.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
import pytest_asyncio

from tuiagents.execution import DockerExecutor, DockerSettings, extract_code_blocks
from tuiagents.execution.base import format_result_for_agent
from tuiagents.execution.codeblocks import CodeBlock
from tuiagents.execution.docker_client import (
    LABEL,
    cleanup_leftovers,
    connect_docker,
    docker_host,
)

IMAGE = os.environ.get("SANDBOX_IMAGE", "tuiagents-sandbox:latest")

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="module")]


def block(lang: str, code: str) -> CodeBlock:
    (found,) = extract_code_blocks(f"```{lang}\n{textwrap.dedent(code).strip()}\n```")
    return found


@pytest.fixture(scope="module")
def client():
    """A docker client, or a skip saying why the daemon is not usable."""
    import docker

    try:
        client = connect_docker()
    except docker.errors.DockerException as exc:
        reason = f"Docker daemon not reachable at {docker_host()}: {exc}"
        if os.environ.get("TUIAGENTS_REQUIRE_DOCKER") == "1":  # CI: a missing daemon is a failure
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        client.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(f"sandbox image {IMAGE} is missing: run `tuiagents sandbox build` (as root) "
                    "or set SANDBOX_IMAGE to an image with python3")
    yield client
    client.close()


def _labelled(client, session_id: str) -> list:
    return client.containers.list(all=True, filters={"label": f"{LABEL}.session={session_id}"})


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sandbox(client, tmp_path_factory):
    """The default-limits executor, shared by the module (one container)."""
    executor = DockerExecutor(DockerSettings(image=IMAGE), tmp_path_factory.mktemp("work"),
                              f"test-{uuid.uuid4().hex[:8]}")
    yield executor
    await executor.close()
    assert _labelled(client, executor.session_id) == [], "close() left the container behind"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def tight(client, tmp_path_factory):
    """An executor with small limits: 3 s, 64 MB, 32 processes, 2 KB of output."""
    settings = DockerSettings(image=IMAGE, timeout=3, memory="64m", pids_limit=32,
                              output_limit=2048)
    executor = DockerExecutor(settings, tmp_path_factory.mktemp("tight"),
                              f"tight-{uuid.uuid4().hex[:8]}")
    yield executor
    await executor.close()


async def test_output_exit_code_and_streaming(sandbox: DockerExecutor) -> None:
    seen: list[str] = []
    result = await sandbox.run(block("python", """
        import sys
        print("hello from the sandbox")
        print("to stderr", file=sys.stderr)
    """), on_output=seen.append)
    assert result.ok and result.exit_code == 0 and result.error is None
    assert result.output == "hello from the sandbox\nto stderr\n"
    assert "".join(seen) == result.output
    assert sandbox.limits.describe() == f"docker · {IMAGE} · network none · 512m · 1 cpu · 60 s"


async def test_exception_gives_traceback_and_nonzero_exit(sandbox: DockerExecutor) -> None:
    b = block("python", "print('before')\nraise RuntimeError('broken on purpose')")
    result = await sandbox.run(b)
    assert result.exit_code == 1 and not result.ok
    assert result.output.startswith("before\nTraceback")
    assert "RuntimeError: broken on purpose" in result.output
    assert format_result_for_agent([b], [result]).startswith("exitcode: 1 (execution failed)\n")


async def test_shell_blocks_and_exit_status(sandbox: DockerExecutor) -> None:
    result = await sandbox.run(block("bash", "echo $((6 * 7)); exit 5"))
    assert result.exit_code == 5 and result.output == "42\n"
    result = await sandbox.run(block("sh", "echo plain sh"))
    assert result.ok and result.output == "plain sh\n"


async def test_runs_as_non_root_with_no_capabilities(sandbox: DockerExecutor) -> None:
    result = await sandbox.run(block("sh", "id -u; grep CapEff /proc/self/status; touch /etc/x"))
    uid, caps = result.output.splitlines()[:2]
    assert uid != "0"
    assert caps.split()[1] == "0000000000000000"
    assert "Read-only file system" in result.output or "Permission denied" in result.output


async def test_no_network_inside(sandbox: DockerExecutor) -> None:
    result = await sandbox.run(block("python", """
        import os, socket
        print(sorted(os.listdir("/sys/class/net")))
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(3)
        try:
            s.connect(("1.1.1.1", 53))
            print("CONNECTED")
        except OSError as exc:
            print("connect failed:", exc)
    """))
    assert result.ok, result.output
    assert result.output.splitlines()[0] == "['lo']"
    assert "connect failed" in result.output and "CONNECTED" not in result.output


async def test_files_persist_between_blocks_and_reach_the_host(sandbox: DockerExecutor) -> None:
    first = await sandbox.run(block("python", "open('notes.txt', 'w').write('kept')"))
    assert first.ok, first.output
    second = await sandbox.run(block("sh", "cat notes.txt"))
    assert second.output == "kept"
    assert (sandbox.work_dir / "notes.txt").read_text() == "kept"
    # the name a copied work dir's watchdog gathers changes under is the user's own when bound
    (sandbox.work_dir / ".tuiagents-back").write_text("mine")
    third = await sandbox.run(block("sh", "cat .tuiagents-back"))
    assert third.output == "mine" and (sandbox.work_dir / ".tuiagents-back").read_text() == "mine"
    (sandbox.work_dir / ".tuiagents-back").unlink()


async def test_filename_blocks_saved_and_escapes_refused(sandbox: DockerExecutor, tmp_path) -> None:
    code = "# filename: lib/calc.py\ndef double(x):\n    return 2 * x"
    saved = await sandbox.run(block("python", code))
    assert saved.ok and saved.saved_to == "lib/calc.py"
    used = await sandbox.run(block("python", "from lib.calc import double\nprint(double(21))"))
    assert used.output == "42\n"
    refused = await sandbox.run(block("python", "# filename: ../../etc/evil.py\nprint(1)"))
    assert refused.exit_code == -1 and "'..' would leave the work dir" in (refused.error or "")
    # Code in the sandbox plants a symlink to a host folder; the host must not follow it.
    target = tmp_path / "host-only"
    target.mkdir()
    planted = await sandbox.run(block("sh", f"ln -s {target} trap && echo planted"))
    assert planted.ok
    refused = await sandbox.run(block("python", "# filename: trap/evil.py\nprint(1)"))
    assert "symbolic link" in (refused.error or "")
    assert not (target / "evil.py").exists()


async def test_cancel_kills_a_running_block(sandbox: DockerExecutor) -> None:
    cancel = asyncio.Event()

    def on_output(text: str) -> None:
        if "working" in text:
            cancel.set()

    started = time.monotonic()
    result = await sandbox.run(block("python", """
        import sys, time
        sys.stdout.write("working\\n")
        time.sleep(30)
        print("should never print")
    """), on_output=on_output, cancel=cancel)
    assert time.monotonic() - started < 10
    assert result.cancelled and not result.timed_out and result.exit_code == 130
    assert result.output == "working\n"
    after = await sandbox.run(block("sh", "echo still usable"))
    assert after.output == "still usable\n"


async def test_timeout_keeps_partial_output_and_kills_the_tree(tight: DockerExecutor) -> None:
    b = block("sh", """
        sleep 1000 &
        setsid sleep 1000 &
        echo "partial output"
        sleep 1000
    """)
    started = time.monotonic()
    result = await tight.run(b)
    assert time.monotonic() - started < 15
    assert result.timed_out and result.exit_code == 124
    assert result.output == "partial output\n"
    assert format_result_for_agent([b], [result]) == (
        "exitcode: 124 (execution failed)\nCode output: partial output\ntimed out after 3 s"
    )
    # Neither the foreground nor the background sleeps survived, even one in its own session.
    left = await tight.run(block("sh", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '; echo"))
    assert "sleep 1000" not in left.output


async def test_output_cap(tight: DockerExecutor) -> None:
    result = await tight.run(block("python", "for i in range(5000):\n    print('row', i)"))
    assert result.ok and result.truncated
    assert len(result.output.encode()) < 2048 + 200
    assert result.output.startswith("row 0\n") and result.output.rstrip().endswith("row 4999")
    full = Path(result.full_output_path or "")
    assert full.is_file() and full.read_text().count("\n") == 5000


async def test_memory_limit_kills_the_hog(tight: DockerExecutor) -> None:
    result = await tight.run(block("python", """
        chunks = []
        for i in range(40):
            chunks.append(bytearray(16 * 1024 * 1024))
            print(i * 16, "MB", flush=True)
        print("allocated everything")
    """))
    assert "allocated everything" not in result.output
    assert result.exit_code == 137 or "MemoryError" in result.output, result
    if result.exit_code == 137:
        assert any("out of memory" in n for n in result.notes), result.notes
    after = await tight.run(block("sh", "echo alive"))
    assert after.output == "alive\n"


async def test_fork_bomb_is_held_by_the_pids_limit(tight: DockerExecutor) -> None:
    result = await tight.run(block("python", """
        import os, time
        origin = os.getpid()
        end = time.time() + 1.5
        forks = failures = 0
        while time.time() < end:
            try:
                os.fork()      # parent and child both keep forking
                forks += 1
            except OSError:
                failures += 1
                time.sleep(0.01)
        if os.getpid() == origin:
            print("forks", forks, "failures", failures, flush=True)
        else:
            os._exit(0)
    """))
    assert not result.timed_out or "failures" not in result.output
    assert "failures" in result.output, result
    assert int(result.output.split()[-1]) > 0  # the limit was hit
    after = await tight.run(block("sh", "echo recovered"))
    assert after.output == "recovered\n"


async def test_close_removes_the_container(client, tmp_path) -> None:
    session = f"close-{uuid.uuid4().hex[:8]}"
    executor = DockerExecutor(DockerSettings(image=IMAGE), tmp_path, session)
    assert (await executor.run(block("sh", "true"))).ok
    assert len(_labelled(client, executor.session_id)) == 1
    await executor.close()
    assert _labelled(client, executor.session_id) == []
    await executor.close()  # idempotent


async def test_a_work_dir_that_does_not_exist_yet_is_created(client, tmp_path) -> None:
    work = tmp_path / "sessions" / "new-session.work"  # a fresh session's dir, as prepare_run names it
    executor = DockerExecutor(DockerSettings(image=IMAGE), work, f"fresh-{uuid.uuid4().hex[:8]}")
    try:
        result = await executor.run(block("python", "# filename: hello.py\nprint('hi')"))
    finally:
        await executor.close()
    assert result.ok and result.output == "hi\n", result
    assert (work / "hello.py").is_file()


async def test_container_removed_at_process_exit(client, tmp_path) -> None:
    session = f"atexit-{uuid.uuid4().hex[:8]}"
    script = textwrap.dedent(f"""
        import asyncio
        from tuiagents.execution import DockerExecutor, DockerSettings, extract_code_blocks
        ex = DockerExecutor(DockerSettings(image={IMAGE!r}), {str(tmp_path)!r}, {session!r})
        (b,) = extract_code_blocks("```sh\\ntrue\\n```")
        print(asyncio.run(ex.run(b)).exit_code)
    """)
    done = await asyncio.to_thread(subprocess.run, [sys.executable, "-c", script],
                                   capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "0", done.stderr
    assert _labelled(client, session) == []


async def test_cleanup_leftovers_removes_only_orphans(client, sandbox: DockerExecutor) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    orphan = client.containers.run(
        IMAGE, ["sleep", "60"], detach=True, network_mode="none",
        labels={LABEL: "1", f"{LABEL}.session": "orphan", f"{LABEL}.pid": str(dead.pid),
                f"{LABEL}.host": socket.gethostname()},
    )
    try:
        cleanup_leftovers()  # (a run starting meanwhile may have reaped it first: same result)
        assert _labelled(client, "orphan") == []
        if sandbox.container_id:  # our live session's container is not a leftover
            assert _labelled(client, sandbox.session_id)
    finally:
        try:
            orphan.remove(force=True)
        except Exception:
            pass


async def test_missing_daemon_gives_a_clear_message(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    executor = DockerExecutor(DockerSettings(image=IMAGE), tmp_path, "no-daemon")
    result = await executor.run(block("python", "print(1)"))
    assert result.exit_code == -1 and not result.ok
    problem = result.start_problem  # typed: the block never started, the person fixes it
    assert problem is not None and problem.what == "daemon"
    assert "not reachable at unix:///nonexistent.sock" in problem.missing and "start it" in problem.fix
    assert (await executor.start_problem()).what == "daemon"  # the check before a block says the same
    await executor.close()


async def test_missing_image_gives_a_clear_message(client, tmp_path) -> None:
    settings = DockerSettings(image="tuiagents-no-such-image:0")
    executor = DockerExecutor(settings, tmp_path, "no-image")
    result = await executor.run(block("python", "print(1)"))
    assert result.exit_code == -1 and result.start_problem is not None
    assert result.start_problem.what == "image"
    assert "tuiagents-no-such-image:0 is not here and cannot be pulled" in result.start_problem.missing
    assert "sandbox build --tag tuiagents-no-such-image:0`" in result.start_problem.fix
    assert await executor.start_problem() == result.start_problem  # the check before a block says the same
    await executor.close()


async def test_close_during_a_run_stops_it(client, tmp_path) -> None:
    executor = DockerExecutor(DockerSettings(image=IMAGE), tmp_path, f"quit-{uuid.uuid4().hex[:8]}")
    started = asyncio.Event()
    run = asyncio.create_task(executor.run(
        block("python", "import sys, time\nsys.stdout.write('up\\n')\ntime.sleep(60)"),
        on_output=lambda text: started.set()))
    await asyncio.wait_for(started.wait(), 30)
    t0 = time.monotonic()
    await executor.close()
    result = await asyncio.wait_for(run, 30)
    assert time.monotonic() - t0 < 10
    assert result.cancelled and result.output == "up\n"
    assert _labelled(client, executor.session_id) == []
    await executor.close()


async def test_cancelling_the_task_stops_the_block(sandbox: DockerExecutor) -> None:
    started = asyncio.Event()
    task = asyncio.create_task(sandbox.run(
        block("python", "import sys, time\nsys.stdout.write('go\\n')\ntime.sleep(60)"),
        on_output=lambda text: started.set()))
    await asyncio.wait_for(started.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The next block starts only once the cancelled one is gone, and is not hit by its cleanup.
    result = await sandbox.run(block("sh", "sleep 0.3; cat /proc/[0-9]*/cmdline | tr '\\0' ' '"))
    assert result.ok, result
    assert "python3 -u" not in result.output


async def test_a_saved_script_knows_itself_by_its_place_in_the_work_dir(sandbox: DockerExecutor) -> None:
    (sandbox.work_dir / "app").mkdir(exist_ok=True)
    (sandbox.work_dir / "app" / "data.txt").write_text("beside me")
    os.chmod(sandbox.work_dir / "app", 0o777)
    result = await sandbox.run(block("python", """
        # filename: app/main.py
        import os, sys
        print(__name__, __file__, sys.argv)
        print(open(os.path.join(os.path.dirname(__file__), "data.txt")).read())
        raise ValueError("traceback names the saved file")
    """))
    lines = result.output.splitlines()
    assert lines[0] == "__main__ /workspace/app/main.py ['/workspace/app/main.py']", result.output
    assert lines[1] == "beside me"
    assert lines[2:4] == ["Traceback (most recent call last):",
                          '  File "/workspace/app/main.py", line 5, in <module>'], result.output
