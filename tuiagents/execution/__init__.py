"""Code execution: find code blocks in messages and run the approved ones.

Docker is the default (one locked-down container per session, see :mod:`docker_executor`); the
local executor is opt-in and unsandboxed. Nothing here imports Textual.
"""

from tuiagents.execution.base import (
    CodeExecutor,
    ExecutionLimits,
    ExecutionResult,
    format_result_for_agent,
    run_blocks,
)
from tuiagents.execution.codeblocks import CodeBlock, extract_code_blocks, guess_language
from tuiagents.execution.docker_executor import DockerExecutor, cleanup_leftovers
from tuiagents.execution.local_executor import LocalExecutor
from tuiagents.execution.sandbox_image import build_sandbox_image, image_present
from tuiagents.execution.settings import DockerSettings, LocalSettings

__all__ = [
    "CodeBlock",
    "CodeExecutor",
    "DockerExecutor",
    "DockerSettings",
    "ExecutionLimits",
    "ExecutionResult",
    "LocalExecutor",
    "LocalSettings",
    "build_sandbox_image",
    "cleanup_leftovers",
    "extract_code_blocks",
    "format_result_for_agent",
    "guess_language",
    "image_present",
    "run_blocks",
]
