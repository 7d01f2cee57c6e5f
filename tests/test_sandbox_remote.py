"""The sandbox on a daemon that shares no files with us: a second Docker daemon, its own socket and
data root, and the copied workspace.

The fixture starts that daemon (``dockerd`` with its own socket, data root, exec root and pidfile,
no bridge, no iptables), loads the sandbox image into it from the main daemon (``docker save |
docker -H ... load``, no build), and at the end stops it and removes its folders. A unix socket is
local, so the runs force ``workspace = "copy"`` (tests/test_workspace_mode.py shows that tcp:// and
ssh:// choose it by themselves). Each test checks the guarantees of the local sandbox in copy
mode: files come back, hashes, limits, cancel, cleanup, and ``docker inspect`` on the second
daemon shows no bind mount. Under ``TUIAGENTS_REQUIRE_DOCKER=1`` (CI) a missing piece fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import pytest
import pytest_asyncio

from tuiagents.execution import DockerExecutor, DockerSettings, extract_code_blocks
from tuiagents.execution.base import code_sha256
from tuiagents.execution.codeblocks import CodeBlock

IMAGE = os.environ.get("SANDBOX_IMAGE", "tuiagents-sandbox:latest")

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="module")]


def _unavailable(reason: str):
    if os.environ.get("TUIAGENTS_REQUIRE_DOCKER") == "1":  # CI: this test must run
        pytest.fail(reason)
    pytest.skip(reason)


def _docker(host: str | None, *args: str, **kwargs) -> subprocess.CompletedProcess:
    """The docker CLI against ``host``, or against the main daemon when None."""
    command = ["docker"] + (["-H", host] if host else []) + list(args)
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, **kwargs)


@pytest.fixture(scope="module")
def second_daemon():
    """``unix://`` URL of a Docker daemon of our own, with the sandbox image loaded."""
    if shutil.which("dockerd") is None or shutil.which("docker") is None:
        _unavailable("dockerd and docker are needed for a second daemon")
    if os.geteuid() != 0:
        _unavailable("a second Docker daemon needs root")
    if _docker(None, "image", "inspect", IMAGE).returncode != 0:
        _unavailable(f"sandbox image {IMAGE} is missing on the main daemon: run "
                     "`tuiagents sandbox build`")
    root = Path(tempfile.mkdtemp(prefix="tuiagents-d2-", dir="/tmp"))  # short: a socket path
    host = f"unix://{root}/docker.sock"
    log = open(root / "dockerd.log", "wb")  # noqa: SIM115 - closed at teardown
    daemon = subprocess.Popen(
        ["dockerd", "--host", host, "--data-root", str(root / "data"), "--exec-root",
         str(root / "exec"), "--pidfile", str(root / "docker.pid"), "--bridge=none",
         "--iptables=false"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        end = time.monotonic() + 90
        while _docker(host, "version").returncode != 0:
            if daemon.poll() is not None or time.monotonic() > end:
                tail = (root / "dockerd.log").read_text(errors="replace")[-2000:]
                _unavailable(f"the second dockerd did not start: {tail}")
            time.sleep(0.5)
        save = subprocess.Popen(["docker", "save", IMAGE], stdout=subprocess.PIPE)
        loaded = _docker(host, "load", stdin=save.stdout)
        save.stdout.close()
        save.wait(timeout=120)
        if loaded.returncode != 0:
            _unavailable(f"loading {IMAGE} into the second daemon failed: {loaded.stderr}")
        yield host
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(timeout=30)
        log.close()
        for mount in reversed(Path("/proc/mounts").read_text().splitlines()):
            where = mount.split()[1]
            if where.startswith(str(root)):
                subprocess.run(["umount", "-l", where], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
    assert not root.exists(), "the second daemon's folders were left behind"


@pytest.fixture(scope="module")
def remote_env(second_daemon):
    """DOCKER_HOST pointing at the second daemon for the module (restored afterwards)."""
    before = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = second_daemon
    yield second_daemon
    if before is None:
        os.environ.pop("DOCKER_HOST", None)
    else:
        os.environ["DOCKER_HOST"] = before


def block(lang: str, code: str) -> CodeBlock:
    (found,) = extract_code_blocks(f"```{lang}\n{textwrap.dedent(code).strip()}\n```")
    return found


def _executor(work: Path, **limits) -> DockerExecutor:
    settings = DockerSettings(image=IMAGE, workspace="copy", **limits)
    return DockerExecutor(settings, work, f"remote-{uuid.uuid4().hex[:8]}")


def _left_on(host: str) -> tuple[list[str], list[str]]:
    containers = _docker(host, "ps", "-aq", "--filter", "label=tuiagents=1").stdout.split()
    volumes = _docker(host, "volume", "ls", "-q").stdout.split()
    return containers, volumes


async def test_files_come_back_and_the_container_has_no_bind_mount(remote_env, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "input.csv").write_text("a,b\n1,2\n")
    executor = _executor(work)
    assert executor.workspace.copied
    try:
        result = await executor.run(block("python", """
            import os
            rows = open("input.csv").read().splitlines()
            os.makedirs("out/deep", exist_ok=True)
            open("out/deep/report.txt", "w").write(f"{len(rows)} rows\\n")
            open("out/blob.bin", "wb").write(bytes(range(256)) * 40)
            print("wrote", sorted(os.listdir("out")))
        """))
        assert result.ok, (result.output, result.notes, result.error)
        assert result.output == "wrote ['blob.bin', 'deep']\n"
        assert (work / "out" / "deep" / "report.txt").read_text() == "2 rows\n"
        assert (work / "out" / "blob.bin").read_bytes() == bytes(range(256)) * 40
        assert (work / "input.csv").read_text() == "a,b\n1,2\n"

        info = json.loads(_docker(remote_env, "inspect", executor.container_id).stdout)[0]
        assert not info["HostConfig"]["Binds"], info["HostConfig"]["Binds"]
        assert info["Mounts"] and {m["Type"] for m in info["Mounts"]} == {"volume"}
        assert str(work) not in json.dumps(info)
        # the main daemon never saw this container
        assert _docker(None, "inspect", executor.container_id).returncode != 0

        # what this side changes between blocks reaches the sandbox, deletions included
        (work / "input.csv").write_text("a,b\n1,2\n3,4\n")
        (work / "out" / "blob.bin").unlink()
        (work / "gone.txt").write_text("for the block to delete")
        result = await executor.run(block("sh", "wc -l < input.csv; ls out; rm out/deep/report.txt gone.txt"))
        assert result.output == "3\ndeep\n"
        # deleted there, deleted here: in a folder, and at the top of the work dir
        assert not (work / "out" / "deep" / "report.txt").exists() and not (work / "gone.txt").exists()
        assert (work / "out" / "deep").is_dir() and (work / "input.csv").exists()
    finally:
        await executor.close()
    assert _left_on(remote_env) == ([], []), "close() left a container or a volume"


async def test_approved_code_is_what_runs_and_approved_files_are_checked(remote_env, tmp_path):
    executor = _executor(tmp_path)
    try:
        refused = await executor.run(block("sh", "touch ran"), approved_sha256=code_sha256("true"))
        assert "not the code that was approved" in (refused.error or "")
        saved = await executor.run(block("python", "# filename: helper.py\nVALUE = 42\n"))
        assert saved.saved_to == "helper.py"
        result = await executor.run(block("python", "import helper; print(helper.VALUE)"))
        assert result.output == "42\n", (result.output, result.notes)
        # changed here after approval: copied in, but no longer what was approved
        (tmp_path / "helper.py").write_text("VALUE = 'planted'\n")
        result = await executor.run(block("python", "import helper; print(helper.VALUE)"))
        assert "ModuleNotFoundError" in result.output
        assert not (tmp_path / "ran").exists()
    finally:
        await executor.close()


async def test_disk_limit_timeout_and_output_cap_hold(remote_env, tmp_path):
    executor = _executor(tmp_path, disk_limit="4m", timeout=3, output_limit=1000)
    try:
        result = await executor.run(block("sh", "head -c 20000000 /dev/zero > big.bin; echo done"))
        assert result.disk_full, result.notes
        assert sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file()) <= 4 << 20
        result = await executor.run(block("sh", "echo partial > partial.txt; sleep 30"))
        assert result.timed_out and (tmp_path / "partial.txt").read_text() == "partial\n"
        result = await executor.run(block("python", "print('x' * 100000)"))
        assert result.truncated and len(result.output) < 5000
    finally:
        await executor.close()


async def test_cancel_and_close_mid_block_keep_what_was_written(remote_env, tmp_path):
    executor = _executor(tmp_path)
    try:
        cancel = asyncio.Event()
        task = asyncio.ensure_future(executor.run(block("sh", "echo one > one.txt; sleep 60"),
                                                  cancel=cancel))
        await _appears(executor, "one.txt")
        cancel.set()
        result = await asyncio.wait_for(task, 60)
        assert result.cancelled and (tmp_path / "one.txt").read_text() == "one\n"
        task = asyncio.ensure_future(executor.run(block("sh", "echo two > two.txt; sleep 60")))
        await _appears(executor, "two.txt")
        await executor.close()
        result = await asyncio.wait_for(task, 60)
        assert result.cancelled and (tmp_path / "two.txt").read_text() == "two\n"
    finally:
        await executor.close()
    assert _left_on(remote_env) == ([], [])


async def _appears(executor: DockerExecutor, name: str) -> None:
    """Wait until the running block has written ``name`` (seen inside the container)."""
    end = time.monotonic() + 60
    while time.monotonic() < end:
        if executor.container_id:
            found = _docker(os.environ["DOCKER_HOST"], "exec", executor.container_id, "sh", "-c",
                            f"ls /workspace/{name}")
            if found.returncode == 0:
                return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{name} never appeared in the sandbox")


async def test_a_hostile_block_cannot_reach_past_the_work_dir(remote_env, tmp_path):
    work, outside = tmp_path / "work", tmp_path / "outside"
    work.mkdir()
    outside.mkdir()
    (outside / "keep.txt").write_text("untouched")
    executor = _executor(work)
    try:
        result = await executor.run(block("sh", f"""
            ln -s {outside} out
            ln -s .. up
            ln -s {outside}/keep.txt keep
            mkfifo pipe
            mkdir d && echo inside > d/file
        """))
        assert result.ok, (result.output, result.notes)
        assert os.readlink(work / "out") == str(outside) and os.readlink(work / "up") == ".."
        assert not (work / "pipe").exists() or not (work / "pipe").is_file()
        # a later block writes "through" the links: in the sandbox, never here
        result = await executor.run(block("sh", "echo pwned > keep; echo pwned > out/new.txt; "
                                                "rm -rf d; ln -s {outside} d".format(outside=outside)))
        assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"]
        assert (outside / "keep.txt").read_text() == "untouched"
        assert os.path.islink(work / "d")
    finally:
        await executor.close()


CRASHING_RUN = """
import asyncio, os, sys
from pathlib import Path
from tuiagents.execution import DockerExecutor, DockerSettings
from tuiagents.execution.codeblocks import CodeBlock

async def main():
    executor = DockerExecutor(DockerSettings(image=sys.argv[1], workspace="copy"), Path(sys.argv[2]),
                              "crashed-" + str(os.getpid()))
    await executor.run(CodeBlock(language="sh", code="echo kept > kept.txt", runnable=True))
    print(executor.container_id, flush=True)
    await executor.run(CodeBlock(language="sh", code="sleep 300", runnable=True))

asyncio.run(main())
"""


async def test_a_crashed_host_leaves_no_container_or_volume_after_reaping(remote_env, tmp_path):
    from tuiagents.execution.docker_client import reap_orphans

    process = await asyncio.create_subprocess_exec(
        "python3", "-c", CRASHING_RUN, IMAGE, str(tmp_path), stdout=asyncio.subprocess.PIPE)
    container = (await asyncio.wait_for(process.stdout.readline(), 120)).decode().strip()
    assert (tmp_path / "kept.txt").read_text() == "kept\n"
    info = json.loads(_docker(remote_env, "inspect", container).stdout)[0]
    (volume,) = [m["Name"] for m in info["Mounts"] if m["Type"] == "volume"]
    labels = json.loads(_docker(remote_env, "volume", "inspect", volume).stdout)[0]["Labels"]
    assert labels.get("tuiagents") == "1"  # findable as ours
    await asyncio.sleep(1)  # the second block is running
    process.kill()  # kill -9: no close(), no atexit
    await process.wait()
    assert container[:12] in _left_on(remote_env)[0]
    removed = await asyncio.to_thread(reap_orphans)
    assert any(session.startswith("crashed-") for session in removed)
    assert _left_on(remote_env) == ([], [])
    # a sandbox removed by hand without its volume (docker rm -f): the volume goes at the next reaping
    executor = _executor(tmp_path)
    try:
        assert (await executor.run(block("sh", "true"))).ok
        _docker(remote_env, "rm", "-f", executor.container_id)
        assert _left_on(remote_env)[1], "docker rm -f without -v keeps the volume"
    finally:
        await executor.close()
    await asyncio.to_thread(reap_orphans)
    assert _left_on(remote_env) == ([], [])


async def test_a_whole_run_runs_its_code_on_the_daemon_that_shares_no_files(remote_env, tmp_path):
    """`tuiagents run --headless` as a person starts it, with DOCKER_HOST at the second daemon."""
    import sys

    from headless_support import pair_toml

    from tuiagents.testing import Rule, ScriptedServer

    code = "```python\n# filename: answer.py\nopen('answer.txt', 'w').write(str(sum(range(101))))\nprint('saved')\n```"
    rules = [Rule(agent="assistant", contains="exitcode: 0", reply="It is saved. TERMINATE"),
             Rule(agent="assistant", reply=f"Let me save it:\n\n{code}")]
    work_root = tmp_path / "work"
    with ScriptedServer(rules) as server:
        config = tmp_path / "config.toml"
        config.write_text(pair_toml(server.url, 6, user='code_execution = "docker"',
                                    extra=f'[docker]\nimage = "{IMAGE}"\nworkspace = "copy"\n'
                                          f'work_dir = "{work_root}"\n'))
        env = dict(os.environ, TUIAGENTS_DATA_DIR=str(tmp_path / "data"), OPENAI_API_KEY="sk-test-not-real",
                   TUIAGENTS_CACHE_DIR=str(tmp_path / "cache"), DOCKER_HOST=remote_env)
        env.pop("TUIAGENTS_CONFIG", None)
        done = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "tuiagents", "run", "--headless", "--config", str(config),
                               "--team", "pair", "--task", "Save the sum of 0..100.", "--approve", "all",
                               "--session", str(tmp_path / "run.jsonl")],
                              capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    (answer,) = work_root.rglob("answer.txt")
    assert answer.read_text() == "5050" and (answer.parent / "answer.py").exists()
    events = [json.loads(line) for line in (tmp_path / "run.jsonl").read_text().splitlines()[1:]]
    finished = [e for e in events if e.get("type") == "execution_finished"]
    assert finished and finished[0]["exit_code"] == 0
    assert _left_on(remote_env) == ([], [])


async def test_a_permission_only_change_comes_back_without_special_bits(remote_env, tmp_path):
    (tmp_path / "run.sh").write_text("echo hi\n")
    (tmp_path / "tool").mkdir()
    (tmp_path / "tool" / "go.py").write_text("print(1)\n")
    (tmp_path / "open.txt").write_text("x\n")
    (tmp_path / "open.txt").chmod(0o755)
    (tmp_path / "special").write_text("s\n")
    owners = {name: (tmp_path / name).stat().st_uid for name in ("run.sh", "special")}
    executor = _executor(tmp_path)
    try:
        result = await executor.run(block("sh", "chmod +x run.sh tool/go.py; chmod 640 open.txt; "
                                                "chmod 6755 special; chmod +t special; ls -l special"))
        assert result.ok, (result.output, result.notes)
        assert "s" in result.output.split()[0][:7]  # the sandbox did set the setuid bit there
        assert stat.S_IMODE((tmp_path / "run.sh").stat().st_mode) == 0o755
        assert stat.S_IMODE((tmp_path / "tool" / "go.py").stat().st_mode) == 0o755
        assert stat.S_IMODE((tmp_path / "open.txt").stat().st_mode) == 0o640
        # the permission bits only: never setuid, setgid or sticky, never another owner
        assert stat.S_IMODE((tmp_path / "special").stat().st_mode) == 0o755
        assert {name: (tmp_path / name).stat().st_uid for name in owners} == owners
        # and what came back is not sent in again as a change of this side
        result = await executor.run(block("sh", "ls -l run.sh | cut -c1-10"))
        assert result.output == "-rwxr-xr-x\n", result.output
    finally:
        await executor.close()


CUT_OFF_RUN = """
import asyncio, os, sys
from pathlib import Path
from tuiagents.execution import DockerExecutor, DockerSettings
from tuiagents.execution.codeblocks import CodeBlock

async def main():
    executor = DockerExecutor(DockerSettings(image=sys.argv[1], workspace="copy"), Path(sys.argv[2]),
                              "cutoff-" + str(os.getpid()))
    await executor.run(CodeBlock(language="sh", code="true", runnable=True))
    print(executor.container_id, flush=True)
    await executor.run(CodeBlock(language="sh", runnable=True, code=(
        "rm old.txt; echo lost > lost.txt; mkdir -p out && echo deep > out/deep.txt; "
        "chmod +x tool.sh; touch done; sleep 300")))

asyncio.run(main())
"""


async def test_a_kill_9_mid_block_loses_none_of_its_files(remote_env, tmp_path, monkeypatch):
    """The run's process dies while a block runs: the next start on that work dir gets them."""
    monkeypatch.setenv("TUIAGENTS_DATA_DIR", str(tmp_path / "data"))
    work = tmp_path / "work"
    work.mkdir()
    (work / "old.txt").write_text("the block deletes this")
    (work / "mine.txt").write_text("before")
    (work / "tool.sh").write_text("echo tool\n")
    process = await asyncio.create_subprocess_exec(
        "python3", "-c", CUT_OFF_RUN, IMAGE, str(work), stdout=asyncio.subprocess.PIPE)
    container = (await asyncio.wait_for(process.stdout.readline(), 120)).decode().strip()
    end = time.monotonic() + 60
    while _docker(remote_env, "exec", container, "ls", "/workspace/done").returncode != 0:
        assert time.monotonic() < end, "the block never ran"
        await asyncio.sleep(0.2)
    process.kill()  # kill -9 mid-block: no close(), no atexit, no copy back
    await process.wait()
    assert not (work / "lost.txt").exists()
    (work / "mine.txt").write_text("edited here after the crash")

    executor = _executor(work)  # the run resumed: same work dir, a new sandbox
    try:
        result = await executor.run(block("sh", "cat lost.txt out/deep.txt mine.txt; ls old.txt"))
        assert result.output.startswith("lost\ndeep\nedited here after the crash"), result.output
        assert (work / "lost.txt").read_text() == "lost\n"
        assert (work / "out" / "deep.txt").read_text() == "deep\n"
        assert stat.S_IMODE((work / "tool.sh").stat().st_mode) == 0o755
        assert not (work / "old.txt").exists()  # what the block deleted is deleted here
        assert (work / "mine.txt").read_text() == "edited here after the crash"
        notice = executor.pop_notice() or ""
        assert "recovered" in notice and str(work) in notice, notice
    finally:
        await executor.close()
    assert _left_on(remote_env) == ([], []), "a container or a volume was left behind"
    assert not list((tmp_path / "data" / "sandbox-copies").iterdir())


async def test_a_block_touching_many_entries_is_read_back_in_one_archive_of_them(remote_env, tmp_path):
    """Past 32 touched top entries the whole work dir was read back: now one archive of just
    what the block changed, gathered by the watchdog, with deletions and modes as ever."""
    for number in range(60):
        (tmp_path / f"keep{number}.txt").write_text("untouched")
    for number in range(40):
        (tmp_path / f"old{number}.txt").write_text("the block deletes this")
    (tmp_path / ".tuiagents-back").write_text("a file of mine by the watchdog's name")
    executor = _executor(tmp_path)
    calls: list[str] = []
    try:
        assert (await executor.run(block("sh", "true"))).ok
        assert executor.disk_quota, "the kernel's quota layer names what a block touched"
        api = executor._client.api
        real = api.get_archive

        def spy(container, path, *args, **kwargs):
            calls.append(path)
            return real(container, path, *args, **kwargs)

        api.get_archive = spy
        result = await executor.run(block("sh", """
            for i in $(seq 0 99); do echo "new $i" > "new$i.txt"; done
            rm old*.txt
            mkdir -p tree/a/b && echo deep > tree/a/b/c.txt && ln -s a/b/c.txt tree/link
            echo again > keep0.txt; chmod 700 keep1.txt
            ls -a | grep -c tuiagents-back || true
        """))
        assert result.ok, (result.output, result.notes)
        assert result.output == "0\n"  # the host's own file of that name does not go in
        assert calls == [f"{executor.workspace.root}/.tuiagents-back"], calls
        assert sorted(p.name for p in tmp_path.glob("new*.txt")) == sorted(
            f"new{i}.txt" for i in range(100))
        assert (tmp_path / "new7.txt").read_text() == "new 7\n"
        assert not list(tmp_path.glob("old*.txt"))
        assert (tmp_path / "tree" / "a" / "b" / "c.txt").read_text() == "deep\n"
        assert os.readlink(tmp_path / "tree" / "link") == "a/b/c.txt"
        assert (tmp_path / "keep0.txt").read_text() == "again\n"
        assert stat.S_IMODE((tmp_path / "keep1.txt").stat().st_mode) == 0o700
        assert (tmp_path / "keep2.txt").read_text() == "untouched"
        assert (tmp_path / ".tuiagents-back").read_text() == "a file of mine by the watchdog's name"
        # the gathering is gone before the next block runs; a block's own one never comes back
        result = await executor.run(block("sh", "ls -a | grep -c tuiagents-back; "
                                                "mkdir .tuiagents-back; ln -s / .tuiagents-back/root; "
                                                "echo one > one.txt"))
        assert result.output == "0\n", result.output
        assert (tmp_path / ".tuiagents-back").is_file() and (tmp_path / "one.txt").exists()
    finally:
        await executor.close()
