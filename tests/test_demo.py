"""`tuiagents demo --headless` end to end, as a subprocess: with the Docker sandbox the critic reads
the code's real output and the planner ends the run with TERMINATE; without a daemon the demo says
Docker is unavailable, gives the fix, and still finishes.

`docker_ready()` is shared with the tmux tests: it skips (or, with TUIAGENTS_REQUIRE_DOCKER=1, fails)
when the daemon or the sandbox image is missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SANDBOX = os.environ.get("SANDBOX_IMAGE", "tuiagents-sandbox:latest")
NO_DAEMON = "unix:///nonexistent.sock"


def docker_ready(image: str = SANDBOX) -> None:
    """Skip the test when Docker or `image` is missing (fail instead under TUIAGENTS_REQUIRE_DOCKER=1)."""
    problem = None
    try:
        import docker

        from tuiagents.execution.docker_client import connect_docker

        connect_docker().images.get(image)
    except ImportError as exc:
        problem = f"the docker SDK is missing: {exc}"
    except docker.errors.ImageNotFound:
        problem = f"the sandbox image {image} is missing: run `tuiagents sandbox build` or set SANDBOX_IMAGE"
    except docker.errors.DockerException as exc:
        problem = f"no Docker daemon: {exc}"
    if problem is None:
        return
    if os.environ.get("TUIAGENTS_REQUIRE_DOCKER") == "1":
        pytest.fail(problem)
    pytest.skip(problem)


def isolated_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a tuiagents subprocess whose config, data and cache dirs are in `tmp_path`."""
    env = dict(os.environ)
    env.pop("TUIAGENTS_CONFIG", None)
    env.update(TUIAGENTS_CONFIG_DIR=str(tmp_path / "config"), TUIAGENTS_DATA_DIR=str(tmp_path / "data"),
               TUIAGENTS_CACHE_DIR=str(tmp_path / "cache"), XDG_CACHE_HOME=str(tmp_path / "cache"),
               PYTHONIOENCODING="utf-8", **extra)
    return env


def run_headless_demo(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`tuiagents demo --headless` with isolated dirs; fails the test if it hangs."""
    return subprocess.run([sys.executable, "-m", "tuiagents", "demo", "--headless"], cwd=tmp_path,
                          env=isolated_env(tmp_path, **env), capture_output=True, text=True, timeout=180, check=False)


def session_log(output: str) -> Path:
    """The session log the run printed ("Session log: PATH")."""
    lines = [line for line in output.splitlines() if line.startswith("Session log: ")]
    assert lines, f"no session log printed:\n{output}"
    return Path(lines[-1].removeprefix("Session log: ").strip())


@pytest.mark.docker
def test_headless_demo_runs_the_code_and_the_critic_reads_its_output(tmp_path):
    docker_ready()
    done = run_headless_demo(tmp_path)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "SCRIPTED DEMO" in out and "Docker is not available" not in out
    assert "code ran: exit code 0" in out
    user_turn = out.split("\nuser:\nexitcode: 0", 1)
    assert len(user_turn) == 2 and "warmest: Cairo" in user_turn[1].split("critic:")[0], out
    critic = out.split("\ncritic:\n", 1)[1]
    assert critic.startswith("I checked the output against the data"), out
    assert out.rstrip().splitlines()[-2] == "Stopped: planner said TERMINATE"
    log = session_log(out)
    assert log.is_file() and log.is_relative_to(tmp_path) and "TERMINATE" in log.read_text()


def test_headless_demo_without_docker_says_so_and_still_finishes(tmp_path):
    done = run_headless_demo(tmp_path, DOCKER_HOST=NO_DAEMON)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    notice = next(line for line in out.splitlines() if line.startswith("! "))
    assert "Docker is not available" in notice and "goes on without it" in notice
    assert f"Fix: Docker daemon not reachable at {NO_DAEMON}: start it" in notice
    assert "The code did not run, so I cannot check any output" in out
    assert "Stopped: planner said TERMINATE" in out
    assert session_log(out).is_file()
    # its task is a template its [context] fills, and the console shows the variables
    assert "task: Here are last week's noon temperatures (°C): Lisbon" in out
    assert "context: week=last week · unit=°C" in out
