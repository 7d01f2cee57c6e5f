"""Getting the demo's Docker sandbox ready: is an image there, can one be pulled or built, and doing it.

The demo runs the coder's block in the sandbox. When the image it looks for is not present it offers
a sandbox image already built here under another tag, to pull the configured one (where a registry
answers) or to build the offline image with the machinery of
`tuiagents sandbox build` (debootstrap + docker import), reporting progress and an estimate of the
time left. When neither is possible it says why, once, and the demo runs without code.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tuiagents.execution.sandbox_check import NO_REGISTRY, build_command, local_sandbox_images
from tuiagents.execution.sandbox_image import DEFAULT_SANDBOX_TAG

PULLED_IMAGE = "python:3.12-slim"
#: Lines `tuiagents sandbox build` logs for bookworm minbase + python3 (539-540 measured, see
#: bench/bench_sandbox_build.py).
BUILD_LINES = 540
#: (lines logged, share of the build's time) measured on one build: resolving dependencies is
#: slow and logs little, unpacking is quick and logs a lot, so lines map to time piecewise.
BUILD_CURVE = [(0, 0.0), (7, 0.03), (10, 0.21), (100, 0.23), (150, 0.36), (230, 0.38), (320, 0.48),
               (409, 0.61), (450, 0.63), (500, 0.89), (536, 0.96), (540, 1.0)]


def build_fraction(lines: int) -> float:
    """The share of a build done once it has logged `lines` lines (see BUILD_CURVE)."""
    for (x0, y0), (x1, y1) in zip(BUILD_CURVE, BUILD_CURVE[1:]):
        if lines <= x1:
            return y0 + (y1 - y0) * (lines - x0) / (x1 - x0)
    return 1.0
#: What a build took on the development machine with a near mirror (46 s), for the first estimate.
BUILD_SECONDS = 50.0


@dataclass
class Progress:
    """How far a pull or build got: a fraction in [0, 1], seconds left (None: unknown), last step."""

    fraction: float
    eta: float | None
    step: str


@dataclass
class SandboxStatus:
    """Whether code can run now (`image`), and if not why, and what could fix it here."""

    image: str | None = None
    problem: str | None = None  # why the coder's code will not run (None when `image` is ready)
    wanted: list[str] = field(default_factory=list)  # the images looked for, in order
    built: str | None = None  # a sandbox image already built here under another tag
    pull: str | None = None  # an image a registry would serve
    build: str | None = None  # the tag an offline build would create
    build_problem: str | None = None  # why an offline build is not possible here
    no_daemon: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def can_prepare(self) -> bool:
        """True when an image built here, a pull or a build could make the sandbox ready."""
        return bool(self.built or self.pull or self.build)


def _client():
    from tuiagents.execution.docker_client import connect_docker

    return connect_docker()


def build_blocker(tag: str = DEFAULT_SANDBOX_TAG) -> str | None:
    """Why `tuiagents sandbox build` cannot run on this machine now, or None."""
    if shutil.which("debootstrap") is None:
        return "an offline build needs debootstrap (`sudo apt-get install debootstrap`)"
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        return f"an offline build needs root: `{build_command(tag)}`"
    return None


def sandbox_status(configured: str | None = None) -> SandboxStatus:
    """Look for a usable image: `configured` (the config's `[docker] image`), else the usual two."""
    import docker

    from tuiagents.execution.docker_client import daemon_unreachable_message

    candidates = [configured] if configured else [DEFAULT_SANDBOX_TAG, PULLED_IMAGE]
    try:
        client = _client()
    except docker.errors.DockerException as exc:
        fix = daemon_unreachable_message().rstrip(".")
        return SandboxStatus(no_daemon=True, problem=(
            f"Docker is not available, so the coder's code will not run (the demo goes on without it). "
            f"Fix: {fix}."))
    try:
        for image in candidates:
            try:
                client.images.get(image)
                return SandboxStatus(image=image)
            except docker.errors.ImageNotFound:
                continue
        want = configured or PULLED_IMAGE
        tag = configured or DEFAULT_SANDBOX_TAG
        status = SandboxStatus(wanted=candidates, build=tag, build_problem=build_blocker(tag),
                               built=next(iter(local_sandbox_images(client)), None))
        try:
            client.images.get_registry_data(want)  # asks the registry, downloads nothing
            status.pull = want
        except docker.errors.DockerException:
            status.notes.append(f"{want} cannot be pulled: {NO_REGISTRY}")
        if status.build_problem:
            status.build = None
        missing = " or ".join(candidates)
        ways = [f'set [docker] image = "{status.built}" (built here)'] if status.built else []
        ways += [f"`docker pull {want}`"] if status.pull or not status.build else []
        ways.append(f"`{build_command(tag)}` (offline)")
        status.problem = (f"No sandbox image ({missing}) is on this machine, so the coder's code will not "
                          f"run. Fix: {' or '.join(ways)}, then start the demo again.")
        return status
    finally:
        client.close()


class Estimate:
    """Seconds left from the fraction done so far and the time it took (None until it means something)."""

    def __init__(self, expected: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.started = clock()
        self.expected = expected

    def left(self, fraction: float) -> float | None:
        """Seconds left at `fraction` done."""
        elapsed = self.clock() - self.started
        if fraction >= 1:
            return 0.0
        if fraction < 0.05:
            return None if self.expected is None else max(self.expected - elapsed, 0.0)
        return elapsed * (1 - fraction) / fraction


def build_image(tag: str, on_progress: Callable[[Progress], object]) -> str:
    """Build the offline sandbox image `tag` (`tuiagents sandbox build`), reporting progress."""
    from tuiagents.execution.sandbox_image import build_sandbox_image

    estimate = Estimate(BUILD_SECONDS)
    seen = 0

    def log(line: str) -> None:
        nonlocal seen
        seen += 1
        fraction = 0.97 if line.startswith("importing ") else min(build_fraction(seen), 0.96)
        on_progress(Progress(fraction, estimate.left(fraction), line.strip()[:120]))

    build_sandbox_image(tag, log=log)
    on_progress(Progress(1.0, 0.0, f"built {tag}"))
    return tag


def pull_image(image: str, on_progress: Callable[[Progress], object]) -> str:
    """Pull `image` through the daemon, reporting the bytes of its layers as progress."""
    import docker

    from tuiagents.execution.sandbox_image import _split_tag

    repo, tag = _split_tag(image)
    estimate = Estimate()
    layers: dict[str, tuple[int, int]] = {}
    client = _client()
    try:
        for item in client.api.pull(repo, tag=tag, stream=True, decode=True):
            if "error" in item:
                raise docker.errors.APIError(str(item["error"]))
            detail = item.get("progressDetail") or {}
            if item.get("id") and detail.get("total"):
                layers[item["id"]] = (int(detail.get("current", 0)), int(detail["total"]))
            elif item.get("id") and item.get("status") in ("Download complete", "Pull complete", "Already exists"):
                done = layers.get(item["id"], (1, 1))[1]
                layers[item["id"]] = (done, done)
            total = sum(t for _, t in layers.values())
            fraction = min(sum(c for c, _ in layers.values()) / total, 0.99) if total else 0.0
            on_progress(Progress(fraction, estimate.left(fraction), str(item.get("status", ""))[:120]))
        client.images.get(image)
    finally:
        client.close()
    on_progress(Progress(1.0, 0.0, f"pulled {image}"))
    return image


def sandbox_offer(status: SandboxStatus) -> Any:
    """What the app's sandbox screen offers for `status`: pull, build, or go on without code."""
    from tuiagents.ui.screens.sandbox_screen import SandboxOffer

    choices: list[tuple[str, str, str]] = []
    wanted = " or ".join(status.wanted) or "its image"
    mine = " (your [docker] image)" if len(status.wanted) == 1 else ""
    lines = [f"The coder's Python block runs in a Docker sandbox. The demo looks for {wanted}{mine}, "
             f"and {'it is not' if len(status.wanted) < 2 else 'neither is'} on this machine."]
    if status.built:
        choices.append(("use", f"Use {status.built} (already built here)", "u"))
    if status.pull:
        choices.append(("pull", f"Pull {status.pull} from the registry", "p"))
    if status.build:
        choices.append(("build", f"Build {status.build} offline (about a minute)", "b"))
        lines.append(f"The offline build installs a minimal Debian with python3 from the Debian mirror apt "
                     f"uses, like `tuiagents sandbox build`.")
    lines += [f"({note})" for note in status.notes]
    if status.build_problem:
        lines.append(f"({status.build_problem})")
    lines.append("Or go on without it: the demo runs, but the code is not run.")

    def prepare(choice: str, on_progress: Callable[[Progress], object]) -> str:
        if choice == "use" and status.built:
            return status.built
        if choice == "pull" and status.pull:
            return pull_image(status.pull, on_progress)
        if choice == "build" and status.build:
            return build_image(status.build, on_progress)
        raise ValueError(f"unknown choice {choice!r}")

    return SandboxOffer(text="\n".join(lines), choices=choices, prepare=prepare)
