"""Talking to the Docker daemon: connecting, plain-words errors, and container cleanup.

Every sandbox container carries labels (``tuiagents=1``, ``tuiagents.session``, and the owning
process's host, pid and start time) so leftovers of crashed sessions can be found and removed
without touching the containers of sessions still running. The start time tells a dead owner from
a new process that got the same pid.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import time
from concurrent.futures import Future

from tuiagents.execution.settings import NOBODY
from tuiagents.execution.workspace_mode import daemon_address
from tuiagents.execution.workspace_rescue import prune_records, rescue

log = logging.getLogger(__name__)

LABEL = "tuiagents"

# Containers this process created, removed at exit even if nobody called close().
_LIVE: set[str] = set()


class Reaped(list):
    """The sessions whose leftover containers were removed, and what was recovered from them
    (a copied work dir's files that a block wrote before its run's process died)."""

    def __init__(self) -> None:
        super().__init__()
        self.rescued: list[str] = []


def _remove_orphan(api, container, reaped: Reaped) -> bool:
    """Bring back what a dead run's block left in ``container`` (see workspace_rescue), then
    remove it with its volume; False when another process is still recovering it."""
    outcome = rescue(api, container.id)
    if outcome.note:
        reaped.rescued.append(outcome.note)
    if not outcome.removable:
        return False
    container.remove(v=True, force=True)
    return True


def container_labels(session_id: str) -> dict[str, str]:
    """The labels a session's sandbox container carries (see the module docstring)."""
    return {
        LABEL: "1",
        f"{LABEL}.session": session_id,
        f"{LABEL}.pid": str(os.getpid()),
        f"{LABEL}.started": process_start(os.getpid()) or "",
        f"{LABEL}.host": socket.gethostname(),
    }


def process_start(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, from /proc), or None if unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: fields are counted after the last ")".
    fields = stat[stat.rfind(b")") + 2:].split()
    return fields[19].decode() if len(fields) > 19 else None


def track_container(container_id: str, live: bool) -> None:
    """Record (``live``) or forget a container that the atexit hook must remove."""
    if live:
        _LIVE.add(container_id)
    else:
        _LIVE.discard(container_id)


def docker_host() -> str:
    """The daemon address in use (``DOCKER_HOST``, the current docker context, or the socket)."""
    return daemon_address().url


def daemon_unreachable_message(exc: BaseException | None = None) -> str:
    """Plain words for "no daemon": where we looked and how to start one."""
    detail = f" ({exc})" if exc else ""
    return (
        f"Docker daemon not reachable at {docker_host()}: start it with `sudo systemctl start "
        "docker` (or `sudo dockerd &`), add yourself to the docker group, or point DOCKER_HOST "
        f"at a running daemon; `tuiagents doctor` checks the setup.{detail}"
    )


def image_missing_message(image: str, exc: BaseException | None = None) -> str:
    """Plain words for a missing image and the two ways to get it."""
    detail = f" (pull failed: {exc})" if exc else ""
    return (
        f"image {image} not found: run `tuiagents sandbox build` (offline, builds "
        f"tuiagents-sandbox:latest) or `docker pull {image}`, or set [docker] image.{detail}"
    )


def sandbox_user(setting: str | None) -> str:
    """The ``uid:gid`` code runs as: the setting, else the invoking user, never root."""
    if setting:
        return setting
    if os.geteuid() == 0:
        return NOBODY
    return f"{os.geteuid()}:{os.getegid()}"


def owner_of(user: str) -> tuple[int, int] | None:
    """``(uid, gid)`` of a numeric ``uid[:gid]`` user, or None for a user name."""
    uid, _, gid = user.partition(":")
    if not uid.isdigit() or (gid and not gid.isdigit()):
        return None  # a user name: we cannot know its uid on the host
    return int(uid), int(gid or uid)


def connect_docker(timeout: float = 60):
    """A docker client for ``DOCKER_HOST`` (or the current docker context, or the default
    socket), checked with a ping.

    ``timeout`` bounds every API call of the client. Raises ``docker.errors.DockerException``
    when the daemon cannot be reached.
    """
    import docker

    address = daemon_address()
    if address.source.startswith("docker context"):  # from_env reads DOCKER_HOST only
        client = docker.DockerClient(base_url=address.url, timeout=timeout)
    else:
        client = docker.from_env(timeout=timeout)
    client.ping()
    return client


