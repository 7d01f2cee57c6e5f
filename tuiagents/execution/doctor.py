"""Preflight checks for code execution, shown by ``tuiagents doctor``.

Each check returns a :class:`CheckResult` saying plainly what was found and, when something is
wrong, the command that fixes it. The CLI adds the model-endpoint checks and the wiring.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from pydantic import BaseModel

from tuiagents.execution.docker_client import (
    LABEL,
    cleanup_leftovers,
    connect_docker,
    daemon_unreachable_message,
    docker_host,
    image_missing_message,
    is_orphaned,
    sandbox_user,
)
from tuiagents.execution.settings import DockerSettings

__all__ = ["CheckResult", "cleanup_leftovers", "docker_checks", "work_dir_check"]


class CheckResult(BaseModel):
    """One preflight finding: ``ok``, what was seen (``detail``) and how to fix it (``fix``)."""

    name: str
    ok: bool
    detail: str
    fix: str | None = None


def work_dir_check(work_dir: Path) -> CheckResult:
    """Can the session work dir be created and written to?"""
    name = "work dir writable"
    try:
        Path(work_dir).mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=work_dir, prefix=".doctor-"):
            pass
    except OSError as exc:
        return CheckResult(
            name=name, ok=False, detail=f"{work_dir}: {exc.strerror or exc}",
            fix=f"fix the permissions of {work_dir} or set [docker] work_dir to a writable folder",
        )
    return CheckResult(name=name, ok=True, detail=str(Path(work_dir).resolve()))


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
        checks.append(work_dir_check(work_dir))
        return checks
    try:
        version = client.version().get("Version", "?")
        checks.append(CheckResult(name="docker daemon", ok=True,
                                  detail=f"{docker_host()} · Docker {version}"))
        image_ok = _image_check(client, settings, checks)
        if image_ok and smoke_test:
            checks.append(_smoke_check(client, settings))
        checks.append(work_dir_check(work_dir))
        leftovers = [c for c in client.containers.list(all=True, filters={"label": f"{LABEL}=1"})
                     if is_orphaned(c.labels or {})]
        checks.append(CheckResult(
            name="leftover sandbox containers", ok=not leftovers,
            detail=f"{len(leftovers)} container(s) from sessions that are gone" if leftovers
            else "none",
            fix="run `tuiagents doctor --clean` to remove them" if leftovers else None,
        ))
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


def _smoke_check(client, settings: DockerSettings) -> CheckResult:
    import docker

    name = "sandbox starts"
    try:
        output = client.containers.run(
            settings.image, ["python3", "-c", "import os; print(os.getuid())"], remove=True,
            user=sandbox_user(settings.user), network_mode=settings.network,
            mem_limit=settings.memory, pids_limit=settings.pids_limit, read_only=True,
            cap_drop=["ALL"], security_opt=["no-new-privileges"], labels={LABEL: "doctor"},
        )
    except docker.errors.DockerException as exc:
        return CheckResult(name=name, ok=False, detail=str(exc).strip()[:300],
                           fix="the image needs python3: build one with `tuiagents sandbox build`, "
                           "or adjust the [docker] limits the daemon refused")
    uid = output.decode(errors="replace").strip()
    return CheckResult(name=name, ok=uid != "0", detail=f"python3 runs as uid {uid}",
                       fix=None if uid != "0" else "set [docker] user to a non-root uid")
