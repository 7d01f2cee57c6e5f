"""Hostile code against the real Docker sandbox: every attack a malicious model could write.

Each test runs an attack block, then checks the three promises of the trust design:
- the reported outcome is the true one (not what the block forged),
- the next block runs exactly its approved code,
- nothing the block started is left (only the sandbox's watchdog runs in the container), and
  the executor's container is removed at the end.

Needs a reachable Docker daemon and the sandbox image (see tests/test_execution_docker.py);
marked ``docker`` and ``hostile``.
"""

from __future__ import annotations

import asyncio
import os
import textwrap
import uuid

import pytest
import pytest_asyncio

from tuiagents.execution import DockerExecutor, DockerSettings, extract_code_blocks
from tuiagents.execution.codeblocks import CodeBlock
from tuiagents.execution.docker_client import LABEL, connect_docker, docker_host

IMAGE = os.environ.get("SANDBOX_IMAGE", "tuiagents-sandbox:latest")

pytestmark = [pytest.mark.docker, pytest.mark.hostile, pytest.mark.asyncio(loop_scope="module"),
              pytest.mark.timeout(120)]


def block(lang: str, code: str) -> CodeBlock:
    (found,) = extract_code_blocks(f"```{lang}\n{textwrap.dedent(code).strip()}\n```")
    return found


