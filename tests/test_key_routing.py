"""A key goes only where it was configured: a run, its resume and its fork send an OAI_CONFIG_LIST
entry's inline key to that entry's endpoint and nowhere else, and the environment's key only to
the endpoint the environment names. The scripted server records every request's `Authorization`
header; the response cache is off, so every turn reaches it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tuiagents.app.cli import main
from tuiagents.session.reader import read_session
from tuiagents.testing import Rule

KEY = "zq8-inline-list-key-7c41d09e"
ENV_KEY = "sk-env-key-meant-for-openai-3b8f2a"

TEAM = '''
[llm]
cache_seed = false

[[agents]]
name = "user"
kind = "user_proxy"
human_input_mode = "NEVER"
default_auto_reply = "go on"

[[agents]]
name = "assistant"
kind = "assistant"
model = "{model}"

[[teams]]
name = "pair"
agents = ["user", "assistant"]
max_turns = 2
'''


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    for name in ("OAI_CONFIG_LIST", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def _keys_sent(server) -> list[str | None]:
    sent = [r.headers.get("authorization") for r in server.chat_requests]
    server.clear_requests()
    return sent


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _list_run(server, tmp_path, capsys, monkeypatch, where: str) -> Path:
    """A run whose model is the inline-key entry 2 of an OAI_CONFIG_LIST held in a file or the env."""
    server.load([Rule(agent="assistant", reply="Noted.")])
    entries = [{"model": "other-model", "base_url": "http://127.0.0.1:9/v1", "api_key": "sk-other-entry-0000"},
               {"model": "scripted-model", "base_url": server.url, "api_key": KEY}]
    if where == "file":
        (tmp_path / "OAI_CONFIG_LIST").write_text(json.dumps(entries))
    else:
        monkeypatch.setenv("OAI_CONFIG_LIST", json.dumps(entries))
    (tmp_path / "config.toml").write_text(TEAM.format(model="scripted-model"))
    session = tmp_path / "s.jsonl"
    code, out, err = _cli(capsys, "run", "--headless", "--config", "config.toml", "--team", "pair",
                          "--task", "hello", "--approve", "all", "--session", str(session))
    assert code == 0, err
    return session


@pytest.mark.parametrize("where", ["file", "env"])
def test_run_resume_and_fork_send_the_list_key_to_its_endpoint_only(server, tmp_path, capsys, monkeypatch, where):
    session = _list_run(server, tmp_path, capsys, monkeypatch, where)
    assert set(_keys_sent(server)) == {f"Bearer {KEY}"}
    # a key for OpenAI in the environment must not reach the list entry's server on resume
    monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the list is found where it was found, not from the working dir
    code, out, err = _cli(capsys, "resume", str(session), "--headless", "--approve", "all")
    assert code == 0, err
    resumed = _keys_sent(server)
    assert resumed and set(resumed) == {f"Bearer {KEY}"}
    code, out, err = _cli(capsys, "resume", str(session), "--headless", "--approve", "all", "--fork-at", "3")
    assert code == 0, err
    forked = _keys_sent(server)
    assert forked and set(forked) == {f"Bearer {KEY}"}
    for log in tmp_path.glob("s*.jsonl"):
        text = log.read_text()
        assert KEY not in text and ENV_KEY not in text
    header = read_session(session).header
    source = header.config["models"][1]["key_from"]
    assert source["position"] == 2 and source["model"] == "scripted-model"
    assert source["file"] == (str((tmp_path / "OAI_CONFIG_LIST").resolve()) if where == "file" else None)


@pytest.mark.parametrize("change", ["file gone", "entry gone", "entry moved to another server", "env unset"])
def test_a_resume_whose_list_entry_cannot_be_found_again_says_which_and_where(
        server, tmp_path, capsys, monkeypatch, change):
    session = _list_run(server, tmp_path, capsys, monkeypatch, "env" if change == "env unset" else "file")
    _keys_sent(server)
    monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
    listed = tmp_path / "OAI_CONFIG_LIST"
    if change == "file gone":
        listed.unlink()
    elif change == "entry gone":
        listed.write_text(json.dumps([{"model": "other-model", "api_key": "sk-other-entry-0000"}]))
    elif change == "entry moved to another server":
        listed.write_text(json.dumps([{"model": "scripted-model", "base_url": "http://127.0.0.1:9/v1",
                                       "api_key": KEY}]))
    else:
        monkeypatch.delenv("OAI_CONFIG_LIST")
    code, out, err = _cli(capsys, "resume", str(session), "--headless", "--approve", "all")
    assert code == 2
    assert "Traceback" not in err and KEY not in err + out
    assert "entry 2 (model scripted-model)" in err
    assert ("environment variable OAI_CONFIG_LIST" if change == "env unset" else str(listed.resolve())) in err
    assert "--config" in err
    assert _keys_sent(server) == []


def test_an_endpoint_with_no_key_of_its_own_never_gets_the_environment_key(server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
    server.load([Rule(agent="assistant", reply="Noted.")])
    models = f'[[models]]\nname = "local"\nmodel = "scripted-model"\nbase_url = "{server.url}"\n'
    (tmp_path / "config.toml").write_text(TEAM.format(model="local") + models)
    code, out, err = _cli(capsys, "run", "--headless", "--config", "config.toml", "--team", "pair",
                          "--task", "hello", "--approve", "all", "--session", str(tmp_path / "s.jsonl"))
    assert code == 0, err
    assert set(_keys_sent(server)) == {"Bearer not-needed"}


@pytest.mark.parametrize("base_url", ["none", "same as OPENAI_BASE_URL"])
def test_the_environment_key_goes_to_the_endpoint_the_environment_names(
        server, tmp_path, capsys, monkeypatch, base_url):
    monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    server.load([Rule(agent="assistant", reply="Noted.")])
    models = '[[models]]\nname = "env"\nmodel = "scripted-model"\n'
    if base_url != "none":
        models += f'base_url = "{server.url}/"\n'
    (tmp_path / "config.toml").write_text(TEAM.format(model="env") + models)
    code, out, err = _cli(capsys, "run", "--headless", "--config", "config.toml", "--team", "pair",
                          "--task", "hello", "--approve", "all", "--session", str(tmp_path / "s.jsonl"))
    assert code == 0, err
    assert set(_keys_sent(server)) == {f"Bearer {ENV_KEY}"}
    assert ENV_KEY not in (tmp_path / "s.jsonl").read_text()
