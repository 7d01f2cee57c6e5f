"""Preflight checks for code execution, shown by ``tuiagents doctor``.

Each check returns a :class:`CheckResult` saying plainly what was found and, when something is
wrong, the command that fixes it. The CLI adds the model-endpoint checks and the wiring.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from pydantic import BaseModel

from tuiagents.execution.docker_client import (
    cleanup_leftovers,
    connect_docker,
    daemon_unreachable_message,
    docker_host,
    image_missing_message,
    reap_orphans,
    reaped_message,
)
from tuiagents.execution.settings import DockerSettings
from tuiagents.execution.workspace_mode import WorkspaceMode, choose_workspace

__all__ = ["CheckResult", "cleanup_leftovers", "docker_checks", "work_dir_check", "workspace_check"]


class CheckResult(BaseModel):
    """One preflight finding: ``ok``, what was seen (``detail``) and how to fix it (``fix``)."""

    name: str
    ok: bool
    detail: str
    fix: str | None = None


def work_dir_check(work_dir: Path) -> CheckResult:
    """Can a run's work dir be made and written to? `work_dir` is named like one (see
    `tuiagents.paths.run_work_dir`); made for the check, it is removed again."""
    name = "work dir writable"
    work_dir = Path(work_dir)
    where = work_dir.parent
    made = not work_dir.exists()
    try:
        work_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=work_dir, prefix=".doctor-"):
            pass
    except OSError as exc:
        return CheckResult(
            name=name, ok=False, detail=f"{where}: {exc.strerror or exc}",
            fix=f"fix the permissions of {where} or set [docker] work_dir to a writable folder",
        )
    finally:
        if made:
            with contextlib.suppress(OSError):
                work_dir.rmdir()
    return CheckResult(name=name, ok=True, detail=f"{where.resolve()} (each run's work dir is made here)")


def workspace_check(settings: DockerSettings) -> CheckResult:
    """How a run's work dir would reach the sandbox (bound or copied), and why."""
    choice = choose_workspace(settings.workspace)
    how = ("bind: /workspace is mounted from this disk" if choice.mode is WorkspaceMode.BIND
           else "copy: /workspace is copied to the sandbox before each block and its "
                "changes back after it")
    return CheckResult(name="sandbox workspace", ok=True, detail=f"{how}, because {choice.reason}")


def docker_checks(
    settings: DockerSettings, work_dir: Path, smoke_test: bool = True
) -> list[CheckResult]:
    """Check the daemon (honouring ``DOCKER_HOST``), the image, the work dir and leftovers.

    With ``smoke_test`` a throwaway container with the configured limits runs ``python3`` once,
    which catches images without python3 and limits the daemon refuses.
    """
    import docker

    checks: list[CheckResult] = []
    try:
        client = connect_docker()
    except docker.errors.DockerException as exc:
        checks.append(CheckResult(name="docker daemon", ok=False, detail=f"{docker_host()}: {exc}",
                                  fix=daemon_unreachable_message()))
        checks.append(workspace_check(settings))
        checks.append(work_dir_check(work_dir))
        return checks
    try:
        version = client.version().get("Version", "?")
        checks.append(CheckResult(name="docker daemon", ok=True,
                                  detail=f"{docker_host()} · Docker {version}"))
        checks.append(workspace_check(settings))
        # Leftovers of sessions whose process is gone are removed here, and the check says so.
        removed = reap_orphans()
        checks.append(CheckResult(name="leftover sandbox containers", ok=True,
                                  detail=reaped_message(removed) or "none"))
        image_ok = _image_check(client, settings, checks)
        if image_ok and smoke_test:
            checks.append(_smoke_check(settings))
        checks.append(work_dir_check(work_dir))
    finally:
        client.close()
    return checks


def _image_check(client, settings: DockerSettings, checks: list[CheckResult]) -> bool:
    import docker

    name = "sandbox image"
    try:
        image = client.images.get(settings.image)
    except docker.errors.ImageNotFound:
        pass
    else:
        size = image.attrs.get("Size", 0) / 1e6
        checks.append(CheckResult(name=name, ok=True, detail=f"{settings.image} · {size:.0f} MB"))
        return True
    try:
        # Asks the registry (through the daemon) without downloading the image.
        client.images.get_registry_data(settings.image)
    except docker.errors.DockerException as exc:
        checks.append(CheckResult(name=name, ok=False,
                                  detail=f"{settings.image} is not present and cannot be pulled",
                                  fix=image_missing_message(settings.image, exc)))
        return False
    detail = f"{settings.image} not present; it will be pulled on first run"
    checks.append(CheckResult(name=name, ok=True, detail=detail))
    return False


def _smoke_check(settings: DockerSettings) -> CheckResult:
    """Run one block through the real sandbox (watchdog, limits, user) in a throwaway folder."""
    import asyncio

    from tuiagents.execution.codeblocks import CodeBlock
    from tuiagents.execution.docker_executor import DockerExecutor

    name = "sandbox starts"

    async def probe():
        with tempfile.TemporaryDirectory(prefix="tuiagents-doctor-") as folder:
            executor = DockerExecutor(settings, Path(folder), "doctor")
            try:
                return await executor.run(CodeBlock(
                    language="python", code="import os; print(os.getuid())", runnable=True))
            finally:
                await executor.close()

    result = asyncio.run(probe())
    if not result.ok:
        detail = (result.error or result.output or f"exit code {result.exit_code}").strip()
        return CheckResult(name=name, ok=False, detail=detail[:300],
                           fix="the image needs python3: build one with `tuiagents sandbox build`, "
                           "or adjust the [docker] limits the daemon refused")
    uid = result.output.strip()
    return CheckResult(name=name, ok=uid != "0", detail=f"python3 runs as uid {uid}",
                       fix=None if uid != "0" else "set [docker] user to a non-root uid")
