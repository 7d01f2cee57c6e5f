"""An AutoGen user's config carries through: config.toml.example runs on an OAI_CONFIG_LIST as it
is, an agent with no `model` uses the whole list as its fallback chain, and a config that could only
start a run with nothing to reply (a filter_dict that keeps nothing, an assistant with no model to
use) is refused at load, naming what to fix (exit 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tuiagents.app.cli import main
from tuiagents.config import ConfigError, load_config, parse_config
from tuiagents.testing import Fault, Rule, ScriptedServer

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.toml.example"
KEY = "zq8-autogen-list-key-71c2e94d"


def _env(tmp_path: Path) -> dict[str, str]:
    """An environment with no OpenAI settings of its own: only the list can make a model work."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OAI_CONFIG_LIST", "TUIAGENTS_CONFIG")}
    env.update(TUIAGENTS_DATA_DIR=str(tmp_path / "data"), TUIAGENTS_CACHE_DIR=str(tmp_path / "cache"),
               DOCKER_HOST="unix:///nonexistent.sock")
    return env


def _list(server: ScriptedServer, *models: str) -> str:
    return json.dumps([{"model": m, "base_url": server.url, "api_key": KEY, "max_retries": 0} for m in models])


def _run_example(tmp_path: Path, team: str = "pair") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tuiagents", "run", "--headless", "--config", str(EXAMPLE), "--team", team,
         "--task", "Say hello.", "--approve", "all", "--session", str(tmp_path / "s.jsonl")],
        capture_output=True, text=True, env=_env(tmp_path), cwd=tmp_path, timeout=120)


def test_the_example_runs_on_an_oai_config_list_as_it_is(tmp_path):
    """No OPENAI_API_KEY, no [[models]] of the user's: the example's own model entry must not take over."""
    with ScriptedServer([Rule(agent="assistant", reply="Hello from the list. TERMINATE")]) as server:
        (tmp_path / "OAI_CONFIG_LIST").write_text(_list(server, "scripted-model"))
        done = _run_example(tmp_path)
        assert done.returncode == 0, done.stderr
        assert "Hello from the list." in done.stdout
        request = server.requests_for("assistant")[0]
        assert request.body["model"] == "scripted-model"
        assert request.headers.get("authorization") == f"Bearer {KEY}"
    assert KEY not in (tmp_path / "s.jsonl").read_text() + done.stdout + done.stderr


def test_an_agent_without_a_model_falls_back_through_the_whole_list(tmp_path):
    """The list's first entry fails with 500s: the next entry of the list answers, never the
    example's keyless [[models]] entry."""
    rules = [Rule(model="big-model", fault=Fault.server_error(times=100)),
             Rule(agent="assistant", model="small-model", reply="The small one answered. TERMINATE")]
    with ScriptedServer(rules) as server:
        (tmp_path / "OAI_CONFIG_LIST").write_text(_list(server, "big-model", "small-model"))
        done = _run_example(tmp_path)
        assert done.returncode == 0, done.stderr
        assert "The small one answered." in done.stdout
        assert [r.body["model"] for r in server.requests_for("assistant")] == ["big-model", "small-model"]


def test_every_llm_agent_of_the_example_uses_the_list(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OAI_CONFIG_LIST", raising=False)
    (tmp_path / "OAI_CONFIG_LIST").write_text(json.dumps(
        [{"model": "gpt-4o", "api_key": KEY}, {"model": "gpt-4o-mini", "api_key": KEY}]))
    cfg = load_config(EXAMPLE)
    llm_agents = {a.name: a.model for a in cfg.agents if a.kind != "user_proxy"}
    assert llm_agents and set(llm_agents.values()) == {"gpt-4o"}
    first = next(m for m in cfg.models if m.name == "gpt-4o")
    assert first.fallback == ["gpt-4o-mini"]
    # resume rebuilds the run from the snapshot in the log: the same agents get the same models
    again = parse_config(cfg.snapshot())
    assert {a.name: a.model for a in again.agents if a.kind != "user_proxy"} == llm_agents


def test_without_a_list_the_example_uses_its_models_entry(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OAI_CONFIG_LIST", raising=False)
    cfg = load_config(EXAMPLE)
    assert {a.model for a in cfg.agents if a.kind != "user_proxy"} == {"default"}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text + '\n[[agents]]\nname = "user"\nkind = "user_proxy"\nhuman_input_mode = "NEVER"\n'
                           '[[agents]]\nname = "helper"\nkind = "assistant"\n'
                           '[[teams]]\nname = "pair"\nagents = ["user", "helper"]\n')
    return path


def _cli(capsys, config: Path, tmp_path: Path) -> tuple[int, str]:
    code = main(["run", "--headless", "--config", str(config), "--team", "pair", "--task", "x",
                 "--approve", "all", "--session", str(tmp_path / "s.jsonl")])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert not (tmp_path / "s.jsonl").exists()
    return code, err


@pytest.mark.parametrize("exclude", [False, True])
def test_a_filter_dict_that_keeps_nothing_is_a_config_error(tmp_path, capsys, monkeypatch, exclude):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OAI_CONFIG_LIST", json.dumps([{"model": "gpt-4o", "api_key": KEY, "tags": ["big"]},
                                                      {"model": "gpt-4o-mini", "api_key": KEY}]))
    kept = '["nothing"]' if not exclude else '["big", "small"]'
    section = f'[config_list]\nfilter_dict = {{ tags = {kept} }}\nexclude = {str(exclude).lower()}\n'
    if exclude:  # every entry matches one way or the other: tag both
        monkeypatch.setenv("OAI_CONFIG_LIST", json.dumps([{"model": "gpt-4o", "api_key": KEY, "tags": ["big"]},
                                                          {"model": "gpt-4o-mini", "tags": ["small"]}]))
    code, err = _cli(capsys, _write(tmp_path, section), tmp_path)
    assert code == 2
    assert "filter_dict" in err and "none of the 2 entries" in err and "gpt-4o-mini" in err
    assert KEY not in err


def test_an_assistant_with_no_model_and_no_list_is_a_config_error(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OAI_CONFIG_LIST", raising=False)
    code, err = _cli(capsys, _write(tmp_path, ""), tmp_path)
    assert code == 2
    line = next(line for line in err.splitlines() if line.strip().startswith("agents[1].model:"))
    assert "'helper'" in line and "OAI_CONFIG_LIST" in line and "[[models]]" in line


def test_an_empty_list_leaves_an_assistant_without_a_model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OAI_CONFIG_LIST", "[]")
    with pytest.raises(ConfigError, match=r"agents\[1\]\.model: assistant 'helper' has no model"):
        load_config(_write(tmp_path, ""))
