"""What running a block in the sandbox comes to, in the words the result gives the person.

From the watchdog's outcome frame (exit status, limits hit), from a sandbox that stopped answering,
from copying a block's files back (a copied work dir), and for a sandbox that did not start.
"""

from __future__ import annotations

from tuiagents.execution.base import (
    EXIT_CANCELLED,
    EXIT_NOT_RUN,
    EXIT_TIMEOUT,
    ExecutionResult,
    StartProblem,
    not_run,
)
from tuiagents.execution.codeblocks import CodeBlock
from tuiagents.execution.sandbox_protocol import BlockReply
from tuiagents.execution.settings import DockerSettings
from tuiagents.execution.workspace_copy import CopyBack


def outcome_result(result: ExecutionResult, outcome: dict, settings: DockerSettings) -> ExecutionResult:
    """``result`` completed from the watchdog's outcome frame (exit status, limits hit, notes)."""
    if outcome.get("error"):
        result.exit_code, result.error = EXIT_NOT_RUN, outcome["error"]
        return result
    result.exit_code = outcome["exit_code"]
    if outcome.get("oom"):
        result.notes.append(f"killed: out of memory (limit {settings.memory})")
    if outcome.get("disk") or outcome.get("tmp_full"):
        result.disk_full = True
    if outcome.get("disk"):
        ending = ("and was stopped" if outcome.get("disk_stopped")
                  else "(what it wrote is kept: delete what is not needed)")
        result.notes.append(f"disk limit reached: the block wrote more than "
                            f"{settings.disk_limit} to /workspace {ending}")
    result.notes += outcome.get("problems") or []
    if outcome.get("tmp_full"):
        result.notes.append(f"disk limit reached: /tmp is full ({settings.disk_limit})")
    if outcome.get("clean") is False:
        result.notes.append("some processes of the block would not die; the container "
                            "will be restarted")
    if outcome.get("timed_out"):
        result.timed_out, result.exit_code = True, EXIT_TIMEOUT
        result.notes.insert(0, f"timed out after {settings.timeout:g} s")
    elif outcome.get("cancelled"):
        result.cancelled, result.exit_code = True, EXIT_CANCELLED
        result.notes.insert(0, "cancelled by the supervisor")
    return result


def lost_result(result: ExecutionResult, reply: BlockReply, timeout: float) -> ExecutionResult:
    """``result`` for a block whose outcome never came (the container was restarted)."""
    if reply.lost == "timeout" and not reply.asked:
        result.timed_out, result.exit_code = True, EXIT_TIMEOUT
        result.notes += [f"timed out after {timeout:g} s",
                         "the sandbox did not answer; the container was restarted"]
    elif reply.asked:
        result.cancelled, result.exit_code = True, EXIT_CANCELLED
        result.notes += ["cancelled by the supervisor",
                         "the sandbox did not answer; the container was restarted"]
    else:
        result.notes.append("the sandbox container ended while the block ran (its exit "
                            "status is unknown); a new container starts for the next block")
    return result


def copied_back(result: ExecutionResult, copied: CopyBack | None,
                 settings: DockerSettings) -> ExecutionResult:
    """``result`` with what copying the block's files back said (copied work dirs only)."""
    if copied is None:
        return result
    if copied.disk_hit:
        result.disk_full = True
        result.notes.append(f"disk limit reached: the block's files were copied back only up "
                            f"to {settings.disk_limit}")
    result.notes += copied.notes
    return result


class NotRun(Exception):
    """The sandbox cannot start; `problem` says why, for the person."""

    def __init__(self, problem: StartProblem) -> None:
        super().__init__(problem.describe())
        self.problem = problem


def not_started(block: CodeBlock, problem: StartProblem, saved_to: str | None) -> ExecutionResult:
    """A result for a block the sandbox could not run, carrying why and the fix."""
    result = not_run(block, problem.describe(), saved_to)
    result.start_problem = problem
    return result