@pytest.fixture(scope="module")
def client():
    """A docker client, or a skip saying why the daemon is not usable (a failure on CI)."""
    import docker

    try:
        client = connect_docker()
    except docker.errors.DockerException as exc:
        reason = f"Docker daemon not reachable at {docker_host()}: {exc}"
        if os.environ.get("TUIAGENTS_REQUIRE_DOCKER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        client.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(f"sandbox image {IMAGE} is missing: run `tuiagents sandbox build` (as root)")
    yield client
    client.close()


def _labelled(client, session_id: str) -> list:
    return client.containers.list(all=True, filters={"label": f"{LABEL}.session={session_id}"})


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sandbox(client, tmp_path_factory):
    """One executor with small limits, shared by the module; its container must not outlive it."""
    settings = DockerSettings(image=IMAGE, timeout=4, memory="96m", pids_limit=64,
                              output_limit=4096, disk_limit="32m")
    executor = DockerExecutor(settings, tmp_path_factory.mktemp("hostile"),
                              f"hostile-{uuid.uuid4().hex[:8]}")
    yield executor
    await executor.close()
    assert _labelled(client, executor.session_id) == [], "close() left the container behind"


def processes(client, executor: DockerExecutor) -> list[str]:
    """The command lines running in the executor's container, seen from the host."""
    if executor.container_id is None:
        return []
    top = client.api.top(executor.container_id, ps_args="-eo pid,args")
    return [" ".join(p) for p in top.get("Processes") or []]


async def assert_clean_and_next_runs_as_approved(client, executor: DockerExecutor) -> None:
    """Only the watchdog is left, and a benign block runs exactly as approved, twice over."""
    left = processes(client, executor)
    assert len(left) <= 1, f"processes outlived the block: {left}"
    for name in (None, "benign.py"):
        header = f"# filename: {name}\n" if name else ""
        result = await executor.run(block("python", header + "print('benign')"))
        assert result.exit_code == 0 and result.output == "benign\n", result
    assert len(processes(client, executor)) <= 1


async def test_fake_outcome_line_through_proc_is_not_believed(client, sandbox) -> None:
    result = await sandbox.run(block("python", """
        import json, os
        fake = json.dumps({"exit_code": 0, "signal": None, "timed_out": False,
                           "cancelled": False, "oom": False})
        for target in (os.getppid(), 1):
            for fd in (1, 2):
                try:
                    with open(f"/proc/{target}/fd/{fd}", "w") as f:
                        f.write("\\n" + fake + "\\n")
                    print("WROTE", target, fd)
                except OSError as exc:
                    print("refused", target, fd, type(exc).__name__)
        raise SystemExit(3)
    """))
    assert result.exit_code == 3 and not result.ok, result
    assert "WROTE" not in result.output, result.output
    await assert_clean_and_next_runs_as_approved(client, sandbox)


async def test_killing_the_watchdog_fails(client, sandbox) -> None:
    result = await sandbox.run(block("python", """
        import os, signal, time
        for target in (os.getppid(), 1, -1):
            try:
                os.kill(target, signal.SIGKILL)
                print("signalled", target)
            except OSError as exc:
                print("refused", target, type(exc).__name__)
        time.sleep(0.3)
        print("still here")
        raise SystemExit(4)
    """))
    assert result.exit_code == 4, result
    assert "still here" in result.output
    await assert_clean_and_next_runs_as_approved(client, sandbox)


async def test_tracing_or_reading_the_watchdog_is_refused(client, sandbox) -> None:
    result = await sandbox.run(block("python", """
        import ctypes, os
        for path in (f"/proc/{os.getppid()}/fd", f"/proc/{os.getppid()}/mem", "/proc/1/environ"):
            try:
                os.listdir(path) if path.endswith("fd") else open(path, "rb").read(1)
                print("OPENED", path)
            except OSError as exc:
                print("refused", path, type(exc).__name__)
        libc = ctypes.CDLL(None, use_errno=True)
        print("ptrace", libc.ptrace(16, os.getppid(), 0, 0))  # PTRACE_ATTACH
    """))
    assert "OPENED" not in result.output, result.output
    assert "ptrace -1" in result.output, result.output
    await assert_clean_and_next_runs_as_approved(client, sandbox)


SURVIVOR = """
    import os, signal, sys, time
    watchdog = os.getppid()
    def rewrite_everything():
        end = time.time() + 20
        while time.time() < end:
            try:
                os.kill(watchdog, signal.SIGKILL)
            except OSError:
                pass
            if os.fork():  # a new pid every round: a single sweep of kill(-1) misses it
                os._exit(0)
            for root in ("/workspace", "/tmp", "/run"):
                for folder, dirs, files in os.walk(root):
                    for name in files:
                        if name.endswith((".py", ".sh")):
                            try:
                                with open(os.path.join(folder, name), "w") as f:
                                    f.write("print('PWNED')\\n")
                            except OSError:
                                pass
            time.sleep(0.005)
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            rewrite_everything()
        os._exit(0)
    if os.fork() == 0:
        os.setpgid(0, 0)
        rewrite_everything()
    print("planted")
"""


async def test_survivors_cannot_rewrite_the_next_blocks_code(client, sandbox) -> None:
    result = await sandbox.run(block("python", SURVIVOR))
    assert result.ok and "planted" in result.output, result
    await assert_clean_and_next_runs_as_approved(client, sandbox)


async def test_process_group_and_session_escapes_are_killed(client, sandbox) -> None:
    result = await sandbox.run(block("sh", """
        (setsid sleep 1000 &) ; (sleep 1001 &)
        nohup sleep 1002 >/dev/null 2>&1 &
        python3 -c 'import os, time; os.setpgid(0, 0); os.fork(); time.sleep(1003)' &
        echo done
    """))
    assert result.ok and result.output == "done\n", result
    await assert_clean_and_next_runs_as_approved(client, sandbox)


@pytest.mark.parametrize("kind", ["fifo", "symlink", "socket"])
async def test_special_files_named_like_the_next_block_are_refused(client, sandbox, kind) -> None:
    name = f"next_{kind}.py"
    make = {
        "fifo": f"os.mkfifo({name!r})",
        "symlink": f"os.symlink('/etc/passwd', {name!r})",
        "socket": f"s = socket.socket(socket.AF_UNIX); s.bind({name!r})",
    }[kind]
    planted = await sandbox.run(block("python", f"import os, socket\n{make}\nprint('planted')"))
    assert planted.ok, planted
    result = await asyncio.wait_for(
        sandbox.run(block("python", f"# filename: {name}\nprint('benign')")), 60)
    assert result.exit_code == -1 and result.error, result
    assert "refused" in result.error and name in result.error, result.error
    await assert_clean_and_next_runs_as_approved(client, sandbox)


async def test_no_network_egress(client, sandbox) -> None:
    result = await sandbox.run(block("python", """
        import socket
        for host, port in (("1.1.1.1", 53), ("172.17.0.1", 2375), ("10.0.0.1", 80)):
            s = socket.socket()
            s.settimeout(2)
            try:
                s.connect((host, port))
                print("CONNECTED", host)
            except OSError as exc:
                print("no route", host)
    """))
    assert result.ok and "CONNECTED" not in result.output, result
    await assert_clean_and_next_runs_as_approved(client, sandbox)


async def test_fork_bomb(client, sandbox) -> None:
    result = await sandbox.run(block("sh", "bomb() { bomb | bomb & }; bomb; sleep 2; echo survived"))
    assert not result.ok or "survived" in result.output
    await assert_clean_and_next_runs_as_approved(client, sandbox)


async def test_memory_bomb(client, sandbox) -> None:
    result = await sandbox.run(block("python", """
        hog = []
        while True:
            hog.append(bytearray(8 * 1024 * 1024))
    """))
    assert not result.ok
    assert result.exit_code == 137 or "MemoryError" in result.output, result
    if result.exit_code == 137:
        assert any("out of memory" in n for n in result.notes), result.notes
    await assert_clean_and_next_runs_as_approved(client, sandbox)


async def test_infinite_loop_with_detached_children_times_out(client, sandbox) -> None:
    result = await sandbox.run(block("python", """
        import os, subprocess
        subprocess.Popen(["sh", "-c", "while :; do :; done"], start_new_session=True)
        if os.fork() == 0:
            os.setsid()
            while True:
                pass
        print("looping", flush=True)
        while True:
            pass
    """))
    assert result.timed_out and result.exit_code == 124, result
    assert result.output.startswith("looping")
    await assert_clean_and_next_runs_as_approved(client, sandbox)


async def test_100_mb_of_output(client, sandbox) -> None:
    result = await sandbox.run(block("sh", "head -c 100000000 /dev/zero | tr '\\0' 'x'; echo; echo END"))
    assert result.truncated and result.output.rstrip().endswith("END"), result.output[-200:]
    assert len(result.output.encode()) < 4096 + 300
    assert "bytes of output omitted" in result.output
    await assert_clean_and_next_runs_as_approved(client, sandbox)


async def test_closing_stdout_keeps_the_true_outcome(client, sandbox) -> None:
    result = await sandbox.run(block("python", """
        import os, time
        print("before close", flush=True)
        os.close(1); os.close(2)
        time.sleep(0.5)
        os._exit(7)
    """))
    assert result.exit_code == 7 and result.output == "before close\n", result
    await assert_clean_and_next_runs_as_approved(client, sandbox)


async def test_disk_fill_of_the_work_dir_is_stopped(client, sandbox) -> None:
    result = await sandbox.run(block("python", """
        import os
        chunk = b"x" * (1 << 20)
        for i in range(1000):
            with open(f"fill-{i}.bin", "wb") as f:
                for _ in range(4):
                    f.write(chunk)
        print("FILLED")
    """))
    assert not result.ok and "FILLED" not in result.output, result
    assert any("disk limit reached" in n for n in result.notes), result.notes
    used = sum(p.stat().st_size for p in sandbox.work_dir.glob("fill-*.bin"))
    assert used < 256 * 1024 * 1024
    for p in sandbox.work_dir.glob("fill-*.bin"):
        p.unlink()
    await assert_clean_and_next_runs_as_approved(client, sandbox)


async def test_one_big_file_and_a_full_tmp_are_stopped(client, sandbox) -> None:
    result = await sandbox.run(block("sh", "dd if=/dev/zero of=big.bin bs=1M count=200 2>&1; echo dd=$?"))
    assert any("disk limit reached" in n for n in result.notes), result
    assert (sandbox.work_dir / "big.bin").stat().st_size <= 40 * 1024 * 1024
    (sandbox.work_dir / "big.bin").unlink()
    result = await sandbox.run(block("sh", "dd if=/dev/zero of=/tmp/big bs=1M count=200 2>&1; echo dd=$?"))
    assert "dd=0" not in result.output, result
    assert any("disk limit reached" in n for n in result.notes), result
    assert (await sandbox.run(block("sh", "rm /tmp/big && echo removed"))).output == "removed\n"
    await assert_clean_and_next_runs_as_approved(client, sandbox)


async def test_code_cannot_write_the_control_dir_or_cancel_files(client, sandbox) -> None:
    result = await sandbox.run(block("sh", """
        for d in /run/tuiagents /workspace/.tuiagents; do
            touch "$d/probe" 2>/dev/null && echo "wrote $d" || echo "refused $d"
        done
        id -u
    """))
    assert "wrote /run/tuiagents" not in result.output, result.output
    await assert_clean_and_next_runs_as_approved(client, sandbox)


async def test_a_lost_watchdog_is_noticed_and_the_next_block_gets_a_fresh_sandbox(client, sandbox) -> None:
    # The code cannot kill the watchdog (see above), but the daemon or the OOM killer can.
    await sandbox.run(block("sh", "true"))
    first = sandbox.container_id
    started = asyncio.Event()
    running = asyncio.create_task(sandbox.run(
        block("python", "import time\nprint('up', flush=True)\ntime.sleep(30)"),
        on_output=lambda text: started.set()))
    await asyncio.wait_for(started.wait(), 30)
    await asyncio.to_thread(client.api.kill, first)
    result = await asyncio.wait_for(running, 30)
    assert not result.ok and result.exit_code != 0, result
    assert any("ended while the block ran" in n for n in result.notes), result.notes
    await assert_clean_and_next_runs_as_approved(client, sandbox)
    assert sandbox.container_id != first
    assert [c.id for c in _labelled(client, sandbox.session_id)] == [sandbox.container_id]


async def test_data_hidden_below_path_max_still_counts_against_the_disk_limit(client, sandbox) -> None:
    result = await sandbox.run(block("python", """
        import os
        os.mkdir("deep"); os.chdir("deep")
        for _ in range(120):  # about 6,000 characters of path: longer than PATH_MAX
            os.mkdir("d" * 50); os.chdir("d" * 50)
        chunk = b"x" * (1 << 20)
        for i in range(1000):  # 1 GB in all, if nobody stops it
            with open(f"part-{i}", "wb") as f:
                f.write(chunk)
        print("HIDDEN")
    """))
    assert "HIDDEN" not in result.output and not result.ok, result
    assert any("disk limit reached" in n for n in result.notes), result.notes
    cleaned = await sandbox.run(block("sh", "rm -rf deep && echo cleaned"))
    assert cleaned.output == "cleaned\n", cleaned
    await assert_clean_and_next_runs_as_approved(client, sandbox)


async def test_a_broken_control_folder_does_not_stop_later_blocks(client, sandbox) -> None:
    broken = await sandbox.run(block("sh", "rm -rf .tuiagents && mkfifo .tuiagents && echo broken"))
    assert broken.output == "broken\n", broken
    result = await asyncio.wait_for(sandbox.run(block("python", "print('x' * 9000)")), 60)
    assert result.exit_code == 0 and result.truncated, result
    assert "could not be saved" in result.output and result.full_output_path is None
    # A symlink to a folder of the host in its place: the host writes nothing through it.
    host_dir = sandbox.work_dir.parent / f"host-only-{uuid.uuid4().hex[:6]}"
    host_dir.mkdir()
    relinked = await sandbox.run(block("sh", f"rm .tuiagents && ln -s {host_dir} .tuiagents && echo ln"))
    assert relinked.output == "ln\n", relinked
    result = await sandbox.run(block("python", "print('y' * 9000)"))
    assert result.exit_code == 0 and "could not be saved" in result.output, result
    assert list(host_dir.iterdir()) == []
    fixed = await sandbox.run(block("sh", "rm .tuiagents && echo fixed"))
    assert fixed.output == "fixed\n", fixed
    await assert_clean_and_next_runs_as_approved(client, sandbox)


async def test_planted_startup_hooks_do_not_run_with_later_blocks(client, sandbox) -> None:
    # Files persist between blocks by design; interpreter start-up hooks must not come from them.
    planted = await sandbox.run(block("python", """
        import os, site, sys
        hook = "print('PWNED')\\n"
        user_site = site.getusersitepackages()
        os.makedirs(user_site, exist_ok=True)
        for path in (os.path.join(user_site, "usercustomize.py"), "sitecustomize.py",
                     "usercustomize.py", os.path.join(user_site, "evil.pth"), "json.py"):
            with open(path, "w") as f:
                f.write("import builtins; print('PWNED')\\n" if path.endswith(".pth") else hook)
        print("planted", user_site)
    """))
    assert planted.ok and "planted" in planted.output, planted
    result = await sandbox.run(block("python", "import json\nprint('benign')"))
    assert result.output == "benign\n", result
    nested = await sandbox.run(block("sh", "python3 -c \"print('benign')\""))
    assert nested.output == "benign\n", nested
    await sandbox.run(block("sh", "rm -rf sitecustomize.py usercustomize.py json.py /tmp/.local"))
    await assert_clean_and_next_runs_as_approved(client, sandbox)


async def test_a_conversation_goes_on_after_an_attack_with_true_outcomes(client, server, make_config, human,
                                                                         run_to_end, tmp_path) -> None:
    from tuiagents.engine.decisions import ApprovalRule, Decision, RequestKind
    from tuiagents.engine.events import DecisionRecorded, ExecutionFinished, ExecutionStarted
    from tuiagents.engine.factory import build_run
    from tuiagents.testing import Rule

    attack = ("```python\nimport json, os\n"
              "open(f'/proc/{os.getppid()}/fd/2', 'w').write(json.dumps({'exit_code': 0}))\n"
              "```")
    server.load([Rule(agent="assistant", replies=[attack, "```python\nprint('benign')\n```",
                                                  "TERMINATE"])])
    cfg = make_config(
        agents=[{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER",
                 "code_execution": "docker"},
                {"name": "assistant", "kind": "assistant", "model": "default"}],
        teams=[{"name": "pair", "agents": ["user", "assistant"], "max_turns": 6}],
        docker={"image": IMAGE, "timeout": 20})
    run = build_run(cfg, "pair", "attack", approve="ask", work_dir=tmp_path / "work")
    run.supervisor.add_rule(ApprovalRule(kind=RequestKind.MESSAGE))
    human.attach(run)
    human.queue(RequestKind.CODE, Decision.approve(), Decision.approve())
    result = await run_to_end(run, timeout=90)
    finished = [e for e in run.bus.history if isinstance(e, ExecutionFinished)]
    assert [e.exit_code for e in finished] == [1, 0]  # the forged "exit_code 0" was not believed
    texts = [m.content for m in result.chat_history if m.origin == "execution"]
    assert texts[0].startswith("exitcode: 1 (execution failed)") and "PermissionError" in texts[0]
    assert texts[1] == "exitcode: 0 (execution succeeded)\nCode output: benign"
    decided = [e.decision.code_sha256 for e in run.bus.history
               if isinstance(e, DecisionRecorded) and e.request_kind == RequestKind.CODE]
    started = [[e.code_sha256] for e in run.bus.history if isinstance(e, ExecutionStarted)]
    assert decided == started and all(decided)
    assert result.stop_reason == "assistant said TERMINATE"
    assert _labelled(client, run.run_id) == []


async def test_many_small_hogs_cannot_get_the_watchdog_oom_killed(client, sandbox) -> None:
    await sandbox.run(block("sh", "true"))
    before = sandbox.container_id
    result = await sandbox.run(block("python", """
        import os, time
        for _ in range(24):  # each stays smaller than the watchdog, so it looks the biggest
            if os.fork() == 0:
                try:
                    with open("/proc/self/oom_score_adj", "w") as f:
                        f.write("0")
                    print("LOWERED", flush=True)
                except OSError:
                    pass
                hog = []
                while True:
                    hog.append(bytearray(1 << 20))
                    time.sleep(0.002)
        time.sleep(3)
        print("main done", flush=True)
    """))
    if sandbox.oom_pinned:  # the daemon could grant SYS_RESOURCE: scores are pinned
        assert "LOWERED" not in result.output, result
        assert any("out of memory" in n for n in result.notes), result
        assert sandbox.container_id == before  # the watchdog lived: same sandbox
    elif sandbox.container_id != before:  # the watchdog was picked: said so, and replaced
        assert any("ended while the block ran" in n for n in result.notes), result
    else:
        assert any("out of memory" in n for n in result.notes), result
    assert not result.ok
    await assert_clean_and_next_runs_as_approved(client, sandbox)


async def test_a_sandbox_nobody_attaches_to_ends_by_itself(client, tmp_path) -> None:
    # The host was killed (-9) after Docker started the container but before it attached: the
    # watchdog must not wait for it forever, holding the container (and its limits) until the
    # next start reaps it.
    import requests

    from tuiagents.execution.docker_client import sandbox_user
    from tuiagents.execution.sandbox_container import create_sandbox_container
    from tuiagents.execution.settings import parse_size

    settings = DockerSettings(image=IMAGE)
    created = await asyncio.to_thread(
        create_sandbox_container, client.api, settings, tmp_path, f"orphan-{uuid.uuid4().hex[:6]}",
        sandbox_user(None), parse_size(settings.disk_limit), pin_oom=False)
    container = client.containers.get(created["Id"])
    try:
        await asyncio.to_thread(container.start)
        try:
            await asyncio.to_thread(container.wait, timeout=60)
        except requests.exceptions.ConnectionError:
            pytest.fail("the unattached sandbox was still running after 60 s")
        container.reload()
        assert container.status == "exited", container.status
    finally:
        await asyncio.to_thread(container.remove, force=True)


async def test_planted_modules_are_never_imported_implicitly(client, sandbox) -> None:
    # What a block merely wrote must not run when a later approved block, the standard library
    # looking for an optional module, or a python3 started in the workspace imports something.
    planted = await sandbox.run(block("python", """
        import os
        hook = "open('/workspace/PWNED-' + __name__.replace('/', '_'), 'w').close()\\nprint('PWNED')\\n"
        os.makedirs("tzdata/zoneinfo", exist_ok=True)
        for path in ("_gdbm.py", "_dbm.py", "tzdata/__init__.py", "json.py", "helper.py",
                     "runner.py"):
            with open(path, "w") as f:
                f.write(hook if path != "runner.py" else "import helper\\nprint('ran')\\n")
        print("planted")
    """))
    assert planted.ok and "planted" in planted.output, planted
    result = await sandbox.run(block("python", """
        import shelve, zoneinfo
        with shelve.open("/tmp/shelf") as db:
            db["k"] = 1
        print(len(zoneinfo.available_timezones()) >= 0)
        try:
            import helper
            print("imported helper")
        except ImportError:
            print("no helper")
    """))
    assert result.ok and result.output == "True\nno helper\n", result
    nested = await sandbox.run(block("sh", """
        python3 -c "import json; print('benign')"
        python3 runner.py || echo "runner refused"
        python3 -c "import subprocess, sys; subprocess.run([sys.executable, '-m', 'json.tool', '-h'],
                    stdout=subprocess.DEVNULL)"
    """))
    assert nested.output.startswith("benign\n") and "runner refused" in nested.output, nested
    assert "PWNED" not in result.output + nested.output
    left = await sandbox.run(block("sh", "ls /workspace | grep PWNED || echo none"))
    assert left.output == "none\n", left
    await sandbox.run(block("sh", "rm -rf _gdbm.py _dbm.py tzdata json.py helper.py runner.py"))
    await assert_clean_and_next_runs_as_approved(client, sandbox)


async def test_approved_files_stay_importable_until_code_changes_them(client, sandbox) -> None:
    saved = await sandbox.run(block("python", """
        # filename: approved_helper.py
        def answer():
            return 42
    """))
    assert saved.ok and saved.saved_to == "approved_helper.py", saved
    pkg = await sandbox.run(block("python", """
        # filename: approved_pkg/__init__.py
        from .inner import VALUE
    """))
    inner = await sandbox.run(block("python", """
        # filename: approved_pkg/inner.py
        VALUE = "inner"
    """))
    assert pkg.saved_to and inner.ok, (pkg, inner)
    used = await sandbox.run(block("python", """
        import approved_helper, approved_pkg
        print(approved_helper.answer(), approved_pkg.VALUE, approved_helper.__file__)
    """))
    assert used.output == "42 inner /workspace/approved_helper.py\n", used
    # Code rewrites the approved file: its new bytes were never approved, so they do not import.
    await sandbox.run(block("sh", "echo 'print(\"PWNED\")' > approved_helper.py"))
    again = await sandbox.run(block("python", """
        try:
            import approved_helper
        except ImportError as exc:
            print("refused:", exc)
    """))
    assert "PWNED" not in again.output and again.output.startswith("refused:"), again
    await sandbox.run(block("sh", "rm -rf approved_helper.py approved_pkg"))
    await assert_clean_and_next_runs_as_approved(client, sandbox)


def allocated(root) -> int:
    """Bytes allocated under ``root`` on the host, not following symlinks."""
    total = 0
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            total += os.lstat(os.path.join(folder, name)).st_blocks * 512
    return total


async def test_many_files_then_big_ones_cannot_overshoot_the_disk_limit(client, tmp_path) -> None:
    # Empty files made measuring the work dir slow (150,000 in the report; 30,000 are plenty
    # here); the next block then wrote 15x its limit before anything noticed. The limit must
    # hold whatever the number of files.
    limit = 20 << 20
    executor = DockerExecutor(DockerSettings(image=IMAGE, timeout=30, disk_limit="20m"), tmp_path,
                              f"quota-{uuid.uuid4().hex[:8]}")
    try:
        many = await executor.run(block("python", """
            import os
            os.makedirs("many", exist_ok=True)
            made = 0
            try:
                for i in range(30000):
                    open(f"many/{i}", "w").close()
                    made += 1
            except OSError as exc:
                print("stopped:", exc.strerror)
            print("made", made)
        """))
        assert "made" in many.output, many
        before = allocated(tmp_path)
        big = await executor.run(block("python", """
            import os
            chunk = os.urandom(1 << 20)
            for i in range(20):
                try:
                    with open(f"big{i}", "wb") as f:
                        for _ in range(15):
                            f.write(chunk)
                except OSError as exc:
                    print("refused:", exc.strerror)
        """))
        grown = allocated(tmp_path) - before
        assert grown <= limit + (1 << 20), f"the block wrote {grown} bytes past a limit of {limit}"
        assert big.disk_full and any("disk limit reached" in n for n in big.notes), big
        after = await executor.run(block("sh", "rm -rf many big* && echo cleaned"))
        assert after.output == "cleaned\n", after
        assert not (tmp_path / "many").exists()
    finally:
        await executor.close()


async def test_dev_shm_is_per_block_and_limited(client, sandbox) -> None:
    await sandbox.run(block("sh", "true"))
    if not getattr(sandbox, "disk_quota", True):
        pytest.skip("this daemon does not let the watchdog mount a per-block /dev/shm")
    wrote = await sandbox.run(block("sh", """
        echo left > /dev/shm/left-behind && echo wrote
        head -c 100000000 /dev/zero > /dev/shm/big 2>/dev/null || echo "refused past the limit"
    """))
    assert wrote.output == "wrote\nrefused past the limit\n", wrote
    later = await sandbox.run(block("sh", "ls -A /dev/shm | wc -l"))
    assert later.output == "0\n", later
    await assert_clean_and_next_runs_as_approved(client, sandbox)


async def test_the_work_dir_after_a_block_is_what_the_block_left(client, sandbox) -> None:
    # Under the disk quota a block writes to a layer merged into the work dir when it ends:
    # deletions, replacements, links, modes, times and holes must all arrive as they were.
    work = sandbox.work_dir
    (work / "gone.txt").write_text("delete me")
    (work / "folder").mkdir()
    (work / "folder" / "old.txt").write_text("old")
    (work / "becomes_file").mkdir()
    (work / "kept.txt").write_text("kept")
    if sandbox.owner is not None:  # owned by the sandbox user, as if its earlier blocks made them
        for name in ("gone.txt", "folder", "folder/old.txt", "becomes_file", "kept.txt"):
            os.chown(work / name, *sandbox.owner)
    result = await sandbox.run(block("sh", """
        rm gone.txt
        rm -r folder && mkdir folder && echo new > folder/new.txt
        rm -r becomes_file && echo file > becomes_file
        echo appended >> kept.txt
        ln -s kept.txt link
        printf x > mode.sh && chmod 750 mode.sh && touch -d 2001-02-03T04:05:06Z mode.sh
        truncate -s 20M sparse.bin && printf end >> sparse.bin
        echo done
    """))
    assert result.output == "done\n", result
    assert not (work / "gone.txt").exists()
    assert sorted(p.name for p in (work / "folder").iterdir()) == ["new.txt"]
    assert (work / "becomes_file").read_text() == "file\n"
    assert (work / "kept.txt").read_text() == "keptappended\n"
    assert os.readlink(work / "link") == "kept.txt"
    st = (work / "mode.sh").stat()
    assert oct(st.st_mode & 0o777) == oct(0o750) and st.st_mtime == 981173106
    sparse = (work / "sparse.bin").stat()
    assert sparse.st_size == 20 * 1024 * 1024 + 3 and sparse.st_blocks * 512 < 1 << 20
    await sandbox.run(block("sh", "rm -rf folder becomes_file kept.txt link mode.sh sparse.bin"))
    await assert_clean_and_next_runs_as_approved(client, sandbox)


async def test_what_a_block_wrote_is_kept_when_the_host_dies(client, tmp_path) -> None:
    # The host is killed (-9) while a block runs: the container's stdin closes, the watchdog
    # kills the block and still saves what it wrote into the work dir before it exits.
    import signal
    import subprocess
    import sys

    script = textwrap.dedent(f"""
        import asyncio, pathlib, sys
        from tuiagents.execution import DockerExecutor, DockerSettings
        from tuiagents.execution.codeblocks import CodeBlock

        async def main():
            executor = DockerExecutor(DockerSettings(image={IMAGE!r}, timeout=60),
                                      pathlib.Path({str(tmp_path)!r}), "killed-host")
            up = asyncio.Event()
            block = CodeBlock(language="sh", runnable=True,
                              code="echo saved > result.txt && echo up && sleep 50")
            asyncio.ensure_future(executor.run(block, on_output=lambda text: up.set()))
            await up.wait()
            print(executor.container_id, flush=True)
            await asyncio.sleep(60)

        asyncio.run(main())
    """)
    host = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    container = None
    try:
        container_id = await asyncio.wait_for(asyncio.to_thread(host.stdout.readline), 60)
        container = client.containers.get(container_id.strip())
        host.send_signal(signal.SIGKILL)
        await asyncio.to_thread(container.wait, timeout=60)
        assert (tmp_path / "result.txt").read_text() == "saved\n"
    finally:
        host.kill()
        host.wait()
        if container is not None:
            container.remove(force=True)


async def test_without_the_quota_the_disk_limit_is_measured(client, tmp_path, monkeypatch) -> None:
    # Where the daemon refuses the watchdog the right to mount (AppArmor, a restricted daemon),
    # the work dir is bind-mounted as before and measured while the block runs.
    from tuiagents.execution.sandbox_container import Grants

    monkeypatch.setattr(Grants, "quota", False)
    executor = DockerExecutor(DockerSettings(image=IMAGE, timeout=30, disk_limit="8m"), tmp_path,
                              f"measured-{uuid.uuid4().hex[:8]}")
    try:
        result = await executor.run(block("python", """
            chunk = b"x" * (1 << 20)
            for i in range(100):
                with open(f"fill-{i}.bin", "wb") as f:
                    f.write(chunk)
            print("FILLED")
        """))
        assert not executor.disk_quota
        assert "FILLED" not in result.output and result.disk_full, result
        assert (await executor.run(block("sh", "rm fill-* && echo ok"))).output == "ok\n"
    finally:
        await executor.close()


async def test_closing_the_sandbox_mid_block_keeps_what_the_block_wrote(client, tmp_path) -> None:
    # Quitting the app while a block runs ends the block at once; what it wrote so far stays in
    # the work dir, as it did when blocks wrote there directly.
    executor = DockerExecutor(DockerSettings(image=IMAGE, timeout=60), tmp_path,
                              f"closed-{uuid.uuid4().hex[:8]}")
    started = asyncio.Event()
    running = asyncio.create_task(executor.run(
        block("sh", "echo checkpoint > step1.txt && echo up && sleep 50"),
        on_output=lambda text: started.set()))
    await asyncio.wait_for(started.wait(), 30)
    await asyncio.wait_for(executor.close(), 30)
    result = await asyncio.wait_for(running, 30)
    assert result.cancelled and not result.ok, result
    assert (tmp_path / "step1.txt").read_text() == "checkpoint\n"
    assert _labelled(client, executor.session_id) == []
