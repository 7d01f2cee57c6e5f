"""Settings for code execution: the ``[docker]`` and ``[local]`` sections of config.toml.

Kept free of any docker import so the config module can load them on machines without a daemon.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

DEFAULT_IMAGE = "python:3.12-slim"
DEFAULT_OUTPUT_LIMIT = 65536
# "nobody:nogroup" on Debian; used when tuiagents itself runs as root, since mapping the
# container to uid 0 would make the sandbox root again.
NOBODY = "65534:65534"

_MEMORY = re.compile(r"^\d+(\.\d+)?\s*[bkmg]?b?$", re.IGNORECASE)
# Docker reads a zero memory, tmpfs size or CPU quota as "no limit" (and refuses less than 6 MiB
# of memory), so every limit has a floor above zero: no value can silently mean "unlimited".
MIN_MEMORY = 6 << 20
MIN_DISK = 1 << 20
MIN_CPUS = 0.01
#: A week: longer timeouts overflow what select() and the event loop can wait for.
MAX_TIMEOUT = 7 * 24 * 3600


class DockerSettings(BaseModel):
    """How the Docker sandbox runs approved code (config section ``[docker]``).

    ``user`` is ``"uid[:gid]"``; left empty it means the invoking user's uid:gid (so files the
    code writes in the work dir stay yours), or ``65534:65534`` when tuiagents runs as root.
    ``network`` is a Docker network mode; ``"none"`` (the default) gives the container only
    a loopback interface. ``disk_limit`` bounds what one block writes: /tmp and /dev/shm are
    tmpfs of that size (and at most ``memory``); /workspace is the work dir under a per-block
    tmpfs layer of that size, which the kernel holds (see ``sandbox_disk``) and the watchdog
    saves into the work dir when the block ends. Where the daemon does not let the watchdog
    mount, no single file can grow past it (RLIMIT_FSIZE) and the folder is measured while the
    block runs. ``workspace`` says how the work dir reaches the container: ``"bind"`` mounts
    it, ``"copy"`` copies it in and out through the Docker API (for a daemon that cannot see
    this machine's disk), ``"auto"`` (the default) copies when the daemon is not local (see
    ``workspace_mode``).
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    image: str = Field(DEFAULT_IMAGE, min_length=1, description="image the sandbox runs")
    network: str = Field("none", description='Docker network mode, "none" disables networking')
    memory: str = Field("512m", description="memory limit (swap disabled), e.g. 512m or 2g")
    cpus: float = Field(1.0, ge=MIN_CPUS, description="CPU limit in cores")
    pids_limit: int = Field(256, ge=8, description="maximum number of processes")
    timeout: float = Field(60.0, gt=0, le=MAX_TIMEOUT, description="seconds before a block is killed")
    output_limit: int = Field(DEFAULT_OUTPUT_LIMIT, ge=256, description="bytes shown to the model")
    disk_limit: str = Field("1g", description="what a block may write to /workspace and /tmp")
    user: str | None = Field(None, description='"uid:gid" inside the container; empty = auto')
    work_dir: Path | None = Field(None, description="where session work dirs live")
    workspace: Literal["auto", "bind", "copy"] = Field(
        "auto", description='"bind" mounts the work dir, "copy" copies it; "auto" copies for a remote daemon')

    @field_validator("memory", "disk_limit")
    @classmethod
    def _check_memory(cls, value: str, info: ValidationInfo) -> str:
        if not _MEMORY.match(value.strip()):
            raise ValueError(f"sizes look like 512m or 2g, not {value!r}")
        floor, shown = (MIN_MEMORY, "6m") if info.field_name == "memory" else (MIN_DISK, "1m")
        if parse_size(value) < floor:
            raise ValueError(f"must be ≥ {shown} (got {value.strip()!r}); there is no unlimited "
                             f"setting, write a size such as 512m or 2g")
        return value.strip().lower()

    @field_validator("user")
    @classmethod
    def _check_user(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not re.fullmatch(r"[\w.-]+(:[\w.-]+)?", value.strip()):
            raise ValueError(f'user must be "uid" or "uid:gid", not {value!r}')
        if value.split(":")[0] in ("0", "root"):
            raise ValueError("the sandbox must not run as root; pick another uid")
        return value.strip()


def parse_size(text: str) -> int:
    """Bytes in a size such as ``512m``, ``2g`` or ``1.5gb`` (Docker's binary units)."""
    value = text.strip().lower().rstrip("b")
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    if value and value[-1] in units:
        return int(float(value[:-1]) * units[value[-1]])
    return int(float(value or 0))


class LocalSettings(BaseModel):
    """Limits for the opt-in local executor (config section ``[local]``).

    The local executor runs code directly on the host: only a timeout and an output cap apply.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    timeout: float = Field(60.0, gt=0, le=MAX_TIMEOUT, description="seconds before a block is killed")
    output_limit: int = Field(DEFAULT_OUTPUT_LIMIT, ge=256, description="bytes shown to the model")
    python: str | None = Field(None, description="python interpreter; default: this one")
