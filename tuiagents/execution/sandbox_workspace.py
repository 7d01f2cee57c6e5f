"""Where the session's work dir is for the sandbox: bound from this disk, or copied through the API.

The executor asks its workspace for the container's mount (:attr:`SandboxWorkspace.copied`), then
around every block to bring the container's copy up to date (:meth:`push`) and the block's changes
back (:meth:`pull`). Binding needs neither. Copying (for a daemon that cannot see this disk, see
:mod:`workspace_mode`) gives the container a volume of its own, filled with ``put_archive`` and
read back with ``get_archive`` (:mod:`workspace_copy` says what crosses and what is refused); what
the host deleted, the watchdog deletes (:func:`sandbox_protocol.delete_paths`). The watchdog, the
hashes and the limits are the same either way: the block runs in the same container.
"""

from __future__ import annotations

import logging
import os
from abc import ABC
from pathlib import Path, PurePosixPath
from typing import Any

from tuiagents.execution.files import off_loop
from tuiagents.execution.sandbox_channel import SandboxChannel
from tuiagents.execution.sandbox_protocol import delete_paths
from tuiagents.execution.settings import NOBODY, DockerSettings
from tuiagents.execution.sandbox_stage import STAGE
from tuiagents.execution.workspace_copy import CHUNK, CopyBack, Manifest, unpack_changes
from tuiagents.execution.workspace_pack import pack_changes
from tuiagents.execution.workspace_rescue import PendingCopy, drop_pending, save_pending
from tuiagents.execution.workspace_mode import (
    WorkspaceChoice,
    WorkspaceMode,
    choose_workspace,
    daemon_address,
)

log = logging.getLogger(__name__)

# Copying a big work dir over a slow link takes a while, but not forever.
COPY_TIMEOUT = 600.0


class SandboxWorkspace(ABC):
    """How the work dir reaches the container; the bind-mounted kind needs no work per block."""

    copied = False

    def __init__(self, choice: WorkspaceChoice, work_dir: Path) -> None:
        self.choice = choice
        self.work_dir = Path(work_dir)
        self.root = ""

    def reset(self, root: str) -> None:
        """A new container holds the work dir at ``root`` (a copy starts out empty)."""
        self.root = root

    async def push(self, api: Any, container_id: str, channel: SandboxChannel) -> list[str]:
        """Before a block: bring the container's work dir up to date; what went wrong."""
        return []

    async def pull(self, api: Any, container_id: str, changed: list[str] | None = None,
                   staged: str | None = None) -> CopyBack | None:
        """After a block: bring its changes to this disk (None: they are here already).

        ``changed`` names the work dir's top entries the block touched, when the watchdog knows
        them (the disk quota's layer); None means any may have changed. ``staged`` is the
        folder the watchdog gathered them in, when it did."""
        return None

    def discard(self, container_id: str) -> None:
        """Blocking: the container is being removed; nothing of it is to be recovered."""


class BindWorkspace(SandboxWorkspace):
    """The work dir bind-mounted from this machine: the container writes it directly."""


class CopyWorkspace(SandboxWorkspace):
    """The work dir copied into a volume of the container and its changes copied back.

    ``owner`` is who owns the files in the container (the sandbox user) and, when tuiagents runs
    as root, here; ``budget`` is the most one copy back writes (the disk limit).
    """

    copied = True

    def __init__(self, choice: WorkspaceChoice, work_dir: Path, owner: tuple[int, int] | None,
                 budget: int) -> None:
        super().__init__(choice, work_dir)
        self.owner = owner
        self.budget = budget
        self.manifest = Manifest()

    def reset(self, root: str) -> None:
        """See :meth:`SandboxWorkspace.reset`: nothing is in the new volume yet."""
        super().reset(root)
        self.manifest = Manifest()

    async def push(self, api: Any, container_id: str, channel: SandboxChannel) -> list[str]:
        """See :meth:`SandboxWorkspace.push`; raises ``OSError`` when the daemon refuses."""
        uid, gid = self.owner or tuple(int(part) for part in NOBODY.split(":"))
        packed = await off_loop(pack_changes, str(self.work_dir), self.manifest, (uid, gid),
                                timeout=COPY_TIMEOUT)
        try:
            problems: list[str] = []
            if packed.removed:
                problems = await delete_paths(channel, packed.removed)
            if packed.changed and not await off_loop(api.put_archive, container_id, self.root,
                                                     packed.tar, timeout=COPY_TIMEOUT):
                raise OSError(f"the Docker daemon refused the work dir's files for {self.root}")
        finally:
            packed.tar.close()
        self.manifest.entries = packed.entries
        # If this process dies while the block runs, its files stay in the container: the record
        # lets whoever reaps it copy them back first (see workspace_rescue).
        record = PendingCopy(container_id, str(self.work_dir), self.root, self.owner, self.budget,
                             daemon_address().url, dict(self.manifest.entries))
        try:
            await off_loop(save_pending, record, timeout=COPY_TIMEOUT)
        except (OSError, ValueError) as exc:  # the block still runs: only a crash would lose more
            log.warning("could not keep the record that recovers a block's files: %s", exc)
        return problems

    def discard(self, container_id: str) -> None:
        """See :meth:`SandboxWorkspace.discard`."""
        drop_pending(container_id)

    async def pull(self, api: Any, container_id: str, changed: list[str] | None = None,
                   staged: str | None = None) -> CopyBack | None:
        """See :meth:`SandboxWorkspace.pull`: at most the disk limit, never out of the work dir.

        With ``changed`` and the folder the watchdog gathered them in (``staged``, see
        :mod:`sandbox_stage`), only those entries are read back, in one archive: a block costs
        what it wrote, not what the work dir holds, however many entries it touched."""

        def copy_back() -> CopyBack:
            names = [n for n in changed or [] if n not in ("", ".", "..", STAGE) and "/" not in n]
            if changed is not None and not names:
                return CopyBack()  # the block changed nothing: nothing to read
            if changed is not None and staged == STAGE:
                chunks, _ = api.get_archive(container_id, f"{self.root}/{STAGE}", chunk_size=CHUNK)
                return unpack_changes(chunks, str(self.work_dir), STAGE, self.manifest,
                                      self.budget, self.owner, scope=names)
            chunks, _ = api.get_archive(container_id, self.root, chunk_size=CHUNK)
            return unpack_changes(chunks, str(self.work_dir), PurePosixPath(self.root).name,
                                  self.manifest, self.budget, self.owner)

        try:
            return await off_loop(copy_back, timeout=COPY_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - the daemon or the disk: said in the result
            return CopyBack(notes=[f"the block's files could not be copied back: {exc}"])
        finally:
            await off_loop(drop_pending, container_id)


def make_workspace(settings: DockerSettings, work_dir: Path, owner: tuple[int, int] | None,
                   budget: int, environ: dict[str, str] | None = None) -> SandboxWorkspace:
    """The workspace ``[docker] workspace`` and the daemon in use call for."""
    choice = choose_workspace(settings.workspace, os.environ if environ is None else environ)
    if choice.mode is WorkspaceMode.COPY:
        return CopyWorkspace(choice, work_dir, owner, budget)
    return BindWorkspace(choice, work_dir)
