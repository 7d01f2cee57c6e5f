"""Run approved code in one long-lived, locked-down Docker container per session.

The container (:mod:`sandbox_container`) is created on the first run: no network,
memory/CPU/process limits, a read-only root file system, size-limited tmpfs /tmp, and the
watchdog (:mod:`sandbox_runner`) as PID 1, running as root with only the capabilities it needs.
The session's work dir is seen at /workspace through a per-block layer the kernel limits to the
disk limit (:mod:`sandbox_disk`), or mounted there and measured where the daemon does not let the
watchdog mount. The work dir is bind-mounted, or, for a daemon that cannot see this disk, copied
in and out around each block (:mod:`sandbox_workspace`). Blocks run as the unprivileged sandbox
user. The host attaches to the container's stdin/stdout before starting it (:mod:`sandbox_channel`
over :mod:`sandbox_transport`): it sends the approved bytes with their sha256 and reads back the
output and the outcome, which the code cannot forge (:mod:`sandbox_protocol`).

Nothing here blocks the event loop: Docker SDK calls and file work in the work dir run in
threads with timeouts, and the channel is an asyncio stream.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from tuiagents.execution.base import (
    EXIT_CANCELLED,
    SCRIPT_SUFFIX,
    CodeExecutor,
    ExecutionLimits,
    ExecutionResult,
    OnOutput,
    StartProblem,
    code_bytes,
    code_sha256,
    new_run_id,
    not_run,
    save_named_file,
)
from tuiagents.execution.codeblocks import CodeBlock
from tuiagents.execution.docker_client import (
    cleanup_leftovers,
    connect_docker,
    owner_of,
    sandbox_user,
    start_reaper,
    track_container,
)
from tuiagents.execution.files import UnsafePathError, off_loop, share_dir
from tuiagents.execution.output import FULL_OUTPUT_LIMIT, OutputCapture
from tuiagents.execution.sandbox_channel import SandboxChannel
from tuiagents.execution.sandbox_check import build_command, daemon_problem, image_problem, sandbox_problem
from tuiagents.execution.sandbox_container import (
    INTERPRETERS,
    WORKSPACE,
    Grants,
    create_sandbox_container,
)
from tuiagents.execution.sandbox_disk import HOST
from tuiagents.execution.sandbox_protocol import exchange_block, settle_block
from tuiagents.execution.sandbox_workspace import make_workspace
from tuiagents.execution.sandbox_results import (
    NotRun,
    copied_back,
    lost_result,
    not_started,
    outcome_result,
)
from tuiagents.execution.settings import DockerSettings, parse_size

__all__ = ["DockerExecutor", "cleanup_leftovers"]

log = logging.getLogger(__name__)

# Closing mid-block: how long the watchdog may take to save the block's files before removal.
SAVE_GRACE = 20.0
# How long a copied work dir's first block waits for leftovers' files to be recovered.
RESCUE_WAIT = 120.0
# Creating a container may pull its image: generous, but never forever.
START_TIMEOUT = 300.0


class DockerExecutor(CodeExecutor):
    """Runs blocks in the session's sandbox container (created lazily, removed by close())."""

    kind: Literal["docker"] = "docker"

    def __init__(self, settings: DockerSettings, work_dir: Path, session_id: str) -> None:
        self.settings = settings
        self.work_dir = Path(work_dir)
        self.session_id = session_id
        self.user = sandbox_user(settings.user)
        self.owner = owner_of(self.user)
        self.disk_limit = parse_size(settings.disk_limit)
        self.limits = ExecutionLimits(
            kind="docker", image=settings.image, network=settings.network, memory=settings.memory,
            cpus=settings.cpus, pids_limit=settings.pids_limit, timeout=settings.timeout,
            output_limit=settings.output_limit, user=self.user,
        )
        self._client: Any = None
        self._container: Any = None
        self._channel: SandboxChannel | None = None
        self._lock = asyncio.Lock()
        # A block whose task was cancelled: its outcome must be read before the next one starts.
        self._unfinished: str | None = None
        # Files saved from approved `# filename:` blocks (work-dir path -> sha256 of the bytes
        # approved): the only work-dir files a python block imports (see PYTHON_BOOT).
        self._approved_files: dict[str, str] = {}
        # Leftover containers of crashed sessions are removed in the background as the run
        # starts or resumes; pop_notice() says so once.
        self._reaper = start_reaper()
        self._notice_shown = False
        #: Whether the OOM killer spares the watchdog for sure (the daemon granted SYS_RESOURCE).
        self.oom_pinned = False
        #: Whether the kernel holds the disk limit (a per-block tmpfs layer), not a measurement.
        self.disk_quota = False
        #: How the work dir reaches the container (bound or copied), and why.
        self.workspace = make_workspace(settings, self.work_dir, self.owner, self.disk_limit)

    def pop_notice(self) -> str | None:
        """Once: what the start-up cleanup removed (None if nothing, or not finished yet)."""
        if self._notice_shown or not self._reaper.done():
            return None
        self._notice_shown = True
        return self._reaper.result()

    @property
    def container_id(self) -> str | None:
        """The sandbox container's id, or None before the first run / after close()."""
        return self._container.id if self._container is not None else None

    async def start_problem(self) -> StartProblem | None:
        """Why the sandbox cannot start now (daemon or image missing), or None; see CodeExecutor."""
        if self._channel is not None and not self._channel.closed:
            return None
        try:
            return await asyncio.wait_for(asyncio.to_thread(sandbox_problem, self.settings.image), 30)
        except asyncio.TimeoutError:
            return daemon_problem(TimeoutError("no answer in 30 s"))

    # -- container lifecycle -------------------------------------------------------------

    def _create_container(self) -> Any:
        """Blocking: connect, find (or pull) the image, create (not start) the container."""
        import docker

        if self._client is None:
            try:
                self._client = connect_docker()
            except docker.errors.DockerException as exc:
                raise NotRun(daemon_problem(exc)) from exc
        client = self._client
        self._remove_container()
        try:
            client.images.get(self.settings.image)
        except docker.errors.ImageNotFound:
            try:
                client.images.pull(self.settings.image)
            except docker.errors.DockerException as exc:
                log.info("pulling %s failed: %s", self.settings.image, exc)
                raise NotRun(image_problem(client, self.settings.image) or StartProblem(
                    what="image", missing=f"pulling the sandbox image {self.settings.image} failed",
                    fix=f"`docker pull {self.settings.image}` says why; offline: "
                        f"`{build_command(self.settings.image)}`")) from exc
        self.work_dir.mkdir(parents=True, exist_ok=True)
        share_dir(self.work_dir, self.owner)
        created = create_sandbox_container(client.api, self.settings, self.work_dir,
                                           self.session_id, self.user, self.disk_limit,
                                           pin_oom=Grants.pin_oom, quota=Grants.quota,
                                           copied=self.workspace.copied)
        container = client.containers.prepare_model({"Id": created["Id"]})
        track_container(container.id, live=True)
        self._container = container
        self.workspace.reset(HOST if Grants.quota else WORKSPACE)
        return container

    def _start_container(self, container: Any) -> bool:
        """Blocking: start the created container; False if it must be made again with fewer
        capabilities (a nested or restricted daemon has not all of them to give)."""
        import docker

        try:
            self._client.api.start(container.id)
        except docker.errors.APIError as exc:
            if not Grants.refused(exc):
                raise
            self._remove_container()
            return False
        self.oom_pinned = Grants.pin_oom
        return True

    def _wait_container(self, timeout: float) -> None:
        """Blocking: wait up to ``timeout`` s for the container to exit."""
        if self._container is not None:
            try:
                self._container.wait(timeout=timeout)
            except Exception as exc:  # noqa: BLE001 - timed out or gone: it is removed next
                log.debug("sandbox did not exit: %s", exc)

    def _remove_container(self) -> None:
        container, self._container = self._container, None
        if container is None:
            return
        track_container(container.id, live=False)
        self.workspace.discard(container.id)
        try:
            container.remove(v=True, force=True)
        except Exception as exc:  # noqa: BLE001 - already gone or daemon down: nothing to keep
            log.debug("could not remove %s: %s", container.id, exc)

    async def _restart(self) -> None:
        """Drop the channel and the container; the next block starts a fresh one."""
        channel, self._channel = self._channel, None
        self._unfinished = None
        if channel is not None:
            channel.close()
        await asyncio.to_thread(self._remove_container)

    async def _ensure_channel(self) -> SandboxChannel:
        if self._channel is not None and not self._channel.closed:
            return self._channel
        await self._restart()
        if self.workspace.copied and not self._reaper.done():
            # A dead run's block may have left files for this work dir in its container: they
            # are copied back (see workspace_rescue) before this work dir is copied in.
            try:
                await asyncio.to_thread(self._reaper.result, RESCUE_WAIT)
            except Exception:  # noqa: BLE001 - still under way: this work dir goes in as it is
                log.info("the reaping of leftover sandboxes is still under way")
        while True:
            container = await asyncio.wait_for(asyncio.to_thread(self._create_container),
                                               START_TIMEOUT)
            channel: SandboxChannel | None = None
            try:
                # Attached before it starts: the watchdog is never up with nobody on the line
                # (and exits by itself if our ping does not come, e.g. we were killed here).
                channel = await SandboxChannel.attach(self._client.api, container.id, 60)
                if not await asyncio.wait_for(asyncio.to_thread(self._start_container, container),
                                              60):
                    channel.close()
                    continue
                hello = await channel.handshake(60)
                if Grants.quota and not hello.get("quota"):
                    # The daemon granted the capabilities, but mounting is refused (AppArmor):
                    # made again with the work dir at /workspace, measured while blocks run.
                    Grants.quota = False
                    channel.close()
                    await asyncio.to_thread(self._remove_container)
                    continue
                self.disk_quota = bool(hello.get("quota"))
            except Exception as exc:  # noqa: BLE001 - closed, refused or timed out: same advice
                if channel is not None:
                    channel.close()
                await asyncio.to_thread(self._remove_container)
                if type(exc).__module__.startswith("docker."):  # the SDK's: reported as it is
                    raise
                raise NotRun(StartProblem(
                    what="sandbox", missing=f"the sandbox watchdog did not start in {self.settings.image} ({exc})",
                    fix=f"the image needs python3 (>= 3.6): build one with `{build_command()}` or pick "
                        "another [docker] image; `tuiagents doctor` checks it")) from None
            self._channel = channel
            return channel

    async def close(self) -> None:
        """Remove the container (killing a block still running) and close the client.

        Does not wait for a running block: quitting must be immediate, and removing the
        container ends that block. Under the disk quota, what that block wrote so far is only
        in its layer: the line is closed first, so the watchdog kills the block, saves its
        files into the work dir and exits (waited for at most SAVE_GRACE s). The work dir
        stays; a later run starts a new container.
        """
        channel, self._channel = self._channel, None
        if channel is not None:
            channel.closed_by_owner = True
            if (self.disk_quota or self.workspace.copied) and self._lock.locked():
                channel.close()
                await asyncio.to_thread(self._wait_container, SAVE_GRACE)
                if self.workspace.copied and self._container is not None:  # exited, not gone
                    await self.workspace.pull(self._client.api, self._container.id)
        await asyncio.to_thread(self._remove_container)
        if channel is not None:
            channel.close()
        if self._client is not None and not self._lock.locked():
            client, self._client = self._client, None
            await asyncio.to_thread(client.close)

    # -- running a block -----------------------------------------------------------------

    async def run(
        self,
        block: CodeBlock,
        on_output: OnOutput | None = None,
        cancel: asyncio.Event | None = None,
        approved_sha256: str | None = None,
    ) -> ExecutionResult:
        """Run ``block`` in the container; see :class:`CodeExecutor.run`."""
        started = time.monotonic()
        code = code_bytes(block.code)
        digest = code_sha256(block.code)
        if approved_sha256 is not None and approved_sha256 != digest:
            return not_run(block, "refused: this code is not the code that was approved "
                                  "(its sha256 differs); it needs a new approval")
        async with self._lock:
            # Saved only once no block of ours runs (after _settle): nothing can change the file
            # between this write and the next block.
            saved_to = None
            try:
                await self._settle()
                if block.filename is not None:
                    saved_to = await off_loop(save_named_file, block, self.work_dir, self.owner)
                    self._approved_files[PurePosixPath(saved_to).as_posix()] = digest
            except (UnsafePathError, OSError) as exc:
                return not_run(block, str(exc))
            if not block.runnable:
                return ExecutionResult(exit_code=0, skipped=True, saved_to=saved_to)
            if block.language not in INTERPRETERS:
                return not_run(block, f"no interpreter for {block.language} blocks in the sandbox")
            if cancel is not None and cancel.is_set():
                return ExecutionResult(exit_code=EXIT_CANCELLED, cancelled=True, saved_to=saved_to,
                                       notes=["cancelled before it started"])
            try:
                channel = await self._ensure_channel()
            except NotRun as exc:
                return not_started(block, exc.problem, saved_to)
            except Exception as exc:  # noqa: BLE001 - any SDK/daemon failure becomes a message
                return not_started(block, StartProblem(
                    what="sandbox", missing=f"could not start the sandbox container: {exc}",
                    fix="`tuiagents doctor` checks the daemon, the image and the [docker] limits"), saved_to)
            try:
                problems = await self.workspace.push(self._client.api, channel_container(self),
                                                     channel)
                result = await self._exec(channel, block, code, digest, on_output, cancel)
                result.notes += problems
            except (UnsafePathError, OSError) as exc:
                result = not_run(block, str(exc))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001
                log.exception("sandbox exec failed")
                result = not_run(block, f"the sandbox failed while running the block: {exc}")
        result.saved_to = saved_to
        result.duration = time.monotonic() - started
        return result

    async def _settle(self) -> None:
        """Read the outcome of a block whose task was cancelled; restart if it does not come."""
        pending, channel = self._unfinished, self._channel
        if pending is None or channel is None:
            return
        if await settle_block(channel, pending):
            self._unfinished = None
            await self.workspace.pull(self._client.api, channel_container(self))
        else:
            await self._restart()

    async def _exec(self, channel: SandboxChannel, block: CodeBlock, code: bytes, digest: str,
                    on_output: OnOutput | None, cancel: asyncio.Event | None) -> ExecutionResult:
        timeout = self.settings.timeout
        run_id = new_run_id()
        # The saved full output lands in the work dir: it must fit well within the disk limit.
        save_limit = min(FULL_OUTPUT_LIMIT, self.disk_limit // 4)
        capture = await OutputCapture.create(self.settings.output_limit, self.work_dir, run_id,
                                             on_output, self.owner, save_limit)
        name = (PurePosixPath(block.filename).name if block.filename
                else "block" + SCRIPT_SUFFIX.get(block.language, ".txt"))
        argv = list(INTERPRETERS[block.language])
        if block.language == "python":  # the name the code sees itself by (see PYTHON_BOOT)
            argv.append(f"{WORKSPACE}/{block.filename}" if block.filename else "")
        header = json.dumps({
            "id": run_id, "argv": argv, "name": name, "sha256": digest,
            "timeout": timeout, "disk_limit": self.disk_limit,
            "forward_limit": save_limit, "tail": self.settings.output_limit,
            "approved": self._approved_files,
        }).encode()

        def sent() -> None:
            self._unfinished = run_id

        reply = await exchange_block(channel, run_id, header, code, capture, cancel, timeout, sent)
        if reply.outcome is not None:
            self._unfinished = None
        full_path = await off_loop(capture.finish)
        result = ExecutionResult(exit_code=1, output=capture.text(), truncated=capture.truncated,
                                 full_output_path=full_path)
        if reply.outcome is not None:
            copied = await self.workspace.pull(self._client.api, channel_container(self),
                                               reply.outcome.get("changed"),
                                               reply.outcome.get("staged"))
            if reply.outcome.get("clean") is False and self._channel is not None:
                self._channel.close()  # processes it could not kill: a fresh container next
            return copied_back(outcome_result(result, reply.outcome, self.settings), copied,
                                self.settings)
        if reply.lost == "closed" and getattr(channel, "closed_by_owner", False):
            result.cancelled, result.exit_code = True, EXIT_CANCELLED
            result.notes.append("stopped: the sandbox was closed while the block ran")
            return result
        if channel.stderr:  # the watchdog's own last words, for whoever debugs this
            log.warning("sandbox watchdog: %s", channel.stderr.decode(errors="replace")[-1000:])
        await self._restart()
        return lost_result(result, reply, timeout)


def channel_container(executor: DockerExecutor) -> str:
    """The id of the container the executor's channel talks to."""
    container = executor._container
    if container is None:
        raise OSError("the sandbox container is gone")
    return container.id
