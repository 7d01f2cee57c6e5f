"""Run approved code directly on the host — opt-in only, and never sandboxed.

Meant for trusted setups (and for tests of the engine without Docker). Each block runs as a
subprocess in the work dir, in its own session and process group so that a timeout, a cancel
or the end of the block kills everything it started. Nothing else is limited: the code can
read and write whatever the invoking user can.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from typing import Literal

from tuiagents.execution.base import (
    EXIT_CANCELLED,
    EXIT_TIMEOUT,
    CodeExecutor,
    ExecutionLimits,
    ExecutionResult,
    OnOutput,
    code_sha256,
    new_run_id,
    not_run,
    prepare_block,
)
from tuiagents.execution.codeblocks import CodeBlock
from tuiagents.execution.files import UnsafePathError, off_loop
from tuiagents.execution.output import OutputCapture
from tuiagents.execution.settings import DockerSettings, LocalSettings
from tuiagents.secrets import safe_environ

# After the main process exits, how long to wait for output from processes it left behind.
DRAIN_SECONDS = 1.0


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class LocalExecutor(CodeExecutor):
    """Runs blocks as host subprocesses in ``work_dir``; ``limits.describe()`` says UNSANDBOXED."""

    kind: Literal["local"] = "local"

    def __init__(self, settings: LocalSettings | DockerSettings, work_dir: Path) -> None:
        self.settings = settings
        self.work_dir = Path(work_dir)
        self.limits = ExecutionLimits(
            kind="local", timeout=settings.timeout, output_limit=settings.output_limit
        )
        python = getattr(settings, "python", None) or sys.executable
        self.interpreters = {"python": [python, "-u"], "sh": ["sh"], "bash": ["bash"]}

    async def run(
        self,
        block: CodeBlock,
        on_output: OnOutput | None = None,
        cancel: asyncio.Event | None = None,
        approved_sha256: str | None = None,
    ) -> ExecutionResult:
        """Run ``block`` on the host; see :class:`CodeExecutor.run`."""
        started = time.monotonic()
        if approved_sha256 is not None and approved_sha256 != code_sha256(block.code):
            return not_run(block, "refused: this code is not the code that was approved "
                                  "(its sha256 differs); it needs a new approval")
        run_id = new_run_id()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        try:
            # Off the event loop: a FIFO left where the file goes must not freeze the app.
            script, saved_to = await off_loop(prepare_block, block, self.work_dir, run_id)
        except (UnsafePathError, OSError) as exc:
            return not_run(block, str(exc))
        if script is None:
            return ExecutionResult(exit_code=0, skipped=True, saved_to=saved_to)
        if block.language not in self.interpreters:
            return not_run(block, f"no interpreter configured for {block.language} blocks")
        if cancel is not None and cancel.is_set():
            return ExecutionResult(exit_code=EXIT_CANCELLED, cancelled=True, saved_to=saved_to,
                                   notes=["cancelled before it started"])
        capture = await OutputCapture.create(self.settings.output_limit, self.work_dir, run_id,
                                             on_output)
        # PYTHONPATH: scripts live in .tuiagents/, yet must import files saved in the work dir.
        paths = (str(self.work_dir.resolve()), os.environ.get("PYTHONPATH"))
        path = os.pathsep.join(p for p in paths if p)
        # The host's keys stay out of the code's reach (and so out of its output files).
        env = dict(safe_environ(), PYTHONUNBUFFERED="1", PYTHONPATH=path)
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.interpreters[block.language], script,
                cwd=self.work_dir, env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,  # own process group: one killpg stops the whole tree
            )
        except OSError as exc:
            capture.finish()
            return not_run(block, f"could not start {self.interpreters[block.language][0]}: {exc}",
                           saved_to)
        reason: str | None = None
        try:
            reason = await self._pump(proc, capture, cancel)
        except asyncio.CancelledError:
            _kill_group(proc.pid)
            raise
        finally:
            full_path = capture.finish()
        code = await proc.wait()
        result = ExecutionResult(
            exit_code=code if code >= 0 else 128 - code,  # asyncio reports signals as -N
            output=capture.text(), truncated=capture.truncated, full_output_path=full_path,
            saved_to=saved_to, duration=time.monotonic() - started,
        )
        if reason == "timeout":
            result.timed_out, result.exit_code = True, EXIT_TIMEOUT
            result.notes.append(f"timed out after {self.settings.timeout:g} s")
        elif reason == "cancel":
            result.cancelled, result.exit_code = True, EXIT_CANCELLED
            result.notes.append("cancelled by the supervisor")
        return result

    async def _pump(
        self, proc: asyncio.subprocess.Process, capture: OutputCapture, cancel: asyncio.Event | None
    ) -> str | None:
        """Copy output until the block is over; return "timeout", "cancel" or None."""
        assert proc.stdout is not None
        deadline = time.monotonic() + self.settings.timeout
        reason: str | None = None
        ended_at: float | None = None
        reader: asyncio.Future[bytes] | None = None
        try:
            while True:
                if reader is None:
                    reader = asyncio.ensure_future(proc.stdout.read(65536))
                # proc.wait() would also wait for the pipe to close (Python < 3.12), which a
                # background job can hold forever; returncode is set as soon as it exits.
                await asyncio.wait({reader}, timeout=0.1)
                if reader.done():
                    data = reader.result()
                    reader = None
                    if not data:
                        break  # every writer closed the pipe
                    await capture.feed(data)
                if proc.returncode is not None and ended_at is None:
                    ended_at = time.monotonic()
                if ended_at is not None:
                    _kill_group(proc.pid)  # the block is over: its background jobs go too
                    if time.monotonic() - ended_at > DRAIN_SECONDS:
                        break
                elif reason is None:
                    if time.monotonic() >= deadline:
                        reason = "timeout"
                    elif cancel is not None and cancel.is_set():
                        reason = "cancel"
                    if reason is not None:
                        _kill_group(proc.pid)
        finally:
            if reader is not None:
                reader.cancel()
            if proc.returncode is None:
                _kill_group(proc.pid)  # cancelled from outside: do not leave the code running
        return reason
