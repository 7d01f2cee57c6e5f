"""Which daemon a run talks to, and so how its work dir reaches the sandbox: bound or copied.

A daemon on this machine (a ``unix://`` socket) can bind-mount the work dir. One behind
``tcp://`` or ``ssh://`` (in ``DOCKER_HOST`` or in the current docker context) may sit on another
machine and cannot see this disk: the work dir is then copied in and out through the Docker API.
``[docker] workspace`` forces either (``"bind"``, ``"copy"``); ``"auto"`` decides as above.

Standard library only: ``tuiagents doctor`` and the executor ask before any client exists.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

DEFAULT_SOCKET = "unix:///var/run/docker.sock"
# Schemes that reach a daemon through this machine's own kernel (so its disk is the daemon's).
LOCAL_SCHEMES = ("unix://", "npipe://")


class WorkspaceMode(str, Enum):
    """How the session's work dir is seen at /workspace in the sandbox."""

    BIND = "bind"  # mounted from this machine's disk
    COPY = "copy"  # copied in before each block and back after it, through the Docker API


@dataclass(frozen=True)
class DaemonAddress:
    """Where the Docker SDK will connect, and what said so (for doctor and error messages)."""

    url: str
    source: str  # "DOCKER_HOST", 'docker context "NAME"' or "the default socket"

    @property
    def local(self) -> bool:
        """Whether the daemon is reached through this machine's kernel (a socket file)."""
        return self.url.startswith(LOCAL_SCHEMES)


@dataclass(frozen=True)
class WorkspaceChoice:
    """The mode a run uses and why, in words doctor can print."""

    mode: WorkspaceMode
    reason: str


def _docker_config_dir(environ: Mapping[str, str]) -> Path:
    configured = environ.get("DOCKER_CONFIG")
    if configured:
        return Path(configured)
    return Path(environ.get("HOME") or Path.home()) / ".docker"


def current_context(environ: Mapping[str, str] | None = None) -> str | None:
    """The docker CLI's current context name (``DOCKER_CONTEXT``, else its config), or None."""
    environ = os.environ if environ is None else environ
    name = environ.get("DOCKER_CONTEXT")
    if name:
        return name
    try:
        config = json.loads((_docker_config_dir(environ) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = config.get("currentContext") if isinstance(config, dict) else None
    return name if isinstance(name, str) and name else None


def context_host(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The daemon address a docker context names (its ``docker`` endpoint), or None."""
    environ = os.environ if environ is None else environ
    # The CLI stores a context's metadata under the sha256 of its name.
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = _docker_config_dir(environ) / "contexts" / "meta" / digest / "meta.json"
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
        host = data["Endpoints"]["docker"]["Host"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return host if isinstance(host, str) and host else None


def daemon_address(environ: Mapping[str, str] | None = None) -> DaemonAddress:
    """Where the daemon is: ``DOCKER_HOST``, else the current docker context, else the socket."""
    environ = os.environ if environ is None else environ
    host = environ.get("DOCKER_HOST")
    if host:
        return DaemonAddress(host, "DOCKER_HOST")
    name = current_context(environ)
    if name and name != "default":
        host = context_host(name, environ)
        if host:
            return DaemonAddress(host, f'docker context "{name}"')
    return DaemonAddress(DEFAULT_SOCKET, "the default socket")


def choose_workspace(setting: str, environ: Mapping[str, str] | None = None) -> WorkspaceChoice:
    """The workspace mode for ``[docker] workspace = setting`` against the daemon in use."""
    if setting == WorkspaceMode.BIND.value:
        return WorkspaceChoice(WorkspaceMode.BIND, '[docker] workspace = "bind"')
    if setting == WorkspaceMode.COPY.value:
        return WorkspaceChoice(WorkspaceMode.COPY, '[docker] workspace = "copy"')
    address = daemon_address(environ)
    if address.local:
        return WorkspaceChoice(WorkspaceMode.BIND,
                               f"the daemon is local ({address.url}, from {address.source})")
    return WorkspaceChoice(WorkspaceMode.COPY,
                           f"the daemon may be on another machine ({address.url}, from "
                           f"{address.source}): it cannot see this disk")
