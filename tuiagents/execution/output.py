"""Capture a block's output: stream it live, cap what the model sees, keep the rest on disk.

The model gets at most ``limit`` bytes: the head and the tail of the output (a traceback is at
the end, the context at the start) with a marker saying how much was left out and where the full
output is. The full output goes to ``.tuiagents/<run id>.out`` in the work dir (itself capped so
a runaway ``while True: print()`` cannot fill the disk); the file is deleted when nothing was cut.
"""

from __future__ import annotations

import codecs
import inspect
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from tuiagents.execution.files import (
    CONTROL_DIR,
    UnsafePathError,
    off_loop,
    open_in_work_dir,
    remove_in_work_dir,
)

log = logging.getLogger(__name__)

OutputCallback = Callable[[str], Awaitable[None] | None]

# Past these sizes output is no longer saved / streamed live: nobody reads 100 MB in a pane.
FULL_OUTPUT_LIMIT = 32 * 1024 * 1024
STREAM_LIMIT = 1024 * 1024


class OutputCapture:
    """Collects the bytes a running block prints; see the module docstring for the policy."""

    def __init__(
        self,
        limit: int,
        work_dir: Path,
        run_id: str,
        on_output: OutputCallback | None = None,
        owner: tuple[int, int] | None = None,
        fd: int | None = None,
        save_limit: int = FULL_OUTPUT_LIMIT,
    ) -> None:
        self.limit = limit
        self.total = 0
        self.relative_path = f"{CONTROL_DIR}/{run_id}.out"
        self._work_dir = work_dir
        self._head = bytearray()
        self._tail = bytearray()
        self._tail_size = limit // 2
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._on_output = on_output
        self._streamed = 0
        self._fd: int | None = fd if fd is not None else open_in_work_dir(
            work_dir, self.relative_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, owner
        )
        self._saved = 0
        self.save_limit = save_limit
        #: Why the full output could not be kept (the block still runs), or None.
        self.unsaved: str | None = None

    @classmethod
    async def create(
        cls,
        limit: int,
        work_dir: Path,
        run_id: str,
        on_output: OutputCallback | None = None,
        owner: tuple[int, int] | None = None,
        save_limit: int = FULL_OUTPUT_LIMIT,
    ) -> OutputCapture:
        """Like the constructor, but the full-output file is opened off the event loop.

        If a block left something unusable in its place (``.tuiagents`` made a FIFO or a
        symlink), the output is still captured, only not saved: a later block can fix the folder.
        """
        relative = f"{CONTROL_DIR}/{run_id}.out"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        try:
            fd = await off_loop(open_in_work_dir, work_dir, relative, flags, owner)
        except (UnsafePathError, OSError) as exc:
            capture = cls(limit, work_dir, run_id, on_output, owner, fd=-1, save_limit=save_limit)
            capture._fd, capture.unsaved = None, str(exc)
            return capture
        return cls(limit, work_dir, run_id, on_output, owner, fd=fd, save_limit=save_limit)

    def skip(self, count: int) -> None:
        """Count ``count`` bytes the sandbox dropped in the middle (only the tail follows)."""
        self.total += count

    async def feed(self, data: bytes) -> None:
        """Record ``data`` and pass its text to the live callback."""
        if not data:
            return
        self.total += len(data)
        room = self.limit - len(self._head)
        if room > 0:
            self._head += data[:room]
        self._tail += data
        if len(self._tail) > self._tail_size:
            del self._tail[: len(self._tail) - self._tail_size]
        if self._fd is not None and self._saved < self.save_limit:
            chunk = data[: self.save_limit - self._saved]
            os.write(self._fd, chunk)
            self._saved += len(chunk)
        if self._on_output is not None and self._streamed < STREAM_LIMIT:
            text = self._decoder.decode(data)
            self._streamed += len(data)
            if self._streamed >= STREAM_LIMIT:
                text += "\n[… output continues; not shown live — see the result …]\n"
            if text:
                await call_output(self._on_output, text)

    @property
    def truncated(self) -> bool:
        """True when the model will not see all of the output."""
        return self.total > self.limit

    def text(self) -> str:
        """The output as the model sees it: complete, or head + marker + tail."""
        if not self.truncated:
            return bytes(self._head).decode("utf-8", errors="replace")
        head_size = self.limit - self._tail_size
        head = bytes(self._head[:head_size]).decode("utf-8", errors="ignore")
        tail = bytes(self._tail).decode("utf-8", errors="ignore")
        omitted = self.total - head_size - len(self._tail)
        saved = "" if self._saved >= self.total else f" (first {self.save_limit} bytes saved)"
        where = (f"the full output is in {self.relative_path}{saved}" if self.unsaved is None
                 else f"the full output could not be saved: {self.unsaved}")
        return f"{head}\n[… {omitted} bytes of output omitted; {where} …]\n{tail}"

    def finish(self) -> str | None:
        """Close the full-output file; return its host path if kept (output truncated)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self.unsaved is not None:
            return None
        if self.truncated:
            return str(Path(self._work_dir).resolve() / self.relative_path)
        remove_in_work_dir(self._work_dir, self.relative_path)
        return None


async def call_output(callback: OutputCallback, text: str) -> None:
    """Call a sync or async output callback; a failing UI callback must not kill the run."""
    try:
        result = callback(text)
        if inspect.isawaitable(result):
            await result
    except Exception:  # noqa: BLE001 - the display is best effort, the run goes on
        log.exception("output callback failed")
