"""Run approved code in one long-lived, locked-down Docker container per session.

The container is created on the first run: the session's work dir bind-mounted at /workspace,
no network, memory/CPU/process limits, a non-root user, no capabilities, a read-only root file
system and a tmpfs /tmp. It idles under a tiny reaper and every block runs through ``docker
exec`` of :mod:`sandbox_runner`, which enforces the timeout, obeys cancel requests and kills
everything the block started. Blocking docker SDK calls go through ``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from pathlib import Path
from typing import Any, Literal

from tuiagents.execution.base import (
    EXIT_CANCELLED,
    EXIT_TIMEOUT,
    CodeExecutor,
    ExecutionLimits,
    ExecutionResult,
    OnOutput,
    new_run_id,
    not_run,
    prepare_block,
)
from tuiagents.execution.codeblocks import CodeBlock
from tuiagents.execution.docker_client import (
    cleanup_leftovers,
    connect_docker,
    container_labels,
    daemon_unreachable_message,
    image_missing_message,
    owner_of,
    sandbox_user,
    track_container,
)
from tuiagents.execution.files import CONTROL_DIR, UnsafePathError, share_dir, write_in_work_dir
from tuiagents.execution.output import OutputCapture
from tuiagents.execution.settings import DockerSettings

__all__ = ["DockerExecutor", "cleanup_leftovers"]

log = logging.getLogger(__name__)

WORKSPACE = "/workspace"
INTERPRETERS = {"python": ["python3", "-u"], "sh": ["sh"], "bash": ["bash"]}
RUNNER_SOURCE = (Path(__file__).with_name("sandbox_runner.py")).read_text(encoding="utf-8")
# PID 1: ignoring SIGCHLD makes the kernel reap orphans, so killed blocks leave no zombies
# eating into the pids limit.
REAPER = "import signal\nsignal.signal(signal.SIGCHLD, signal.SIG_IGN)\nwhile True: signal.pause()"
ENVIRONMENT = {
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "PYTHONUNBUFFERED": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "MPLBACKEND": "Agg",
    "PYTHONPATH": WORKSPACE,  # scripts run from .tuiagents/ but import files saved in /workspace
}
# If the in-container runner does not answer, how long before the host restarts the container.
RUNNER_GRACE = 10.0


class DockerExecutor(CodeExecutor):
    """Runs blocks in the session's sandbox container (created lazily, removed by close())."""

    kind: Literal["docker"] = "docker"

    def __init__(self, settings: DockerSettings, work_dir: Path, session_id: str) -> None:
        self.settings = settings
        self.work_dir = Path(work_dir)
        self.session_id = session_id
        self.user = sandbox_user(settings.user)
        self.owner = owner_of(self.user)
        self.limits = ExecutionLimits(
            kind="docker", image=settings.image, network=settings.network, memory=settings.memory,
            cpus=settings.cpus, pids_limit=settings.pids_limit, timeout=settings.timeout,
            output_limit=settings.output_limit, user=self.user,
        )
        self._client: Any = None
        self._container: Any = None
        self._lock = asyncio.Lock()
        # The exec of a run whose task was cancelled: it stops within ~50 ms, but the next block
        # must not start before (the ending runner kills every process in the container).
        self._unfinished: asyncio.Future | None = None

    @property
    def container_id(self) -> str | None:
        """The sandbox container's id, or None before the first run / after close()."""
        return self._container.id if self._container is not None else None

    # -- container lifecycle -------------------------------------------------------------

    def _create_container(self) -> Any:
        """Blocking: connect, find (or pull) the image, start the container."""
        import docker

        if self._client is None:
            try:
                self._client = connect_docker()
            except docker.errors.DockerException as exc:
                raise _NotRun(daemon_unreachable_message(exc)) from exc
        client = self._client
        if self._container is not None:
            try:
                self._container.reload()
                if self._container.status == "running":
                    return self._container
            except docker.errors.NotFound:
                pass
            self._remove_container()
        try:
            client.images.get(self.settings.image)
        except docker.errors.ImageNotFound:
            try:
                client.images.pull(self.settings.image)
            except docker.errors.DockerException as exc:
                raise _NotRun(image_missing_message(self.settings.image, exc)) from exc
        self.work_dir.mkdir(parents=True, exist_ok=True)
        share_dir(self.work_dir, self.owner)
        settings = self.settings
        safe_session = "".join(c if c.isalnum() or c in "_.-" else "-" for c in self.session_id)
        container = client.containers.run(
            settings.image,
            command=["python3", "-I", "-S", "-c", REAPER],
            name=f"tuiagents-{safe_session[:40]}-{uuid.uuid4().hex[:6]}",
            detach=True,
            labels=container_labels(self.session_id),
            user=self.user,
            working_dir=WORKSPACE,
            volumes={str(self.work_dir.resolve()): {"bind": WORKSPACE, "mode": "rw"}},
            network_mode=settings.network,
            mem_limit=settings.memory,
            memswap_limit=settings.memory,  # same as the memory limit: no swap on top
            nano_cpus=int(settings.cpus * 1e9),
            pids_limit=settings.pids_limit,
            security_opt=["no-new-privileges"],
            cap_drop=["ALL"],
            read_only=True,
            tmpfs={"/tmp": f"rw,nosuid,nodev,size={settings.memory},mode=1777"},
            environment=ENVIRONMENT,
        )
        track_container(container.id, live=True)
        self._container = container
        return container

    def _remove_container(self) -> None:
        container, self._container = self._container, None
        if container is None:
            return
        track_container(container.id, live=False)
        try:
            container.remove(force=True)
        except Exception as exc:  # noqa: BLE001 - already gone or daemon down: nothing to keep
            log.debug("could not remove %s: %s", container.id, exc)

    async def close(self) -> None:
        """Remove the container (killing a block still running) and close the client.

        Does not wait for a running block: quitting must be immediate, and removing the
        container ends that block's exec. The work dir stays; a later run starts a new container.
        """
        await asyncio.to_thread(self._remove_container)
        if self._client is not None and not self._lock.locked():
            client, self._client = self._client, None
            await asyncio.to_thread(client.close)

    # -- running a block -----------------------------------------------------------------

    async def run(
        self,
        block: CodeBlock,
        on_output: OnOutput | None = None,
        cancel: asyncio.Event | None = None,
    ) -> ExecutionResult:
        """Run ``block`` in the container; see :class:`CodeExecutor.run`."""
        started = time.monotonic()
        run_id = new_run_id()
        try:
            self.work_dir.mkdir(parents=True, exist_ok=True)  # a new session's dir may not exist yet
            script, saved_to = prepare_block(block, self.work_dir, run_id, self.owner)
        except (UnsafePathError, OSError) as exc:
            return not_run(block, str(exc))
        if script is None:
            return ExecutionResult(exit_code=0, skipped=True, saved_to=saved_to)
        if block.language not in INTERPRETERS:
            return not_run(block, f"no interpreter for {block.language} blocks in the sandbox")
        if cancel is not None and cancel.is_set():
            return ExecutionResult(exit_code=EXIT_CANCELLED, cancelled=True, saved_to=saved_to,
                                   notes=["cancelled before it started"])
        async with self._lock:
            await self._wait_for_unfinished()
            try:
                container = await asyncio.to_thread(self._create_container)
            except _NotRun as exc:
                return not_run(block, str(exc), saved_to)
            except Exception as exc:  # noqa: BLE001 - any SDK/daemon failure becomes a message
                return not_run(block, f"could not start the sandbox container: {exc}", saved_to)
            try:
                result = await self._exec(container, block, script, run_id, on_output, cancel)
            except Exception as exc:  # noqa: BLE001
                log.exception("sandbox exec failed")
                result = not_run(block, f"the sandbox failed while running the block: {exc}")
        result.saved_to = saved_to
        result.duration = time.monotonic() - started
        return result

    async def _wait_for_unfinished(self) -> None:
        """Let a cancelled task's block finish stopping; restart the container if it won't."""
        pending, self._unfinished = self._unfinished, None
        if pending is None or pending.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(pending), RUNNER_GRACE)
        except asyncio.TimeoutError:
            await asyncio.to_thread(self._remove_container)
        except Exception:  # noqa: BLE001 - its stream broke: it is over either way
            pass

    async def _exec(
        self,
        container: Any,
        block: CodeBlock,
        script: str,
        run_id: str,
        on_output: OnOutput | None,
        cancel: asyncio.Event | None,
    ) -> ExecutionResult:
        timeout = self.settings.timeout
        cancel_file = f"{CONTROL_DIR}/{run_id}.cancel"
        cmd = ["python3", "-I", "-S", "-c", RUNNER_SOURCE, f"{timeout:g}",
               f"{WORKSPACE}/{cancel_file}", *INTERPRETERS[block.language], script]
        capture = OutputCapture(self.settings.output_limit, self.work_dir, run_id, on_output,
                                self.owner)
        api = self._client.api
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[bytes | None, bytes | None] | None] = asyncio.Queue()

        def pump() -> int | None:
            """Thread: start the exec, forward its frames, return its exit code."""
            try:
                exec_id = api.exec_create(container.id, cmd, user=self.user, workdir=WORKSPACE,
                                          environment=ENVIRONMENT, stdin=False, tty=False)["Id"]
                for frame in api.exec_start(exec_id, stream=True, demux=True):
                    loop.call_soon_threadsafe(queue.put_nowait, frame)
                return api.exec_inspect(exec_id).get("ExitCode")
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, None)

        pump_task = asyncio.ensure_future(asyncio.to_thread(pump))
        status_text = b""
        asked_at: float | None = None  # when we asked the runner to stop (cancel)
        deadline = time.monotonic() + timeout + RUNNER_GRACE
        restarted = False
        try:
            while True:
                try:
                    frame = await asyncio.wait_for(queue.get(), 0.1)
                except asyncio.TimeoutError:
                    frame = ()
                if frame is None:
                    break
                if frame:
                    out, err = frame
                    if out:
                        await capture.feed(out)
                    if err:
                        status_text += err
                if cancel is not None and cancel.is_set() and asked_at is None:
                    asked_at = time.monotonic()
                    write_in_work_dir(self.work_dir, cancel_file, b"", self.owner)
                late = (asked_at is not None and time.monotonic() - asked_at > RUNNER_GRACE)
                if not restarted and (late or time.monotonic() > deadline):
                    # The runner is stuck or dead: killing the container is the only sure stop.
                    restarted = True
                    await asyncio.to_thread(self._remove_container)
        except asyncio.CancelledError:
            write_in_work_dir(self.work_dir, cancel_file, b"", self.owner)
            self._unfinished = pump_task
            raise
        finally:
            full_path = capture.finish()
        try:
            exec_exit = await pump_task
        except Exception:  # noqa: BLE001 - the stream broke (container removed)
            exec_exit = None
        outcome = _parse_outcome(status_text)
        result = ExecutionResult(exit_code=1, output=capture.text(), truncated=capture.truncated,
                                 full_output_path=full_path)
        if outcome is not None:
            result.exit_code = outcome["exit_code"]
            result.timed_out = outcome["timed_out"]
            result.cancelled = outcome["cancelled"]
            if outcome["oom"]:
                result.notes.append(f"killed: out of memory (limit {self.settings.memory})")
        elif not restarted and self._container is not container:
            result.cancelled = True  # close() removed the container under the running block
            result.notes.append("stopped: the sandbox was closed while the block ran")
        else:
            result.timed_out = asked_at is None and restarted
            result.cancelled = asked_at is not None
            result.exit_code = exec_exit if exec_exit not in (None, 0) else 1
            result.notes.append("the sandbox runner was lost; the container was restarted"
                                if restarted else "the sandbox runner ended without a status")
        if result.timed_out:
            result.exit_code = EXIT_TIMEOUT
            result.notes.insert(0, f"timed out after {timeout:g} s")
        elif result.cancelled:
            result.exit_code = EXIT_CANCELLED
            if not any(n.startswith("stopped:") for n in result.notes):
                result.notes.insert(0, "cancelled by the supervisor")
        return result


class _NotRun(Exception):
    """Internal: the block cannot run; the message is for the user."""


def _parse_outcome(status_text: bytes) -> dict | None:
    for line in reversed(status_text.decode("utf-8", errors="replace").splitlines()):
        try:
            outcome = json.loads(line)
        except ValueError:
            continue
        if isinstance(outcome, dict) and "exit_code" in outcome:
            return outcome
    return None
