"""The executor protocol the engine calls, the typed result of a run, and the text the agent reads.

An executor runs one approved :class:`CodeBlock` at a time in a session's work dir and never
raises for things that can go wrong at run time (daemon gone, image missing, refused filename):
it returns an :class:`ExecutionResult` whose ``error`` says what happened and what to do.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from tuiagents.execution.codeblocks import CodeBlock
from tuiagents.execution.files import CONTROL_DIR, UnsafePathError, write_in_work_dir

OnOutput = Callable[[str], Awaitable[None] | None]

# Exit codes for outcomes that are not the program's own, as coreutils/shells report them.
EXIT_TIMEOUT = 124
EXIT_CANCELLED = 130
EXIT_NOT_RUN = -1

SCRIPT_SUFFIX = {"python": ".py", "sh": ".sh", "bash": ".sh"}


class ExecutionLimits(BaseModel):
    """The limits a block runs under, for display before approval and in the session log."""

    kind: Literal["docker", "local"] = "docker"
    image: str | None = None
    network: str | None = None
    memory: str | None = None
    cpus: float | None = None
    pids_limit: int | None = None
    timeout: float = 60.0
    output_limit: int = 65536
    user: str | None = None

    def describe(self) -> str:
        """One line for the UI, e.g. ``docker · tuiagents-sandbox:latest · network none · …``."""
        seconds = f"{self.timeout:g} s"
        if self.kind == "local":
            return f"local · UNSANDBOXED on the host · {seconds}"
        cpus = f"{self.cpus:g} cpu" + ("" if self.cpus == 1 else "s")
        memory = self.memory or "no memory limit"
        parts = ["docker", self.image or "?", f"network {self.network}", memory, cpus, seconds]
        return " · ".join(parts)


class StartProblem(BaseModel):
    """Why the sandbox cannot start (no daemon, no image): not a result of the code, but something
    the person fixes. ``missing`` says what is missing, ``fix`` how to get it."""

    what: Literal["daemon", "image", "sandbox"]
    missing: str
    fix: str

    def describe(self) -> str:
        """One sentence for the pane, the console and a stop reason."""
        return f"{self.missing}. Fix: {self.fix}"


class ExecutionResult(BaseModel):
    """What running one block produced.

    ``output`` is what the model sees (capped; the full text is at ``full_output_path`` when
    ``truncated``). ``error`` is set when the block could not be run as asked (daemon missing,
    image missing, refused filename) and says how to fix it. ``notes`` are short human-readable
    facts appended to the agent's text ("timed out after 60 s", "killed: out of memory …").
    """

    exit_code: int
    output: str = ""
    truncated: bool = False
    timed_out: bool = False
    cancelled: bool = False
    disk_full: bool = Field(False, description="the block hit the disk limit (see notes)")
    duration: float = 0.0
    error: str | None = None
    full_output_path: str | None = None
    skipped: bool = Field(False, description="not a runnable language: shown/saved, not run")
    saved_to: str | None = Field(None, description="work-dir path of a `# filename:` block")
    notes: list[str] = Field(default_factory=list)
    start_problem: StartProblem | None = Field(
        None, description="the sandbox could not start, so the block never ran (see StartProblem)")

    @property
    def ok(self) -> bool:
        """True when the block ran (or was only saved) and exited 0."""
        return (self.exit_code == 0 and self.error is None and not self.timed_out
                and not self.cancelled and not self.disk_full)


class CodeExecutor(ABC):
    """Runs approved code blocks for one session; one instance per session work dir."""

    kind: Literal["docker", "local"]
    limits: ExecutionLimits
    work_dir: Path

    @abstractmethod
    async def run(
        self,
        block: CodeBlock,
        on_output: OnOutput | None = None,
        cancel: asyncio.Event | None = None,
        approved_sha256: str | None = None,
    ) -> ExecutionResult:
        """Run ``block`` exactly as given, streaming its output to ``on_output``.

        Setting ``cancel`` kills the block (``result.cancelled``). ``approved_sha256`` is the
        hash recorded with the approval (:func:`code_sha256`): code that does not match it is
        refused. Never raises for run-time failures; they come back as ``result.error``.
        """

    async def start_problem(self) -> StartProblem | None:
        """Why a block could not start now (daemon or image missing), or None; checked before
        the first block is offered, so nobody approves code that cannot run."""
        return None

    async def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release what the executor holds (the Docker container); safe to call twice."""

    async def __aenter__(self) -> CodeExecutor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def code_bytes(code: str) -> bytes:
    """The bytes a block's code is saved, hashed and run as: UTF-8, for any text the log holds.

    A model may send a lone surrogate (JSON allows ``\\ud800``), which strict UTF-8 refuses;
    ``surrogatepass`` writes it as its three bytes instead, reversibly (decoding them the same
    way gives the same text back), just as the log keeps it as an escape. An interpreter then
    reads those bytes and says what it thinks of them (Python: a SyntaxError), so the block runs
    or fails with a reason instead of ending the run. Text without one: plain UTF-8, as ever.
    """
    return code.encode("utf-8", "surrogatepass")