def cleanup_leftovers(everything: bool = False) -> int:
    """Remove sandbox containers whose tuiagents process is gone; return how many.

    With ``everything``, remove every tuiagents container, including live sessions' ones and
    ones from other hosts sharing the daemon. Returns 0 when the daemon is unreachable.
    """
    import docker

    try:
        client = connect_docker()
    except docker.errors.DockerException:
        return 0
    removed = 0
    try:
        for container in client.containers.list(all=True, filters={"label": f"{LABEL}=1"}):
            labels = container.labels or {}
            orphaned = is_orphaned(labels)
            if not everything and not orphaned:
                continue
            try:
                if orphaned and not _remove_orphan(client.api, container, Reaped()):
                    continue
                container.remove(v=True, force=True)
                removed += 1
            except docker.errors.DockerException as exc:
                log.debug("could not remove %s: %s", container.id, exc)
    finally:
        _prune_volumes(client)
        client.close()
    return removed


def is_orphaned(labels: dict[str, str]) -> bool:
    """True when a container's labels name a tuiagents process on this host that has exited."""
    if labels.get(f"{LABEL}.host") != socket.gethostname():
        return False  # another machine's process: we cannot tell whether it is alive
    try:
        pid = int(labels.get(f"{LABEL}.pid", ""))
    except ValueError:
        return True
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    started = labels.get(f"{LABEL}.started")
    now = process_start(pid)
    # Alive, but if it started at another time it is a new process that reuses the pid.
    return bool(started) and now is not None and now != started


def reap_orphans() -> Reaped:
    """Remove the sandbox containers whose owning process is gone; return their sessions.

    For the start, resume, doctor and sandbox commands, which say how many they removed. Never
    touches a container whose owner is alive (or on another host). Empty when no daemon answers.
    A copied work dir's files that a block wrote before its process died are copied back first.
    """
    import docker

    try:
        client = connect_docker(timeout=10)
    except docker.errors.DockerException:
        return Reaped()
    removed = Reaped()
    try:
        since = time.time()
        listed = client.containers.list(all=True, filters={"label": f"{LABEL}=1"})
        prune_records(daemon_address().url, {container.id for container in listed}, since)
        for container in listed:
            labels = container.labels or {}
            if not is_orphaned(labels):
                continue
            try:
                if not _remove_orphan(client.api, container, removed):
                    continue
                removed.append(labels.get(f"{LABEL}.session", container.short_id))
            except docker.errors.DockerException as exc:
                log.debug("could not remove %s: %s", container.id, exc)
    except docker.errors.DockerException as exc:
        log.debug("could not list sandbox containers: %s", exc)
    finally:
        _prune_volumes(client)
        client.close()
    return removed


def _prune_volumes(client) -> None:
    """Remove copied work dirs' volumes that no container uses any more (one removed without
    its volumes, by hand or by an older tuiagents); a live sandbox's volume is in use, so kept."""
    import docker

    try:
        client.volumes.prune(filters={"label": f"{LABEL}=1"})
    except docker.errors.DockerException as exc:
        log.debug("could not prune sandbox volumes: %s", exc)


_reaper: Future | None = None
_reaper_lock = threading.Lock()


def start_reaper() -> Future:
    """Reap orphans in a background thread (one at a time); the future holds the message.

    Started when a session's sandbox executor is made (a run starts or resumes), so leftovers
    of crashed sessions go without delaying the start; the result is :func:`reaped_message`.
    """
    global _reaper
    with _reaper_lock:
        if _reaper is None or _reaper.done():
            _reaper = Future()
            future = _reaper

            def work() -> None:
                try:
                    future.set_result(reaped_message(reap_orphans()))
                except Exception as exc:  # noqa: BLE001 - reaping is best effort
                    log.debug("reaping failed: %s", exc)
                    future.set_result(None)

            threading.Thread(target=work, name="tuiagents-reaper", daemon=True).start()
        return _reaper


def reaped_message(sessions: list[str]) -> str | None:
    """The line saying what :func:`reap_orphans` removed and recovered, or None when nothing."""
    rescued = list(getattr(sessions, "rescued", []))
    if not sessions:
        return "; ".join(rescued) or None
    shown = ", ".join(sessions[:3]) + (" …" if len(sessions) > 3 else "")
    return "; ".join(rescued + [f"removed {len(sessions)} leftover sandbox container(s) of "
                                f"sessions whose process is gone ({shown})"])


@atexit.register
def _remove_live_containers() -> None:
    """At interpreter exit, remove the containers of executors nobody closed.

    A start-up reaping still under way is waited for (briefly): a short resume must not exit
    with the crashed run's container left behind.
    """
    reaper = _reaper
    if reaper is not None and not reaper.done():
        try:
            reaper.result(timeout=15)
        except Exception:  # noqa: BLE001 - exiting anyway
            pass
    if not _LIVE:
        return
    try:
        client = connect_docker()
    except Exception:  # noqa: BLE001 - exiting anyway
        return
    for container_id in list(_LIVE):
        try:
            client.containers.get(container_id).remove(v=True, force=True)
        except Exception:  # noqa: BLE001
            pass
    client.close()
