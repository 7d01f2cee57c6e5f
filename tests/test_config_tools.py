"""`tools = ["mytools:add"]` imports mytools.py from the config file's folder, wherever the command
runs, without leaving that folder on sys.path; when an installed module has the same name, the
config folder's file is used for the config's tools, the installed one stays what `import` gives,
and the run says so."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tuiagents.config import load_config, parse_config
from tuiagents.engine.tools import load_tool
from tuiagents.testing import Reply, Rule, ScriptedServer

CONFIG = '''
[[models]]
name = "m"
model = "scripted-model"
base_url = "{url}"
max_retries = 0

[[agents]]
name = "user"
kind = "user_proxy"
human_input_mode = "NEVER"

[[agents]]
name = "helper"
kind = "assistant"
tools = ["{spec}"]

[[teams]]
name = "pair"
agents = ["user", "helper"]
max_turns = 4

[llm]
cache_seed = false
'''

ADD = 'def add(a: int, b: int) -> int:\n    """Add two numbers."""\n    return a + b {extra}\n'


def _run(config: Path, cwd: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("TUIAGENTS_CONFIG", "OAI_CONFIG_LIST")}
    env.update(TUIAGENTS_DATA_DIR=str(tmp_path / "data"), DOCKER_HOST="unix:///nonexistent.sock")
    # the package itself must stay importable; nothing else points at the config folder
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    return subprocess.run([sys.executable, "-m", "tuiagents", "run", "--headless", "--config", str(config),
                           "--team", "pair", "--task", "Add 2 and 3.", "--approve", "all"],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def _tool_rules() -> list[Rule]:
    return [Rule(agent="helper", turn=0, reply=Reply.tool("add", {"a": 2, "b": 3})),
            Rule(agent="helper", reply="The sum is in. TERMINATE")]


def test_a_tool_module_beside_the_config_is_imported_from_any_folder(tmp_path):
    conf, elsewhere = tmp_path / "conf", tmp_path / "elsewhere"
    conf.mkdir()
    elsewhere.mkdir()
    (conf / "mytools.py").write_text(ADD.format(extra="+ 1000"))
    with ScriptedServer(_tool_rules()) as server:
        (conf / "config.toml").write_text(CONFIG.format(url=server.url, spec="mytools:add"))
        done = _run(conf / "config.toml", elsewhere, tmp_path)
        assert done.returncode == 0, done.stderr
        second = server.requests_for("helper")[1].body["messages"]
    assert [m["content"] for m in second if m["role"] == "tool"] == ["1005"]


def test_a_missing_tool_module_says_where_it_was_looked_for(tmp_path):
    (tmp_path / "config.toml").write_text(CONFIG.format(url="http://127.0.0.1:9/v1", spec="nosuchtools:add"))
    done = _run(tmp_path / "config.toml", tmp_path.parent, tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "nosuchtools" in done.stderr and str(tmp_path.resolve()) in done.stderr


def test_importing_leaves_sys_path_as_it_was(tmp_path):
    (tmp_path / "plain_tools_a1.py").write_text(ADD.format(extra=""))
    before = list(sys.path)
    tool = load_tool("plain_tools_a1:add", tmp_path)
    assert sys.path == before
    assert tool.function(2, 3) == 5 and not tool.note


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """A folder standing for site-packages, with its own `clash_tools_b2` module."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "clash_tools_b2.py").write_text('def add(a: int, b: int) -> str:\n    return "installed"\n')
    monkeypatch.syspath_prepend(str(site))
    yield site
    for name in [n for n in sys.modules if n.startswith("clash_tools_b2")]:
        del sys.modules[name]


@pytest.mark.parametrize("already_imported", [True, False])
def test_the_config_folders_file_wins_for_its_tools_and_says_so(tmp_path, installed, already_imported):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "clash_tools_b2.py").write_text(ADD.format(extra=""))
    if already_imported:
        importlib.import_module("clash_tools_b2")
    tool = load_tool("clash_tools_b2:add", conf)
    assert tool.function(2, 3) == 5
    assert str(conf / "clash_tools_b2.py") in tool.note and str(installed / "clash_tools_b2.py") in tool.note
    # everything else still gets the installed module
    assert importlib.import_module("clash_tools_b2").add(2, 3) == "installed"


def test_the_run_says_which_module_serves_the_tool(tmp_path):
    """`json` is installed with Python: a json.py beside the config serves the tool, and the run says so."""
    (tmp_path / "json.py").write_text(ADD.format(extra=""))
    with ScriptedServer(_tool_rules()) as server:
        (tmp_path / "config.toml").write_text(CONFIG.format(url=server.url, spec="json:add"))
        done = _run(tmp_path / "config.toml", tmp_path.parent, tmp_path)
        assert done.returncode == 0, done.stderr
        second = server.requests_for("helper")[1].body["messages"]
    assert [m["content"] for m in second if m["role"] == "tool"] == ["5"]
    assert "json.py" in done.stdout and "installed" in done.stdout


def test_tools_dir_is_the_config_folder_and_kept_for_resume(tmp_path):
    (tmp_path / "config.toml").write_text(CONFIG.format(url="http://127.0.0.1:9/v1", spec="x:y"))
    cfg = load_config(tmp_path / "config.toml")
    assert Path(cfg.tools_dir) == tmp_path.resolve()
    assert Path(parse_config(cfg.snapshot()).tools_dir) == tmp_path.resolve()
    (tmp_path / "more.toml").write_text('tools_dir = "lib"\n' + CONFIG.format(url="http://127.0.0.1:9/v1", spec="x:y"))
    assert Path(load_config(tmp_path / "more.toml").tools_dir) == (tmp_path / "lib").resolve()


def test_a_tool_module_that_fails_to_import_is_one_clear_error(tmp_path):
    (tmp_path / "broken_tools_c3.py").write_text("def add(a: int) -> int:\n    return a\nraise RuntimeError('boom')\n")
    with pytest.raises(ValueError, match=r"importing 'broken_tools_c3' failed: RuntimeError: boom"):
        load_tool("broken_tools_c3:add", tmp_path)
    assert str(tmp_path) not in sys.path


def test_a_shadowing_file_can_import_its_neighbours(tmp_path, installed):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "helpers_d4.py").write_text("OFFSET = 100\n")
    (conf / "clash_tools_b2.py").write_text("from helpers_d4 import OFFSET\n\n" + ADD.format(extra="+ OFFSET"))
    before = list(sys.path)
    try:
        assert load_tool("clash_tools_b2:add", conf).function(2, 3) == 105
        assert sys.path == before
    finally:
        sys.modules.pop("helpers_d4", None)