def code_sha256(code: str) -> str:
    """The sha256 (hex) of :func:`code_bytes`: what an approval records and exec checks."""
    return hashlib.sha256(code_bytes(code)).hexdigest()


def save_named_file(block: CodeBlock, work_dir: Path, owner: tuple[int, int] | None = None) -> str:
    """Save a ``# filename:`` block under its name in the work dir; return that name.

    Blocking (call it through :func:`~tuiagents.execution.files.off_loop`). Raises
    :class:`UnsafePathError` for a refused name or a special file in its place.
    """
    assert block.filename is not None
    if block.filename_error:
        raise UnsafePathError(block.filename_error)
    Path(work_dir).mkdir(parents=True, exist_ok=True)
    write_in_work_dir(work_dir, block.filename, code_bytes(block.code), owner)
    return block.filename


def new_run_id() -> str:
    """A short unique id naming one block's script and output files."""
    return uuid.uuid4().hex[:12]


def prepare_block(
    block: CodeBlock, work_dir: Path, run_id: str, owner: tuple[int, int] | None = None
) -> tuple[str | None, str | None]:
    """Write ``block`` into the work dir; return ``(script to run, saved_to)`` as relative paths.

    A ``# filename:`` block is saved under that name (and run from there, so imports between
    saved files work); other runnable blocks go to ``.tuiagents/<run_id>.<ext>``. The script is
    None for blocks that are not run. Raises :class:`UnsafePathError` for a refused filename.
    """
    data = code_bytes(block.code)
    saved_to = None
    if block.filename is not None:
        if block.filename_error:
            raise UnsafePathError(block.filename_error)
        write_in_work_dir(work_dir, block.filename, data, owner)
        saved_to = block.filename
    if not block.runnable:
        return None, saved_to
    if saved_to is not None:
        return saved_to, saved_to
    script = f"{CONTROL_DIR}/{run_id}{SCRIPT_SUFFIX.get(block.language, '.txt')}"
    write_in_work_dir(work_dir, script, data, owner)
    return script, None


def not_run(block: CodeBlock, message: str, saved_to: str | None = None) -> ExecutionResult:
    """A result for a block that was refused or could not start; ``message`` says why."""
    return ExecutionResult(exit_code=EXIT_NOT_RUN, output="", error=message, saved_to=saved_to)


async def run_blocks(
    executor: CodeExecutor,
    blocks: Sequence[CodeBlock],
    on_output: OnOutput | None = None,
    cancel: asyncio.Event | None = None,
) -> list[ExecutionResult]:
    """Run ``blocks`` in order and stop after the first one that fails, times out or is cancelled.

    Returns one result per block attempted; blocks after a failure are not attempted.
    """
    results: list[ExecutionResult] = []
    for block in blocks:
        result = await executor.run(block, on_output=on_output, cancel=cancel)
        results.append(result)
        if not result.ok:
            break
    return results


def format_result_for_agent(blocks: Sequence[CodeBlock], results: Sequence[ExecutionResult]) -> str:
    """The AutoGen-style reply the agent reads after its code ran.

    ``exitcode: 0 (execution succeeded)\\nCode output: …`` or ``exitcode: 1 (execution failed)
    \\nCode output: …``, the output of every attempted block in order, followed by notes such as
    ``timed out after 60 s`` and a line saying which blocks were not run.
    """
    pieces: list[str] = []
    for block, result in zip(blocks, results, strict=False):
        text = result.output
        extra = list(result.notes)
        if result.saved_to and result.skipped:
            extra.append(f"saved {block.language} block to {result.saved_to} (not run)")
        if result.error:
            extra.append(result.error)
        if extra:
            text = (text.rstrip("\n") + "\n" if text.strip() else "") + "\n".join(extra)
        if text:
            pieces.append(text.rstrip("\n"))
    last = results[-1] if results else None
    succeeded = all(r.ok for r in results)
    code = 0 if last is None else last.exit_code
    if not succeeded and code == 0:
        code = 1
    left = len(blocks) - len(results)
    if left > 0 and not succeeded:
        plural = "s" if left > 1 else ""
        pieces.append(f"({left} later code block{plural} not run because this one failed)")
    status = "execution succeeded" if succeeded else "execution failed"
    return f"exitcode: {code} ({status})\nCode output: " + "\n".join(pieces)
