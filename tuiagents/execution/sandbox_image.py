"""Build the sandbox image offline: ``debootstrap`` a minimal Debian, then ``docker import`` it.

No image registry is reachable from air-gapped machines (and from our CI), but a Debian mirror
usually is, so the image is made from packages instead of pulled:

    debootstrap --variant=minbase --include=python3 bookworm /tmp/rootfs [MIRROR]
    tar -C /tmp/rootfs -c . | docker import --change 'CMD ["python3"]' - tuiagents-sandbox:latest

The tar stream goes straight to the daemon through the docker SDK, so no tarball touches the disk.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

DEFAULT_SANDBOX_TAG = "tuiagents-sandbox:latest"
DEFAULT_SUITE = "bookworm"
# debootstrap's own default; used when apt points nowhere better.
DEBIAN_DEFAULT_MIRROR = "http://deb.debian.org/debian"
APT_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))


class SandboxBuildError(RuntimeError):
    """The sandbox image could not be built; the message says what to do next."""


def _docker_client():
    # Imported lazily so that importing this module never needs a daemon.
    import docker

    return docker.from_env()


def image_present(tag: str = DEFAULT_SANDBOX_TAG) -> bool:
    """Return True when the daemon (honouring ``DOCKER_HOST``) already has image ``tag``.

    Returns False when the image is missing or the daemon cannot be reached.
    """
    import docker

    try:
        client = _docker_client()
        try:
            client.images.get(tag)
            return True
        finally:
            client.close()
    except docker.errors.ImageNotFound:
        return False
    except docker.errors.DockerException:
        return False


def _apt_source_lines(paths: tuple[Path, ...] = APT_SOURCES) -> Iterator[tuple[str, list[str]]]:
    """Yield ``(uri, suites)`` for every enabled ``deb`` entry in one-line and deb822 files."""
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            # apt only reads *.list and *.sources; "*.disabled" files must stay ignored.
            files += sorted(f for f in p.iterdir() if f.suffix in (".list", ".sources"))
        elif p.is_file():
            files.append(p)
    for f in files:
        try:
            text = f.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if f.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields: dict[str, str] = {}
                for line in stanza.splitlines():
                    if line.startswith("#") or ":" not in line:
                        continue
                    key, _, value = line.partition(":")
                    fields[key.strip().lower()] = value.strip()
                if "deb" not in fields.get("types", "").split():
                    continue
                if fields.get("enabled", "yes").lower() == "no":
                    continue
                for uri in fields.get("uris", "").split():
                    yield uri, fields.get("suites", "").split()
        else:
            for line in text.splitlines():
                parts = line.split("#", 1)[0].split()
                if len(parts) < 3 or parts[0] != "deb":
                    continue
                parts = parts[1:]
                if parts[0].startswith("["):  # options such as [signed-by=...]
                    while parts and not parts[0].endswith("]"):
                        parts = parts[1:]
                    parts = parts[1:]
                if len(parts) >= 2:
                    yield parts[0], [parts[1]]


def default_mirror(suite: str = DEFAULT_SUITE, paths: tuple[Path, ...] = APT_SOURCES) -> str:
    """Pick the Debian mirror apt is configured with for ``suite`` (falls back to deb.debian.org).

    An air-gapped machine typically points apt at an internal mirror; debootstrap must use the
    same one because deb.debian.org would be unreachable there.
    """
    candidates = [(u, s) for u, s in _apt_source_lines(paths) if u.startswith(("http", "file:"))]
    for uri, suites in candidates:
        if suite in suites and "security" not in uri:
            return uri.rstrip("/")
    for uri, _ in candidates:
        if uri.rstrip("/").endswith("/debian"):
            return uri.rstrip("/")
    return DEBIAN_DEFAULT_MIRROR


def _tar_chunks(root: Path, chunk_size: int = 1 << 20) -> Iterator[bytes]:
    """Stream ``tar -C root -c .`` as chunks, raising if tar fails."""
    # --numeric-owner keeps root-owned files root-owned whatever the host's user names are.
    proc = subprocess.Popen(
        ["tar", "--numeric-owner", "-C", str(root), "-c", "."],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        while chunk := proc.stdout.read(chunk_size):
            yield chunk
    finally:
        proc.stdout.close()
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        if proc.wait() != 0:
            raise SandboxBuildError(f"tar of the root filesystem failed: {err.strip()}")


def build_sandbox_image(
    tag: str = DEFAULT_SANDBOX_TAG,
    suite: str = DEFAULT_SUITE,
    mirror: str | None = None,
    log: Callable[[str], object] = print,
    include: tuple[str, ...] = ("python3",),
) -> str:
    """Build the sandbox image ``tag`` offline from Debian packages and return the image id.

    Runs ``debootstrap --variant=minbase --include=python3 SUITE DIR MIRROR`` (needs root and the
    ``debootstrap`` package), then streams the folder as a tar into ``docker import`` with
    ``CMD ["python3"]``. ``mirror`` defaults to the mirror apt is configured with. The temporary
    folder is always removed. Raises :class:`SandboxBuildError` with the fix in its message.
    """
    import docker

    if shutil.which("debootstrap") is None:
        raise SandboxBuildError(
            "debootstrap is not installed: run `sudo apt-get install debootstrap` "
            "(or `docker pull` an image and set [docker] image), then retry."
        )
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        raise SandboxBuildError(
            "building the sandbox image needs root (debootstrap creates device files and "
            "chroots): run `sudo tuiagents sandbox build`."
        )
    try:
        client = _docker_client()
        client.ping()
    except docker.errors.DockerException as exc:
        host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        raise SandboxBuildError(
            f"Docker daemon not reachable at {host}: start it (`sudo systemctl start docker`) "
            f"or set DOCKER_HOST. ({exc})"
        ) from exc

    mirror = mirror or default_mirror(suite)
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="tuiagents-rootfs-"))
    try:
        cmd = ["debootstrap", "--variant=minbase", f"--include={','.join(include)}",
               suite, str(tmp), mirror]
        log(f"$ {' '.join(cmd)}")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        tail: list[str] = []
        for line in proc.stdout:
            line = line.rstrip()
            log(line)
            tail = (tail + [line])[-15:]
        if proc.wait() != 0:
            raise SandboxBuildError(
                f"debootstrap failed (exit {proc.returncode}) using mirror {mirror}; check that "
                "the mirror is reachable or pass another one with --mirror.\n" + "\n".join(tail)
            )
        # The apt lists and package cache are only dead weight inside the sandbox.
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for f in (tmp / junk).glob("*"):
                if f.is_file():
                    f.unlink()
        log(f"importing {tmp} as {tag} …")
        repo, version = _split_tag(tag)
        result = client.api.import_image_from_stream(
            _tar_chunks(tmp), repository=repo, tag=version, changes=['CMD ["python3"]']
        )
        if isinstance(result, (str, bytes)) and '"error' in str(result):
            raise SandboxBuildError(f"docker import failed: {result!r}")
        image = client.images.get(tag)
        log(f"built {tag} ({image.short_id}) in {time.monotonic() - started:.0f} s")
        return image.id
    finally:
        _unmount_below(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
        client.close()


def _split_tag(tag: str) -> tuple[str, str]:
    """Split ``repo[:tag]`` (a registry port such as ``host:5000/x`` is not a tag)."""
    name, sep, version = tag.rpartition(":")
    if not sep or "/" in version:
        return tag, "latest"
    return name, version


def _unmount_below(root: Path) -> None:
    """Unmount anything a failed debootstrap left mounted (proc, sys) before deleting ``root``.

    Otherwise ``rmtree`` would walk into the host's /proc or /sys through those mounts.
    """
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return
    prefix = str(root.resolve()) + "/"
    points = [fields[1] for fields in (m.split() for m in mounts) if len(fields) > 1]
    targets = [p for p in points if p.startswith(prefix)]
    for target in sorted(targets, key=len, reverse=True):
        subprocess.run(["umount", "-l", target], capture_output=True, check=False)
