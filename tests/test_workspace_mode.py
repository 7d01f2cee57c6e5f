"""Which workspace a run uses: copied for a daemon that may be elsewhere, bound for a local one.

The daemon's address comes from ``DOCKER_HOST``, else from the docker CLI's current context (its
real files: ``config.json`` and the context's ``meta.json`` under the sha256 of its name).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tuiagents.app.cli import main
from tuiagents.config import ConfigError, parse_config
from tuiagents.execution.sandbox_workspace import BindWorkspace, CopyWorkspace, make_workspace
from tuiagents.execution.settings import DockerSettings
from tuiagents.execution.workspace_mode import (
    WorkspaceMode,
    choose_workspace,
    daemon_address,
)


def _context(config_dir: Path, name: str, host: str, current: bool = True) -> None:
    """Write a docker context the way `docker context create` stores it."""
    meta = config_dir / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps(
        {"Name": name, "Metadata": {}, "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": False}}}))
    if current:
        (config_dir / "config.json").write_text(json.dumps({"currentContext": name}))


@pytest.mark.parametrize("host", ["tcp://10.0.0.5:2375", "ssh://builder@gpu-box", "tcp://127.0.0.1:2376"])
def test_a_daemon_behind_tcp_or_ssh_gets_a_copied_workspace(host, tmp_path):
    choice = choose_workspace("auto", {"DOCKER_HOST": host, "HOME": str(tmp_path)})
    assert choice.mode is WorkspaceMode.COPY
    assert host in choice.reason and "DOCKER_HOST" in choice.reason


@pytest.mark.parametrize("env", [{}, {"DOCKER_HOST": "unix:///tmp/other/docker.sock"}])
def test_a_daemon_on_a_socket_gets_the_bind_mount(env, tmp_path):
    choice = choose_workspace("auto", {**env, "HOME": str(tmp_path)})
    assert choice.mode is WorkspaceMode.BIND
    assert "local" in choice.reason


def test_the_setting_forces_either_mode(tmp_path):
    remote = {"DOCKER_HOST": "ssh://far", "HOME": str(tmp_path)}
    assert choose_workspace("bind", remote).mode is WorkspaceMode.BIND
    assert choose_workspace("copy", {"HOME": str(tmp_path)}).mode is WorkspaceMode.COPY
    assert '"copy"' in choose_workspace("copy", {"HOME": str(tmp_path)}).reason


def test_a_docker_context_pointing_elsewhere_gets_a_copied_workspace(tmp_path):
    config = tmp_path / "docker-config"
    _context(config, "build-farm", "ssh://ci@farm.example")
    env = {"DOCKER_CONFIG": str(config)}
    address = daemon_address(env)
    assert (address.url, address.local) == ("ssh://ci@farm.example", False)
    choice = choose_workspace("auto", env)
    assert choice.mode is WorkspaceMode.COPY and 'context "build-farm"' in choice.reason
    # DOCKER_CONTEXT picks another context; DOCKER_HOST wins over both, as with the docker CLI
    _context(config, "here", "unix:///run/user/1000/docker.sock", current=False)
    assert choose_workspace("auto", {**env, "DOCKER_CONTEXT": "here"}).mode is WorkspaceMode.BIND
    assert choose_workspace("auto", {**env, "DOCKER_HOST": "unix:///x.sock"}).mode is WorkspaceMode.BIND


def test_a_context_that_is_missing_or_unreadable_means_the_default_socket(tmp_path):
    config = tmp_path / "docker-config"
    config.mkdir()
    (config / "config.json").write_text(json.dumps({"currentContext": "gone"}))
    assert daemon_address({"DOCKER_CONFIG": str(config)}).url == "unix:///var/run/docker.sock"
    (config / "config.json").write_text("{not json")
    assert choose_workspace("auto", {"DOCKER_CONFIG": str(config)}).mode is WorkspaceMode.BIND


def test_the_executor_workspace_follows_the_choice(tmp_path):
    settings = DockerSettings()
    assert isinstance(make_workspace(settings, tmp_path, None, 1 << 20, {"DOCKER_HOST": "tcp://h:2375"}),
                      CopyWorkspace)
    assert isinstance(make_workspace(settings, tmp_path, None, 1 << 20, {"HOME": str(tmp_path)}),
                      BindWorkspace)


def test_a_bad_workspace_setting_names_the_key_and_the_choices(tmp_path, capsys):
    with pytest.raises(ConfigError) as info:
        parse_config({"docker": {"workspace": "rsync"}})
    line = next(line for line in str(info.value).splitlines() if "docker.workspace" in line)
    assert "'auto'" in line and "'bind'" in line and "'copy'" in line
    path = tmp_path / "config.toml"
    path.write_text('[[agents]]\nname = "a"\nkind = "user_proxy"\n[[agents]]\nname = "b"\nkind = "user_proxy"\n'
                    '[[teams]]\nname = "t"\nagents = ["a", "b"]\n[docker]\nworkspace = "rsync"\n')
    code = main(["run", "--headless", "--config", str(path), "--task", "x", "--approve", "all",
                 "--session", str(tmp_path / "s.jsonl")])
    out, err = capsys.readouterr()
    assert code == 2 and "docker.workspace" in err and "Traceback" not in out + err


def _doctor(tmp_path: Path, docker_host: str, section: str = "") -> str:
    path = tmp_path / "config.toml"
    path.write_text(section)
    env = dict(os.environ, TUIAGENTS_DATA_DIR=str(tmp_path / "data"), TUIAGENTS_CONFIG_DIR=str(tmp_path / "cfg"),
               DOCKER_HOST=docker_host, COLUMNS="300")
    env.pop("TUIAGENTS_CONFIG", None)
    done = subprocess.run([sys.executable, "-m", "tuiagents", "doctor", "--config", str(path)],
                          capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert "Traceback" not in done.stderr, done.stderr
    return next(line for line in done.stdout.splitlines() if "sandbox workspace" in line)


def test_doctor_says_which_workspace_a_run_would_use_and_why(tmp_path):
    line = _doctor(tmp_path, "tcp://127.0.0.1:9")  # nothing listens there: the mode is still told
    assert "copy:" in line and "tcp://127.0.0.1:9" in line and "DOCKER_HOST" in line
    line = _doctor(tmp_path, "tcp://127.0.0.1:9", '[docker]\nworkspace = "bind"\n')
    assert "bind:" in line and '[docker] workspace = "bind"' in line
    line = _doctor(tmp_path, "unix:///nonexistent.sock")
    assert "bind:" in line and "local" in line
