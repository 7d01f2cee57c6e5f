"""Can the sandbox start: the daemon answers and the image is here (or a registry serves it).

Checked before the first block is offered (`DockerExecutor.start_problem`), by `tuiagents doctor`
and by the demo, so all three name the same thing missing and the same fixes: an image already
built here under another tag, the offline build (spelled so that it works from a venv under sudo),
a pull where a registry answers, or the `[docker] image` line.
"""

from __future__ import annotations

import logging
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

from tuiagents.execution.base import StartProblem
from tuiagents.execution.docker_client import connect_docker, docker_host
from tuiagents.execution.sandbox_image import DEFAULT_SANDBOX_TAG
from tuiagents.execution.settings import DEFAULT_IMAGE

log = logging.getLogger(__name__)

#: The repository the offline build tags its images with (any tag of it is a sandbox image).
SANDBOX_REPO = DEFAULT_SANDBOX_TAG.split(":", 1)[0]
#: What "no registry answers" means, for people.
NO_REGISTRY = "no image registry answers from this machine"


def tuiagents_command() -> str:
    """How to call this very tuiagents from a shell, also after `sudo`.

    sudo resets PATH, so `sudo tuiagents` does not find a venv's or `pip --user`'s script: the
    full path of the running one is given (or its interpreter with `-m tuiagents`).
    """
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is not None and argv0.name == "tuiagents" and argv0.is_file():
        return shlex.quote(str(argv0.absolute()))
    found = shutil.which("tuiagents")
    if found and Path(found).absolute().parent == Path(sys.executable).absolute().parent:
        return shlex.quote(str(Path(found).absolute()))
    return f"{shlex.quote(sys.executable)} -m tuiagents"


def build_command(tag: str = DEFAULT_SANDBOX_TAG) -> str:
    """The offline build of `tag` as a person types it (root is needed for debootstrap)."""
    tagged = "" if tag == DEFAULT_SANDBOX_TAG else f" --tag {shlex.quote(tag)}"
    return f"sudo {tuiagents_command()} sandbox build{tagged}"


def local_sandbox_images(client: Any) -> list[str]:
    """Tags of the sandbox images built here (`tuiagents-sandbox:*`), the default tag first."""
    tags: set[str] = set()
    try:
        for image in client.images.list(name=SANDBOX_REPO):
            tags.update(t for t in image.tags if t.split(":", 1)[0] == SANDBOX_REPO)
    except Exception as exc:  # noqa: BLE001 - a listing that fails only loses a suggestion
        log.debug("could not list images: %s", exc)
    return sorted(tags, key=lambda t: (t != DEFAULT_SANDBOX_TAG, t))


def image_fixes(image: str, present: list[str]) -> str:
    """The ways to get a usable image when `image` is missing, best first."""
    ways = []
    others = [t for t in present if t != image]
    if others:
        whose = "the demo's image" if others[0] == DEFAULT_SANDBOX_TAG else "a sandbox image"
        ways.append(f'set [docker] image = "{others[0]}" in your config.toml ({whose}, already built here)')
    if image == DEFAULT_IMAGE:  # a registry's image: the offline build makes the sandbox's own instead
        if not others:
            ways.append(f'build one offline: `{build_command()}`, then set [docker] image = "{DEFAULT_SANDBOX_TAG}"')
    else:  # built under the tag the config names, the config works as it is
        ways.append(f"build it offline: `{build_command(image)}`")
    ways.append(f"`docker pull {image}` where a registry answers")
    if not others:
        ways.append("set [docker] image to an image with python3 that is here (`docker images` lists them)")
    return "; or ".join(ways)


def image_problem(client: Any, image: str) -> StartProblem | None:
    """None when `image` is here or a registry serves it, else what is missing and the fixes."""
    import docker

    try:
        client.images.get(image)
        return None
    except docker.errors.ImageNotFound:
        pass
    try:
        client.images.get_registry_data(image)  # asks the registry through the daemon, downloads nothing
        return None
    except docker.errors.DockerException as exc:
        log.debug("no registry data for %s: %s", image, exc)
    return StartProblem(what="image", fix=image_fixes(image, local_sandbox_images(client)),
                        missing=f"the sandbox image {image} is not here and cannot be pulled ({NO_REGISTRY})")


def daemon_problem(exc: BaseException | None = None) -> StartProblem:
    """No daemon answers: where it was looked for and how to start one."""
    detail = f" ({exc})" if exc else ""
    return StartProblem(what="daemon", missing=f"the Docker daemon is not reachable at {docker_host()}{detail}",
                        fix="start it (`sudo systemctl start docker` or `sudo dockerd &`), add yourself to the "
                            "docker group, or point DOCKER_HOST at a running daemon; `tuiagents doctor` checks it")


def sandbox_problem(image: str, timeout: float = 20) -> StartProblem | None:
    """Blocking: why a sandbox with `image` cannot start now, or None when it can."""
    import docker

    try:
        client = connect_docker(timeout=timeout)
    except docker.errors.DockerException as exc:
        return daemon_problem(exc)
    try:
        return image_problem(client, image)
    except docker.errors.DockerException as exc:
        return daemon_problem(exc)
    finally:
        client.close()
