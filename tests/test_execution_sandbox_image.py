"""The offline sandbox image builder: mirror choice, plain errors, and (opt-in) a real build.

The real build (debootstrap + docker import, about 40 s and ~160 MB) only runs with
``TUIAGENTS_TEST_BUILD=1``; CI builds the image anyway before the tests.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from tuiagents.execution import sandbox_image
from tuiagents.execution.sandbox_image import (
    DEBIAN_DEFAULT_MIRROR,
    SandboxBuildError,
    _split_tag,
    build_sandbox_image,
    default_mirror,
    image_present,
)


def test_mirror_from_deb822_sources(tmp_path: Path) -> None:
    d = tmp_path / "sources.list.d"
    d.mkdir()
    (d / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.internal/debian-security\nSuites: bookworm-security\n"
        "Components: main\n\n"
        "Types: deb\nURIs: http://mirror.internal/debian/\nSuites: bookworm bookworm-updates\n"
        "Components: main\n"
    )
    (d / "other.list.disabled-by-admin").write_text("deb http://elsewhere/debian bookworm main\n")
    assert default_mirror("bookworm", (tmp_path / "sources.list", d)) == "http://mirror.internal/debian"


def test_mirror_from_one_line_sources(tmp_path: Path) -> None:
    src = tmp_path / "sources.list"
    src.write_text(
        "# comment\ndeb-src http://src.example/debian bookworm main\n"
        "deb [signed-by=/usr/share/keyrings/k.gpg arch=amd64] http://apt.example/debian "
        "bookworm main\n"
    )
    assert default_mirror("bookworm", (src,)) == "http://apt.example/debian"


def test_mirror_falls_back_to_debian(tmp_path: Path) -> None:
    assert default_mirror("bookworm", (tmp_path / "missing",)) == DEBIAN_DEFAULT_MIRROR


def test_split_tag() -> None:
    assert _split_tag("tuiagents-sandbox:latest") == ("tuiagents-sandbox", "latest")
    assert _split_tag("registry:5000/sandbox") == ("registry:5000/sandbox", "latest")
    assert _split_tag("registry:5000/sandbox:v2") == ("registry:5000/sandbox", "v2")


def test_missing_debootstrap_says_how_to_install(monkeypatch) -> None:
    monkeypatch.setattr(sandbox_image.shutil, "which", lambda name: None)
    with pytest.raises(SandboxBuildError, match="apt-get install debootstrap"):
        build_sandbox_image(log=lambda line: None)


def test_not_root_says_so(monkeypatch) -> None:
    monkeypatch.setattr(sandbox_image.shutil, "which", lambda name: "/usr/sbin/debootstrap")
    monkeypatch.setattr(sandbox_image.os, "geteuid", lambda: 1000)
    with pytest.raises(SandboxBuildError, match="needs root"):
        build_sandbox_image(log=lambda line: None)


def test_image_present_without_daemon(monkeypatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    assert image_present("tuiagents-sandbox:latest") is False


@pytest.mark.docker
@pytest.mark.skipif(os.environ.get("TUIAGENTS_TEST_BUILD") != "1",
                    reason="slow (debootstrap + import); set TUIAGENTS_TEST_BUILD=1 to run")
def test_real_build() -> None:
    import docker

    tag = f"tuiagents-sandbox-test:{uuid.uuid4().hex[:8]}"
    lines: list[str] = []
    try:
        build_sandbox_image(tag=tag, log=lines.append)
        assert image_present(tag)
        client = docker.from_env()
        out = client.containers.run(tag, ["python3", "-c", "print('ok')"], remove=True,
                                    network_mode="none")
        assert out == b"ok\n"
        assert client.images.get(tag).attrs["Config"]["Cmd"] == ["python3"]
        assert not [p for p in Path("/tmp").glob("tuiagents-rootfs-*")]
    finally:
        try:
            docker.from_env().images.remove(tag, force=True)
        except Exception:
            pass
